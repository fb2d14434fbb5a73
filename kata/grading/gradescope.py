"""`make gradescope`: the Gradescope autograder bundle, and the grading it runs.

    kata gradescope build dist/gradescope-autograder.zip
    kata gradescope run      # inside Gradescope, from run_autograder

The zip holds setup.sh and run_autograder at its root (Gradescope's layout), the pristine
grading files (everything grading.sha256 covers, and the manifest) and the exercise stubs.
For each submission, `run` grades the step modules of the submission (from exercises/
or from its top level; a missing one stays a todo stub) with those pristine files, through
the trusted grading of kata/grading/engine.py: whatever else the submission holds is listed
as ignored and never run. Gradescope starts run_autograder as root, so the learner's code runs
as an unprivileged user of its own, without network, and cannot read the bundle, the
dataset's labels or the results folder.
"""

import argparse
import shutil
import stat
import sys
import zipfile
from pathlib import Path

from kata.grading.engine import bundle_files, learner_modules
from kata.grading.grade import grade_folder
from kata.paths import given_path

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: Python, the kata, MNIST.
set -euo pipefail
apt-get update && apt-get install -y python3 python3-venv python3-pip
python3 -m venv /autograder/venv
# The CPU build of torch: Gradescope has no GPU, and the CUDA build is gigabytes larger.
/autograder/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch torchvision
/autograder/venv/bin/pip install /autograder/source
cd /autograder/source && MNIST_ROOT=/autograder/data /autograder/venv/bin/python -m kata data
# The learner's code runs as a user of its own: the bundle and the dataset (its test labels)
# are root's alone, in case the grader cannot also hide them from it.
chmod -R go-rwx /autograder/source /autograder/data
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes /autograder/results/results.json.
set -euo pipefail
chmod 700 /autograder/results /autograder/submission
cd /autograder/source
MNIST_ROOT=/autograder/data /autograder/venv/bin/python -m kata gradescope run \\
    --source /autograder/source --submission /autograder/submission \\
    --results /autograder/results
"""


def build(root: Path, dest: Path) -> Path:
    root, dest = Path(root), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16  # executable once unzipped
            bundle.writestr(info, text)
        for name in bundle_files(root):
            bundle.write(root / name, name)
    return dest


def run(source: Path, submission: Path, results: Path, pytest_args: tuple[str, ...] = ()) -> int:
    """Grade one submission with the pristine files of `source`; results.json goes to `results`."""
    source, submission, results = (Path(p).resolve() for p in (source, submission, results))
    results.mkdir(parents=True, exist_ok=True)
    out = results / "kata-reports"
    grade = grade_folder(source, learner_modules(submission), "submission", out,
                         list(pytest_args), submission=submission)
    shutil.copy2(out / "results.json", results / "results.json")
    return 1 if grade.run.broke else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata gradescope",
                                     description="Build or run the Gradescope autograder.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the autograder zip")
    build_parser.add_argument("dest", type=given_path)
    run_parser = commands.add_parser("run", help="grade one submission (inside Gradescope)")
    run_parser.add_argument("--source", type=given_path, default=Path("/autograder/source"))
    run_parser.add_argument("--submission", type=given_path, default=Path("/autograder/submission"))
    run_parser.add_argument("--results", type=given_path, default=Path("/autograder/results"))
    run_parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    if args.command == "build":
        path = build(Path("."), args.dest)
        print(f"wrote {path}: upload it as the assignment's autograder on Gradescope")
        return 0
    return run(args.source, args.submission, args.results, tuple(args.pytest_args))


if __name__ == "__main__":
    sys.exit(main())
