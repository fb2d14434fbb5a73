"""Tamper evidence: sha256 sums of everything that decides a grade (`make manifest`).

Covered: the tests (tests/, the grader's checks among them), conftest.py, the kata/ tooling
(every module but the tooling's own tests and the instructor's proofs: the stand-ins the
tests use, the learner's loop, grading itself), grading.toml
(points and the switches), pyproject.toml (pytest's options and time limit), the Makefile (the
grade command) and the GitHub Actions workflow that runs it. pytest also reads its options
from pytest.ini, .pytest.ini, tox.ini and setup.cfg: the kata has none, so one that appears
shows as added.
Not covered: the exercises (the learner's to change), the kata's own tests and the docs.

The file, grading.sha256, is in `sha256sum` format, so `sha256sum -c grading.sha256` checks it
too. `kata manifest` writes it; `--check` fails when it is out of date.
"""

import argparse
import hashlib
import sys
from pathlib import Path

MANIFEST_NAME = "grading.sha256"
COVERED_FILES = ("conftest.py", "grading.toml", "pyproject.toml", "Makefile",
                 "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", ".github/workflows/grade.yml")
COVERED_GLOBS = ("tests/**/*.py", "tests/**/*.toml", "kata/**/*.py")
NOT_COVERED = ("kata/tests/", "kata/proofs/")  # the tooling's own tests; the instructor's proofs


def covered_files(root: Path) -> list[str]:
    """The covered files that exist under root, as sorted posix paths relative to it."""
    root = Path(root)
    found = {name for name in COVERED_FILES if (root / name).is_file()}
    for pattern in COVERED_GLOBS:
        found |= {path.relative_to(root).as_posix() for path in root.glob(pattern)
                  if path.is_file() and "__pycache__" not in path.parts}
    # A link is never grading code: copied into a bundle, it would carry what it points at.
    found = {name for name in found if not (root / name).is_symlink()}
    return sorted(name for name in found if not name.startswith(NOT_COVERED))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_manifest(root: Path) -> Path:
    root = Path(root)
    lines = [f"{sha256(root / name)}  {name}\n" for name in covered_files(root)]
    (root / MANIFEST_NAME).write_text("".join(lines))
    return root / MANIFEST_NAME


def changes(root: Path) -> list[str]:
    """Every difference from the manifest: "edited: path", "missing: path", "added: path"."""
    root = Path(root)
    try:
        text = (root / MANIFEST_NAME).read_text()
    except FileNotFoundError:
        return [f"missing: {MANIFEST_NAME} (nothing to compare with)"]
    expected = dict(reversed(line.split(None, 1)) for line in text.splitlines() if line.strip())
    present = covered_files(root)
    found = [f"added: {name}" for name in present if name not in expected]
    for name, digest in sorted(expected.items()):
        if not (root / name).is_file():
            found.append(f"missing: {name}")
        elif sha256(root / name) != digest:
            found.append(f"edited: {name}")
    return sorted(found, key=lambda change: change.split(": ", 1)[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata manifest",
                                     description=f"Write or check {MANIFEST_NAME}.")
    parser.add_argument("--check", action="store_true", help="fail if the manifest is outdated")
    parser.add_argument("--root", type=Path, default=Path("."), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.check:
        path = write_manifest(args.root)
        print(f"wrote {path}: {len(covered_files(args.root))} files")
        return 0
    found = changes(args.root)
    for change in found:
        print(change, file=sys.stderr)
    if found:
        print(f"{MANIFEST_NAME} is out of date: if these changes are meant, run `make manifest`",
              file=sys.stderr)
        return 1
    print(f"{MANIFEST_NAME}: {len(covered_files(args.root))} files, all as recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
