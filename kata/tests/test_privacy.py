"""What the kata hands out carries only what a learner may see.

An instructor's world is planted in a copy of the kata (a graded class, learners'
submissions, a Gradescope export, a `.env`, a virtual environment named `venv`, the board's
state in `.kata/`, notes dropped into the kata's own folders); no byte of it may reach the
handout, the Gradescope bundle, the Classroom 50 autograder folder or the notebook.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fakes import ROOT

from kata.gradebook.run import default_out, privacy_note
from kata.grading import classroom50, gradescope
from kata.grading.handout import HANDOUT_PAGES, handout_files, left_out, make_handout, tracked_files
from kata.loop.notebook import build as build_notebook

# Each planted file holds a secret of its own, so a leak names what leaked.
WORLD = {
    "class-report/gradebook.csv": "learner,total\nalice,93 SECRET-GRADEBOOK\n",
    "class-report/learners/alice/results.json": '{"score": 93, "note": "SECRET-RESULTS"}',
    "submissions/alice/exercises/step1_libraries.py": "# SECRET-SUBMISSION alice's code\n",
    ".env": "API_TOKEN=SECRET-DOTENV\n",
    "venv/pyvenv.cfg": "home = /usr/bin SECRET-VENV-CFG\n",
    "venv/lib/python3.11/site-packages/kata_notes.py": "KEY = 'SECRET-VENV'\n",
    ".kata/progress.json": '{"exercises": {"1": "done SECRET-STATE"}}',
    "exercises/answers.txt": "SECRET-EXERCISE-NOTES\n",
    "exercises/step9_draft.py": "# SECRET-UNTRACKED-STEP\n",
    "notebooks/alice_graded.ipynb": '{"cells": [], "note": "SECRET-NOTEBOOK"}',
    "docs/grades-fall.md": "SECRET-DOCS\n",
}
EXPORT = "assignment_123_export.zip"  # Gradescope's "Export Submissions"
EXPORT_SECRET = "SECRET-EXPORT"


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=kata", "-c",
                    "user.email=kata@example.org", *args], check=True, capture_output=True)


def copy_tracked(source: Path, dest: Path) -> None:
    """The files git tracks in `source`, as they are on disk: a fixture's copy stays small."""
    for name in sorted(tracked_files(source) or ()):
        if (source / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, dest / name)


def plant(kata: Path) -> None:
    for name, text in WORLD.items():
        (kata / name).parent.mkdir(parents=True, exist_ok=True)
        (kata / name).write_text(text)
    # A link among the grading code, to a secret: copying it would copy what it points at.
    (kata / "tests" / "instructor_notes.py").symlink_to(kata / ".env")
    with zipfile.ZipFile(kata / EXPORT, "w") as export:
        export.writestr("submission_metadata.yml", f":submitters: [alice] # {EXPORT_SECRET}\n")


@pytest.fixture(scope="module")
def instructors_kata(tmp_path_factory) -> Path:
    """A git checkout of the kata with an instructor's world planted, none of it tracked."""
    if tracked_files(ROOT) is None:
        pytest.skip("needs the kata as a git checkout (git ls-files)")
    kata = tmp_path_factory.mktemp("instructor") / "kata"
    kata.mkdir()
    copy_tracked(ROOT, kata)
    git(kata, "init", "-q")
    git(kata, "add", "-A")
    git(kata, "commit", "-q", "-m", "the kata")
    plant(kata)
    return kata


def leaks(folder: Path) -> list[str]:
    """Every planted secret found in any file below `folder`, or in a zip's members."""
    secrets = [text.split("SECRET-")[1].split()[0].strip("'\"}") for text in WORLD.values()]
    needles = [f"SECRET-{s}".encode() for s in secrets] + [EXPORT_SECRET.encode()]
    found = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        blobs = {path.name: path.read_bytes()}
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                blobs = {f"{path.name}:{name}": archive.read(name) for name in archive.namelist()}
        found += [f"{where}: {needle.decode()}" for where, blob in blobs.items()
                  for needle in needles if needle in blob]
    return found


