"""`kata grade` (`make grade`): grade the steps and write the formats graders read.

    kata grade [--impl exercises] [--out reports] [-- extra pytest arguments]
    kata grade path/to/submission/    (a folder: exercises/ or the step modules at its top)
    kata grade mnist_kata.ipynb       (a notebook: its `%%kata step N` cells)

The package is found on the import path without importing it; only its step modules
are graded, by the trusted grading of kata/grading/engine.py (the learner's code runs in a
child process; outcomes are decided where it never ran). Writes into --out: results.json
(Gradescope's autograder format), junit.xml, summary.md (also appended to
$GITHUB_STEP_SUMMARY when that is set) and pytest.log. Points come from grading.toml.

The exit status says whether grading worked (0), not whether the learner passed: it is 1
only when the suite could not run at all, and the reports are written even then.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import traceback
from importlib.machinery import PathFinder
from pathlib import Path

from kata import data
from kata.config import load_config
from kata.grading import report
from kata.grading.engine import Run, grade_submission, learner_modules
from kata.grading.manifest import changes
from kata.loop.notebook import notebook_modules
from kata.paths import given_path


def package_folder(name: str) -> Path | None:
    """Where package `name` lives on sys.path, found without importing (running) any of it."""
    path = sys.path
    spec = None
    for part in name.split("."):
        spec = PathFinder.find_spec(part, path)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = list(spec.submodule_search_locations)
    return Path(path[0])


def write_reports(grade: report.Grade, config, out: Path) -> str:
    """results.json, junit.xml and summary.md into `out`; the summary's text."""
    summary = report.markdown(grade, config)
    (out / "summary.md").write_text(summary)
    (out / "results.json").write_text(
        json.dumps(report.gradescope_json(grade, config, summary), indent=2) + "\n")
    report.junit_xml(grade, config).write(out / "junit.xml", encoding="utf-8",
                                          xml_declaration=True)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as step_summary:
            step_summary.write(summary)
    return summary


def grade_folder(root: Path, modules: Path | None, label: str, out: Path,
                 pytest_args: list[str], submission: Path | None = None,
                 hide: tuple[Path, ...] = ()) -> report.Grade:
    """Grade the step modules in `modules` (of `submission`, which is hidden from the test
    run, with `hide`) with the kata at `root`; reports go to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    config = load_config(root)
    tamper = changes(root)  # before anything runs: the files as they are now
    mnist = data.mnist_root(default=root / "data").resolve()
    try:
        run = grade_submission(root, modules, config, pytest_args=pytest_args,
                               mnist_root=mnist, device=os.environ.get("KATA_DEVICE", "auto"),
                               hide=tuple(p for p in (out, submission or modules, *hide) if p),
                               log_path=out / "pytest.log", submission=submission)
    except Exception as error:  # the kata itself is broken: say so in every report
        run = Run([], note=f"grading broke: {type(error).__name__}: {error}", broke=True)
        (out / "pytest.log").write_text(traceback.format_exc())
    result = report.grade(label, config, run, tamper)
    write_reports(result, config, out)
    return result


def stopped(signum, frame):
    """SIGTERM (`kata class` stopping, a CI job cancelled): end the test run, then exit."""
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kata grade", description="Grade a package of the steps (--impl), or a "
        "submission: a folder that holds them (in exercises/ or at its top) or a notebook "
        "(its `%%kata step N` cells).")
    parser.add_argument("submission", nargs="?", type=given_path,
                        help="a folder or a .ipynb notebook (default: the package --impl)")
    parser.add_argument("--impl", default=os.environ.get("KATA_IMPL", "exercises"))
    parser.add_argument("--out", type=given_path, default=Path("reports"))
    parser.add_argument("--root", type=given_path, default=Path("."), help="the kata's folder")
    parser.add_argument("--hide", type=given_path, action="append", default=[],
                        help="a folder the learner's code must not see (other learners' "
                        "submissions, say); may be given more than once")
    parser.epilog = "Arguments after -- go to pytest (e.g. -- --step 3)."
    argv = sys.argv[1:] if argv is None else list(argv)
    # Split by hand: argparse would take the first pytest argument for the submission.
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    root, out = args.root.resolve(), args.out.resolve()
    signal.signal(signal.SIGTERM, stopped)
    with tempfile.TemporaryDirectory(prefix="kata-notebook-") as scratch:
        if args.submission is None:
            sys.path.insert(0, str(root))  # the kata's own packages (exercises, solutions)
            modules, submission, label = package_folder(args.impl), None, args.impl
            sys.path.remove(str(root))
            if modules is None:
                print(f"--impl {args.impl}: no such package on the import path",
                      file=sys.stderr)
        elif args.submission.suffix == ".ipynb":
            submission = modules = Path(scratch)
            for name, source in notebook_modules(args.submission).items():
                (modules / name).write_text(source)
            label = args.submission.name
        else:
            submission, label = args.submission.resolve(), args.submission.name
            modules = learner_modules(submission)
        result = grade_folder(root, modules, label, out, pytest_args, submission,
                              tuple(path.resolve() for path in args.hide))
    print((out / "summary.md").read_text())
    print(f"reports in {out}: results.json, junit.xml, summary.md, pytest.log")
    return 1 if result.run.broke else 0


if __name__ == "__main__":
    sys.exit(main())
