"""`make attacks`: grade every dishonest submission of the catalogue (kata/cheats.py) on both
grading paths, and the honest packages beside them, and show what stopped each cheat.

    kata attacks                        # every cheat, both paths, and the honest ones
    kata attacks --only report-rewrite  # one cheat (repeatable)
    kata attacks --list                 # the catalogue

The two paths are the ones graders use: `kata grade --impl NAME` (make grade) and
`kata gradescope run` on a Gradescope bundle built and unpacked here, each grading
in a process of its own (forked from this one, which has imported torch once). A cheat is
stopped when the points it is after stay at 0, or when the grade flags it (forged, or needs
review) with the reason. The reference must earn full marks, unflagged, on both paths, and
every correct alternative on Gradescope's. The exit status is 1 when a cheat gets through or
an honest package loses a point.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kata import data
from kata.grading import grade, gradescope
from kata.loop.progress import CHECK_TEST_NAME
from kata.proofs.cheats import CHEATS, MODULES, Cheat
from kata.proofs.variants import alternative_names, build_alternative, build_package, solutions_dir

ROOT = Path(__file__).resolve().parents[2]
PATHS = ("make grade", "gradescope")


@dataclass
class Outcome:
    name: str
    path: str
    honest: bool
    results: dict | None
    seconds: float
    ok: bool = False
    why: str = ""


def published_tests() -> set[str]:
    """The names of the published tests (the handout's), but the grader's checks."""
    return {name for path in (ROOT / "tests").glob("test_*.py")
            for name in re.findall(r"^def (test_\w+)\(", path.read_text(), flags=re.M)
            if name != CHECK_TEST_NAME}


def build_cheat(cheat: Cheat, dest: Path, results: Path, mnist: Path) -> Path:
    """The submission of `cheat`, a package under `dest`, with its placeholders filled in."""
    def filled(code: str) -> str:
        return (code.replace("@RESULTS@", str(results)).replace("@MNIST@", str(mnist))
                .replace("@PUBLISHED@", repr(sorted(published_tests()))))

    if cheat.base == "solutions":
        package = build_package(dest, cheat.name.replace("-", "_"))
    else:
        package = dest / cheat.name.replace("-", "_")
        shutil.copytree(ROOT / "exercises", package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for step, (old, new) in cheat.replace.items():
        module = package / MODULES[step]
        assert old in module.read_text(), f"{cheat.name}: {old!r} is not in {module.name}"
        module.write_text(module.read_text().replace(old, new))
    for step, code in cheat.append.items():
        module = package / MODULES[step]
        module.write_text(module.read_text() + "\n" + filled(code))
    for name, text in cheat.files.items():
        (package / name).write_text(filled(text))
    return package


def grade_in_child(path: str, package: Path, out: Path, source: Path) -> None:
    """In a forked child: grade as a grader's command line would, then exit.

    `kata grade --impl NAME` with the package on the import path (make grade), or
    `kata gradescope run` on the unpacked bundle: the same entry points, run in a
    process of their own, forked from this one so that torch is imported only once.
    """
    status = 3
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.environ["OMP_NUM_THREADS"] = "1"  # two gradings side by side share two cores
        if path == "make grade":
            sys.path.insert(0, str(package.parent))
            status = grade.main(["--impl", package.name, "--out", str(out), "--root", str(ROOT)])
        else:
            status = gradescope.main(["run", "--source", str(source), "--submission",
                                      str(package), "--results", str(out)])
    except BaseException:  # the child must never return into the parent's loop
        status = 4
    finally:
        os._exit(status)


def results_of(out: Path) -> dict | None:
    try:
        return json.loads((out / "results.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def points_of(results: dict, target: str | None) -> float:
    """The points a cheat is after: the whole score, or one step's."""
    if target is None:
        return results["score"]
    label = "capstone" if target == "capstone" else f"step {target}"
    return round(sum(t["score"] for t in results["tests"] if t["name"].startswith(label + ":")),
                 4)


FORGERY_KINDS = {"canary": "canary", "check": "check consistency", "machinery": "machinery",
                 "channel": "channel", "sandbox": "sandbox"}


def stopped_by(results: dict, cheat: Cheat) -> str:
    """What stopped a cheat, in a few words, from what the grade says."""
    extra = results.get("extra_data", {})
    kinds = dict.fromkeys(FORGERY_KINDS.get(reason.split(":", 1)[0], "other")
                          for reason in extra.get("forged", []))
    found = [f"forged ({', '.join(kinds)})"] if kinds else []
    if extra.get("review"):
        found.append("needs review")
    tests = [t for t in results["tests"] if t["name"].startswith(("step", "capstone"))]
    if results["score"] == 0 and not kinds:
        if all(t["output"].startswith("not run") for t in tests):
            found.append("nothing ran")
        elif any("graders_check" in t["name"] and t["status"] == "failed" for t in tests):
            found.append("the grader's checks")
    elif cheat.target and points_of(results, cheat.target) == 0:
        found.append(f"no {'capstone' if cheat.target == 'capstone' else 'step ' + cheat.target}"
                     " points")
    if extra.get("ignored_files"):
        found.append("extra files ignored")
    return ", ".join(found) or "-"


def judge(outcome: Outcome, cheat: Cheat | None) -> None:
    results = outcome.results
    if results is None:
        outcome.ok = cheat is not None  # no grade written: nothing was gained (but say so)
        outcome.why = "no results.json was written"
        return
    extra = results.get("extra_data", {})
    if cheat is None:
        full = results["score"] == extra.get("max_score")
        clean = not extra.get("forged") and not extra.get("review")
        outcome.ok = full and clean
        outcome.why = "full marks" if outcome.ok else (
            f"{results['score']}/{extra.get('max_score')}; zeroed: {extra.get('zeroed')}; "
            f"forged: {extra.get('forged')}; review: {extra.get('review')}")
        return
    gained = points_of(results, cheat.target)
    flagged = bool(extra.get("forged") or extra.get("review"))
    outcome.ok = gained == 0 or flagged
    outcome.why = stopped_by(results, cheat)


def run_all(jobs: list, workers: int, on_done) -> list[Outcome]:
    """Grade every job, `workers` at a time, each in a forked process."""
    import torch  # noqa: F401 -- once here, before forking, instead of once per grading


    waiting, running, outcomes = list(jobs), {}, []
    while waiting or running:
        while waiting and len(running) < workers:
            job = waiting.pop(0)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                grade_in_child(job[1], job[3], job[4], job[5])
            running[pid] = (job, time.perf_counter())
        pid, _ = os.wait()
        job, started = running.pop(pid)
        name, path, honest, _, out, _, cheat = job
        if cheat is not None and cheat.name == "overwrite-results":
            time.sleep(2)  # a daemon that outlived the run would have rewritten the file by now
        outcome = Outcome(name, path, honest, results_of(out), time.perf_counter() - started)
        judge(outcome, cheat)
        outcomes.append(outcome)
        on_done(outcome)
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """A Markdown table: one row per submission, a column per path."""
    rows, by_name = [], {}
    for outcome in outcomes:
        by_name.setdefault(outcome.name, {})[outcome.path] = outcome
    lines = ["| submission | " + " | ".join(PATHS) + " | stopped by |",
             "| --- | " + " | ".join("---" for _ in PATHS) + " | --- |"]
    for name, paths in by_name.items():
        cells = []
        for path in PATHS:
            outcome = paths.get(path)
            if outcome is None:
                cells.append("-")
                continue
            score = "no grade" if outcome.results is None else \
                f"{outcome.results['score']:g}/{outcome.results['extra_data']['max_score']:g}"
            cells.append(f"{score} {'ok' if outcome.ok else 'FAILED'}")
        why = "; ".join(dict.fromkeys(o.why for o in paths.values()))
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {why} |")
    return "\n".join(lines + rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="a cheat's name")
    parser.add_argument("--list", action="store_true", help="print the catalogue")
    parser.add_argument("--no-honest", action="store_true",
                        help="leave out the reference and the alternatives")
    parser.add_argument("--jobs", type=int, default=2, help="gradings side by side")
    args = parser.parse_args(argv)
    if args.list:
        for cheat in CHEATS:
            print(f"{cheat.name:<18} {cheat.kind}: {cheat.description}")
        return 0
    cheats = [c for c in CHEATS if not args.only or c.name in args.only]
    if args.only and len(cheats) != len(args.only):
        raise SystemExit(f"no such cheat among {', '.join(c.name for c in CHEATS)}")
    if getattr(os, "geteuid", lambda: -1)() != 0:
        print("attacks: not root, so grading cannot run the learner's code as another user; "
              "left out: " + ", ".join(c.name for c in cheats if c.needs_root), flush=True)
        cheats = [c for c in cheats if not c.needs_root]
    mnist = data.mnist_root().resolve()
    if data.missing_files(mnist):
        raise SystemExit(data.how_to_get(mnist))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kata-attacks-") as folder:
        top = Path(folder)
        os.chmod(top, 0o755)
        source = top / "gradescope-source"
        with zipfile.ZipFile(gradescope.build(ROOT, top / "autograder.zip")) as bundle:
            bundle.extractall(source)
        honest = [] if args.no_honest or args.only else ["solutions", *alternative_names()]
        jobs = []
        for path_index, path in enumerate(PATHS):
            packages = top / f"packages-{path_index}"
            packages.mkdir()
            # The reference on both paths; each alternative on Gradescope's, where grades
            # count (both paths run the same grading: kata.grading.engine).
            for name in honest:
                if name != "solutions" and path != "gradescope":
                    continue
                package = (shutil.copytree(solutions_dir(), packages / name) if
                           name == "solutions" else build_alternative(packages, name))
                jobs.append((name, path, True, Path(package), top / f"out-{name}-{path_index}",
                             source, None))
            for cheat in cheats:
                out = top / f"out-{cheat.name}-{path_index}"
                jobs.append((cheat.name, path, False, build_cheat(cheat, packages, out, mnist),
                             out, source, cheat))
        print(f"attacks: {len(cheats)} cheats and {len(honest)} honest packages on "
              f"{len(PATHS)} paths ({len(jobs)} gradings, {args.jobs} at a time)", flush=True)
        jobs.sort(key=lambda job: not job[2])  # the slow honest gradings first

        def show(outcome: Outcome) -> None:
            print(f"  {outcome.name:<18} {outcome.path:<10} "
                  f"{'ok' if outcome.ok else 'FAILED':<6} {outcome.seconds:5.1f} s  "
                  f"{outcome.why}", flush=True)

        outcomes = run_all(jobs, args.jobs, show)
    order = {name: i for i, name in enumerate([*honest, *(c.name for c in cheats)])}
    outcomes.sort(key=lambda o: (order[o.name], PATHS.index(o.path)))
    print()
    print(table(outcomes))
    ok = all(outcome.ok for outcome in outcomes)
    isolation = next((o.results["extra_data"]["isolation"] for o in outcomes if o.results), "")
    print(f"\nlearner code ran like this: {isolation}")
    print(f"attacks: {'PASSED' if ok else 'FAILED'} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