def test_no_byte_of_an_instructors_world_reaches_what_the_kata_hands_out(instructors_kata,
                                                                         tmp_path):
    """Catches: a handout, bundle or notebook that copies the kata's folder minus a list of
    names, so that gradebooks, submissions, exports, secrets, a venv or what a link points at
    reach learners."""
    outputs = tmp_path / "outputs"
    make_handout(instructors_kata, outputs / "handout")
    gradescope.build(instructors_kata, outputs / "gradescope" / "autograder.zip")
    classroom50.build(instructors_kata, outputs / "classroom50")
    build_notebook(instructors_kata, outputs / "notebook" / "mnist_kata.ipynb", "")
    assert leaks(outputs) == [], "planted files reached an output: look at how it picks files"
    handout = outputs / "handout"
    for gone in ("class-report", "submissions", "venv", ".kata", ".env", EXPORT, "solutions",
                 "alternatives", "kata/proofs", "kata/tests", ".ci"):
        assert not (handout / gone).exists(), f"the handout holds {gone}"


def test_the_handout_says_in_one_line_what_it_left_out(instructors_kata, tmp_path):
    """Catches: a handout that silently leaves out files a person expected in it."""
    line = left_out(instructors_kata, handout_files(instructors_kata))
    for shown in ("class-report/ (2 files)", "submissions/ (1 file)", "venv/ (2 files)",
                  ".env", EXPORT, "solutions/"):
        assert shown in line, f"{shown!r} missing from: {line}"
    assert "\n" not in line


def test_without_git_the_handout_takes_only_the_kata_s_own_kinds_of_file(instructors_kata,
                                                                        tmp_path):
    """Catches: a handout made from a copy that is not a git checkout (a zip of the kata)
    falling back to copying everything."""
    kata = tmp_path / "kata"
    shutil.copytree(instructors_kata, kata, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    make_handout(kata, tmp_path / "handout")
    assert leaks(tmp_path / "handout") == []


def test_the_handout_refuses_a_destination_inside_the_kata(instructors_kata):
    """Catches: a handout written into the kata's own folder, where the next handout or a
    commit would pick it up."""
    for inside in (instructors_kata, instructors_kata / "dist" / "handout"):
        with pytest.raises(ValueError, match="inside the kata"):
            make_handout(instructors_kata, inside)


def test_a_class_is_graded_outside_the_kata_by_default_and_says_it_is_personal(tmp_path):
    """Catches: `kata class` writing learners' grades and code into the kata's folder, from
    where they could be handed out, without warning the instructor."""
    kata = tmp_path / "mnist-kata"
    out = default_out(kata, kata / "submissions")
    assert kata not in out.parents and out != kata
    assert out == tmp_path / "mnist-kata-classes" / "submissions"
    for folder in (out, kata / "class-report"):
        assert "personal data" in privacy_note(kata, folder)
    assert "inside the kata" in privacy_note(kata, kata / "class-report")


def test_the_kata_s_test_fixtures_copy_only_what_is_tracked(instructors_kata, tmp_path):
    """Catches: a fixture that copies the checkout wholesale, dragging an untracked virtual
    environment (gigabytes) into every test's temporary folder."""
    handout = make_handout(instructors_kata, tmp_path / "handout")
    copied = {p.relative_to(handout).as_posix() for p in handout.rglob("*") if p.is_file()}
    assert copied <= set(tracked_files(instructors_kata)) | {*HANDOUT_PAGES, "grading.sha256"}
    assert sum(p.stat().st_size for p in handout.rglob("*") if p.is_file()) < 20 * 2**20


def test_kata_handout_prints_what_it_left_out(instructors_kata, tmp_path):
    done = subprocess.run([sys.executable, "-m", "kata", "handout", str(tmp_path / "h")],
                          cwd=instructors_kata, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("handout written to") and "submissions/" in lines[1]
