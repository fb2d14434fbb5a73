"""`make gradescope`: the Gradescope autograder bundle, and the grading it runs.

    python -m kata.gradescope build dist/gradescope-autograder.zip
    python -m kata.gradescope run      # inside Gradescope, from run_autograder

The zip holds setup.sh and run_autograder at its root (Gradescope's layout), the pristine
grading files (everything grading.sha256 covers, and the manifest) and the exercise stubs.
For each submission, `run` copies that pristine tree to a fresh folder, lays the learner's
step modules over the stubs (a module missing from the submission stays a todo stub), and
grades that: whatever tests or tooling the submission carries are never used.
"""

import argparse
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

from . import grade
from .manifest import MANIFEST_NAME, covered_files

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: Python, the kata, MNIST.
set -euo pipefail
apt-get update && apt-get install -y python3 python3-venv python3-pip
python3 -m venv /autograder/venv
# The CPU build of torch: Gradescope has no GPU, and the CUDA build is gigabytes larger.
/autograder/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch torchvision
/autograder/venv/bin/pip install "/autograder/source[dev]"
cd /autograder/source && MNIST_ROOT=/autograder/data /autograder/venv/bin/python -m kata.data
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes /autograder/results/results.json.
set -euo pipefail
cd /autograder/source
MNIST_ROOT=/autograder/data /autograder/venv/bin/python -m kata.gradescope run \\
    --source /autograder/source --submission /autograder/submission \\
    --results /autograder/results
"""


def bundle_files(root: Path) -> list[str]:
    """The pristine files of the bundle: what the manifest covers, the manifest, the stubs."""
    stubs = [path.relative_to(root).as_posix() for path in sorted((root / "exercises").glob("*"))
             if path.is_file()]
    return [*covered_files(root), MANIFEST_NAME, *stubs]


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


def learner_modules(submission: Path) -> Path | None:
    """The folder of the submission that holds the step modules: exercises/ or the top."""
    found = [path.parent for path in Path(submission).rglob("step*_*.py")
             if path.parent.name != "solutions"]
    return min(found, key=lambda folder: len(folder.parts)) if found else None


def run(source: Path, submission: Path, results: Path, pytest_args: tuple[str, ...] = ()) -> int:
    """Grade one submission with the pristine files of `source`; results.json goes to `results`."""
    with tempfile.TemporaryDirectory(prefix="kata-grade-") as folder:
        work = Path(folder) / "kata"
        shutil.copytree(source, work, ignore=shutil.ignore_patterns("setup.sh", "run_autograder"))
        modules = learner_modules(submission)
        if modules is None:
            print("no step module (step1_libraries.py ...) in the submission", file=sys.stderr)
        else:
            for module in modules.glob("*.py"):
                shutil.copy2(module, work / "exercises" / module.name)
        code = grade.main(["--impl", "exercises", "--root", str(work),
                           "--out", str(work / "reports"), "--", *pytest_args])
        Path(results).mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / "reports" / "results.json", Path(results) / "results.json")
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.gradescope",
                                     description="Build or run the Gradescope autograder.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the autograder zip")
    build_parser.add_argument("dest", type=Path)
    run_parser = commands.add_parser("run", help="grade one submission (inside Gradescope)")
    run_parser.add_argument("--source", type=Path, default=Path("/autograder/source"))
    run_parser.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    run_parser.add_argument("--results", type=Path, default=Path("/autograder/results"))
    args = parser.parse_args(argv)
    if args.command == "build":
        path = build(Path("."), args.dest)
        print(f"wrote {path}: upload it as the assignment's autograder on Gradescope")
        return 0
    return run(args.source, args.submission, args.results)


if __name__ == "__main__":
    sys.exit(main())
