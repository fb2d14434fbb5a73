"""`kata handout DEST` (`make handout`): a copy of the kata for learners, without the answers.

Leaves out solutions/, alternatives/ and the instructor's proofs (kata/proofs, which reads
them), as well as anything made locally (.venv, data, reports, caches). In the copy, `kata
test`, `kata hint`, `kata watch`, `kata grade`, `kata demo` (of the exercises) and the
notebook work: no test and no tooling they use imports solutions; `kata check` skips its
runs of kata/tests and solutions/.
The copy gets its own grading.sha256, since it holds fewer tooling files than the full kata.
"""

import argparse
import shutil
import sys
from pathlib import Path

from kata.grading.manifest import write_manifest

# Paths relative to the kata's root. kata/proofs reads solutions/ and alternatives/ and serves
# only the instructor (mutants, attacks, calibration, flakiness and benchmark runs); the
# learner's loop, the demo and everything the tests and grading use stay.
LEAVE_OUT = {"solutions", "alternatives", ".ci", ".git", "kata/tests", "kata/proofs"}
# Names made locally, left out wherever they are.
LOCAL = {".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".kata",
         "data", "artifacts", "reports", "dist"}


def make_handout(root: Path, dest: Path) -> Path:
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty: choose a new folder for the handout")

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).resolve().relative_to(root)
        return {name for name in names
                if name in LOCAL or name.endswith(".egg-info")
                or (relative / name).as_posix() in LEAVE_OUT}

    shutil.copytree(root, dest, ignore=ignore, dirs_exist_ok=True)
    write_manifest(dest)
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata handout",
                                     description="Copy the kata without its solutions.")
    parser.add_argument("dest", type=Path, help="a new, empty folder")
    parser.add_argument("--root", type=Path, default=Path("."), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        dest = make_handout(args.root, args.dest)
    except FileExistsError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"handout written to {dest}: no solutions/; learners start with `make test`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
