"""`kata handout DEST` (`make handout`): a copy of the kata for learners, without the answers.

The copy is made from an allowlist, never from the folder minus a list of exclusions: a file
goes into the handout only if it is one of the kata's own (HANDOUT_FILES, or grading code in
HANDOUT_FOLDERS) and, when the kata is a git checkout, git tracks it (its index).
So a class's gradebook, learners' submissions, a platform's export, a `.env`, a virtual
environment under any name or last term's reports never reach learners, wherever they lie.
The instructor-only parts (solutions/, alternatives/, .ci/, the instructor's proofs in
kata/proofs, which read them, and the tooling's own tests) are not on the list either.

In the copy, `kata test`, `kata hint`, `kata watch`, `kata grade`, `kata demo` (of the
exercises) and the notebook work: no test and no tooling they use imports solutions; `kata
check` skips its runs of kata/tests and solutions/. The copy gets its own grading.sha256
(it holds fewer tooling files than the full kata), README.md and docs/learner.md without
their instructor-only parts (kata.docs.learner_page), and a pyproject.toml without the
instructor's `dev` extra.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from kata.docs import learner_page
from kata.grading.engine import STUB_FILES
from kata.grading.manifest import write_manifest
from kata.paths import given_path

# The kata's own files: at its top, the learner's stubs, the notebook, the pictures the
# learner's guide shows.
HANDOUT_FILES = ("LICENSE", "Makefile", "pyproject.toml", "conftest.py", "grading.toml",
                 ".gitignore", ".github/workflows/grade.yml", "notebooks/mnist_kata.ipynb",
                 "docs/kata-draw.png", "docs/wild-digits.png", "docs/feedback-notebook.png",
                 *(f"exercises/{name}" for name in STUB_FILES))
# The learner's pages, carried without their instructor-only parts (kata.docs.learner_page).
HANDOUT_PAGES = ("README.md", "docs/learner.md")
# The grading code's folders, with the endings a handout may carry from them.
HANDOUT_FOLDERS = {"tests": (".py", ".toml"), "kata": (".py", ".html", ".css", ".js")}
# Parts of those folders that serve only the instructor.
INSTRUCTOR_ONLY = ("kata/tests/", "kata/proofs/")
# Folders made locally, never part of the kata (what a kata outside git skips when it lists
# its own files).
LOCAL = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis",
         ".kata", "data", "artifacts", "reports", "dist"}


def allowed(name: str) -> bool:
    """Whether a file (a posix path relative to the kata) belongs in a handout."""
    if name in HANDOUT_FILES:
        return True
    if name.startswith(INSTRUCTOR_ONLY) or "__pycache__" in name.split("/"):
        return False
    folder, _, rest = name.partition("/")
    return bool(rest) and name.endswith(HANDOUT_FOLDERS.get(folder, ()))


def tracked_files(root: Path) -> set[str] | None:
    """The files git tracks below root (its index), relative to root; None outside git."""
    try:
        done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached"],
                              capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = {name for name in done.stdout.decode("utf-8", "surrogateescape").split("\0") if name}
    # Outside a checkout, or a folder its checkout does not track (a kata unpacked inside
    # another repository): the kata is not under git.
    return names if done.returncode == 0 and names else None


def kata_files(root: Path) -> set[str]:
    """Every file of the kata: what git tracks, or outside git every file below root but the
    local ones (.venv, caches, data, outputs)."""
    tracked = tracked_files(root)
    if tracked is not None:
        return {name for name in tracked if (Path(root) / name).exists()}
    found = set()
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if name not in LOCAL]
        found |= {(Path(folder) / name).relative_to(root).as_posix() for name in files}
    return found


def candidate_files(root: Path) -> set[str]:
    """Every file on disk in the places a handout takes files from (links are never taken)."""
    found = {name for name in HANDOUT_FILES if (root / name).is_file()}
    for folder in HANDOUT_FOLDERS:
        for path in (root / folder).rglob("*"):
            if path.is_file():
                found.add(path.relative_to(root).as_posix())
    return {name for name in found if not (root / name).is_symlink()}


def handout_files(root: Path) -> list[str]:
    """The files a handout of the kata at `root` holds, besides its README and manifest."""
    root = Path(root)
    names = {name for name in candidate_files(root) if allowed(name)}
    tracked = tracked_files(root)
    if tracked is not None:
        names &= tracked
    return sorted(names)


def left_out(root: Path, copied: list[str]) -> str:
    """One line: what a person might have expected in the handout, counted by folder."""
    root, copied = Path(root), set(copied)
    counts: Counter[str] = Counter()
    for folder, folders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        if relative.parts[:1] == (".git",):
            folders[:] = []
            continue
        for name in files:
            path = (relative / name).as_posix()
            if path not in copied and path not in (*HANDOUT_PAGES, "grading.sha256") and \
                    "__pycache__" not in relative.parts:
                group = next((part for part in INSTRUCTOR_ONLY if path.startswith(part)),
                             f"{relative.parts[0]}/" if relative.parts else path)
                counts[group] += 1
    if not counts:
        return "nothing else"
    shown = [f"{name} ({count:,} file{'s' if count > 1 else ''})" if name.endswith("/") else name
             for name, count in sorted(counts.items())]
    return ", ".join(shown)


def handout_pyproject(text: str) -> str:
    """pyproject.toml without the `dev` extra (and the comment above it): a learner installs
    the kata itself, or with `[notebook]`; the instructor's tools are not in a handout."""
    return re.sub(r"(?m)(^#.*\n)*^dev = \[\n(.*\n)*?\]\n", "", text, count=1)


def make_handout(root: Path, dest: Path) -> Path:
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if dest == root or root in dest.parents:
        raise ValueError(f"{dest} is inside the kata's folder {root}: choose a folder outside "
                         f"it, e.g. {root.parent / (root.name + '-handout')}")
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty: choose a new folder for the handout")
    names = handout_files(root)
    for name in names:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, dest / name)
        shutil.copymode(root / name, dest / name)
    for page in HANDOUT_PAGES:
        (dest / page).parent.mkdir(parents=True, exist_ok=True)
        (dest / page).write_text(learner_page((root / page).read_text()))
    (dest / "pyproject.toml").write_text(handout_pyproject((root / "pyproject.toml").read_text()))
    write_manifest(dest)
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kata handout", description="Copy the kata for learners: only the files the kata "
        "tracks, without its solutions and the instructor's tools.")
    parser.add_argument("dest", type=given_path, help="a new, empty folder outside the kata")
    parser.add_argument("--root", type=given_path, default=Path("."), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        dest = make_handout(args.root, args.dest)
    except (FileExistsError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    copied = handout_files(args.root)
    print(f"handout written to {dest}: {len(copied) + len(HANDOUT_PAGES) + 1} files, no "
          "solutions; learners start with `kata test`")
    print(f"left out (instructor-only, or not tracked by git): {left_out(args.root, copied)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
