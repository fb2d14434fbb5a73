"""What a class folder holds: one submission per learner, as a folder, a zip or a notebook.

    class/alice/            a folder: its exercises/ (or the step modules at its top), or a
                            notebook when it holds no step module
    class/bob.zip           a zip of such a folder, unpacked with care (below)
    class/carol.ipynb       a notebook: its `%%kata step N` cells

The learner's name is the entry's name without its suffix, made safe as a folder name. Other
files (a roster, a README) are listed as skipped. Nothing here runs a submission.
"""

import hashlib
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kata.grading.engine import learner_modules

FOLDER, ZIP, NOTEBOOK = "folder", "zip", "notebook"
# A learner's zip is unpacked only within these limits (a zip bomb would fill the disk).
MAX_FILES = 5_000
MAX_BYTES = 64 * 2**20


class Unreadable(Exception):
    """A submission that cannot be graded: the reason is the learner's row in the gradebook."""


@dataclass(frozen=True)
class Submission:
    learner: str
    path: Path
    kind: str


def safe_name(name: str) -> str:
    """A name that is safe as one folder name on every system."""
    return re.sub(r"[^A-Za-z0-9._@+-]", "_", name).strip("._") or "learner"


def find(folder: Path) -> tuple[list[Submission], list[str]]:
    """The submissions of a class folder, by learner name, and the entries that are none."""
    found, skipped, names = [], [], set()
    for entry in sorted(Path(folder).iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            kind = FOLDER
        elif entry.suffix == ".zip":
            kind = ZIP
        elif entry.suffix == ".ipynb":
            kind = NOTEBOOK
        else:
            skipped.append(entry.name)
            continue
        learner = base = safe_name(entry.stem if kind != FOLDER else entry.name)
        counter = 1
        while learner.lower() in names:  # alice/ and alice.zip, or names equal but for case
            counter += 1
            learner = f"{base}-{counter}"
        names.add(learner.lower())
        found.append(Submission(learner, entry, kind))
    return found, skipped


def fingerprint(submission: Submission) -> str:
    """A digest of every file of the submission: a changed submission is graded again."""
    digest = hashlib.sha256()
    path = submission.path
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()) \
        if path.is_dir() else [path]
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        digest.update(b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(2**20):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def unpack_zip(archive: Path, dest: Path) -> None:
    """Extract a learner's zip into `dest`: regular files only, no path outside `dest`, no
    more than MAX_FILES files or MAX_BYTES bytes."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if len(members) > MAX_FILES:
                raise Unreadable(f"{archive.name}: {len(members)} files, more than {MAX_FILES}")
            if sum(m.file_size for m in members) > MAX_BYTES:
                raise Unreadable(f"{archive.name}: more than {MAX_BYTES // 2**20} MB unpacked")
            for member in members:
                name = Path(member.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or \
                        stat.S_ISLNK(member.external_attr >> 16):
                    continue  # a path out of dest, or a link: never written
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, open(target, "wb") as out:
                    left = MAX_BYTES
                    while chunk := source.read(2**20):  # sizes in the zip can lie
                        left -= len(chunk)
                        if left < 0:
                            raise Unreadable(f"{archive.name}: more than "
                                             f"{MAX_BYTES // 2**20} MB unpacked")
                        out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise Unreadable(f"{archive.name}: not a zip that can be read ({error})") from error


def gradable(submission: Submission, scratch: Path) -> Path:
    """What `kata grade` is given for this submission: a folder or a notebook (a zip is
    unpacked into `scratch` first). Raises Unreadable when there is nothing to grade."""
    path = submission.path
    if submission.kind == ZIP:
        scratch.mkdir(parents=True, exist_ok=True)
        unpack_zip(path, scratch)
        path = scratch
    if submission.kind == NOTEBOOK:
        return path
    if learner_modules(path) is None:
        notebooks = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if len(notebooks) == 1:
            return notebooks[0]
        raise Unreadable("no step module (step1_libraries.py ...) and "
                         + ("no notebook" if not notebooks else "more than one notebook")
                         + " in the submission")
    return path
