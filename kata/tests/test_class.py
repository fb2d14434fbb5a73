"""`kata class` on a throw-away kata: a class folder graded into a gradebook and a report, a
run stopped and resumed, the platforms' exports read, the report looked at in a browser.

The class is graded once per session (each submission by the real trusted grading, in a
process of its own); the tests read its gradebook with the csv module, its rows back from
the reports, and its page in headless Chromium (through Playwright).
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes import ALL_WRITTEN, TODO_STUB, WRONG, FakeKata, browser_page

from kata.config import load_config
from kata.gradebook import book, platforms, report, submissions
from kata.gradebook.run import RECORD, row_of
from kata.grading import report as grade_report
from kata.grading.engine import GradedTest, Run
from kata.loop.progress import DONE, FAILING, TODO
from kata.proofs.cheats import CHEATS
from kata.steps import STEPS

REPORT_REWRITE = next(c for c in CHEATS if c.name == "report-rewrite").append[1]
# Who gets what: the mistakes planted (a wrong answer in step 3 twice, in step 5 once under a
# forged run, which must not count), a zip, a broken zip, a learner who wrote nothing.
CLASS = {
    "ana": ALL_WRITTEN,
    "ben": ALL_WRITTEN | {3: WRONG},
    "cy.zip": ALL_WRITTEN | {3: WRONG},
    "dee": ALL_WRITTEN | {5: WRONG, 1: ALL_WRITTEN[1] + REPORT_REWRITE},
    "eve": {},
}
pytestmark = pytest.mark.timeout(600)  # the class's grading, in the first test to need it


def step_files(bodies: dict[int, str]) -> dict[str, str]:
    return {f"exercises/{step.module}.py": bodies.get(step.number, TODO_STUB).format(
        n=step.number) for step in STEPS}


def write_learner(folder: Path, name: str, bodies: dict[int, str]) -> None:
    files = step_files(bodies)
    if name.endswith(".zip"):
        with zipfile.ZipFile(folder / name, "w") as zipped:
            for path, text in files.items():
                zipped.writestr(f"{name.removesuffix('.zip')}/{path}", text)
            zipped.writestr("../outside.py", "print('never written')\n")
        return
    for path, text in files.items():
        (folder / name / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / name / path).write_text(text)


def fake_kata_at(path: Path) -> FakeKata:
    path.mkdir(parents=True)
    return FakeKata(SimpleNamespace(path=path))


def run_class(kata: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kata", "class", *args, "--root", str(kata)],
                          cwd=kata, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The class, graded once for the whole run: xdist's workers share it through a folder
    above their own, the first to arrive grading it while the others wait (xdist's advice)."""
    from filelock import FileLock

    top = tmp_path_factory.getbasetemp().parent / "graded-class"
    with FileLock(f"{top}.lock"):
        if not (top / "done.json").exists():
            shutil.rmtree(top, ignore_errors=True)
            (top / "submissions").mkdir(parents=True)
            fake_kata_at(top / "kata")
            for name, bodies in CLASS.items():
                write_learner(top / "submissions", name, bodies)
            (top / "submissions" / "fay.zip").write_bytes(b"this is not a zip")
            (top / "submissions" / "roster.csv").write_text("name\nana\n")
            done = run_class(top / "kata", str(top / "submissions"), "--out", str(top / "out"),
                             "--jobs", "2")
            assert done.returncode == 0, done.stdout + done.stderr
            (top / "done.json").write_text(json.dumps({"stdout": done.stdout}))
    stdout = json.loads((top / "done.json").read_text())["stdout"]
    return SimpleNamespace(kata=top / "kata", folder=top / "submissions", out=top / "out",
                           stdout=stdout)


def gradebook(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as file:
        return {row["learner"]: row for row in csv.DictReader(file)}


def test_the_gradebook_has_a_row_per_learner_with_points_per_step(graded_class):
    rows = gradebook(graded_class.out)
    assert set(rows) == {"ana", "ben", "cy", "dee", "eve", "fay"}
    assert list(next(iter(rows.values()))) == book.COLUMNS
    assert rows["ana"]["total"] == "100" and rows["ana"]["status"] == book.GRADED
    assert float(rows["ben"]["step3"]) < 10 and rows["ben"]["step5"] == "10"
    assert float(rows["ben"]["total"]) == sum(float(rows["ben"][key]) for key in book.STEP_KEYS)
    assert rows["cy"]["total"] == rows["ben"]["total"], "the zip grades as the folder does"
    assert rows["eve"]["total"] == "0" and rows["eve"]["status"] == book.GRADED
    assert float(rows["ana"]["seconds"]) > 0 and float(rows["ana"]["peak_memory_mb"]) > 10
    assert "roster.csv" in graded_class.stdout


def test_a_forged_run_is_flagged_and_scores_zero(graded_class):
    """Catches: a class gradebook that believes a forged run (report rewriting)."""
    dee = gradebook(graded_class.out)["dee"]
    assert dee["total"] == "0" and dee["status"] == book.ZEROED
    assert book.FORGED in dee["flags"], dee


def test_a_broken_submission_is_a_row_that_says_why_and_grading_goes_on(graded_class):
    """Catches: one unreadable zip stopping the class run, or vanishing from the gradebook."""
    fay = gradebook(graded_class.out)["fay"]
    assert fay["status"] == book.BROKE and fay["total"] == "0" and fay["max_total"] == "100"
    assert "fay.zip" in fay["details"] and "zip" in fay["details"]


def test_a_zip_cannot_write_outside_its_folder(graded_class, tmp_path):
    """Catches: zip slip, a member named ../outside.py written beside the submission."""
    assert not (graded_class.out / "outside.py").exists()
    assert not (graded_class.out / "learners" / "outside.py").exists()
    with zipfile.ZipFile(tmp_path / "big.zip", "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("exercises/step1_libraries.py", b"0" * (submissions.MAX_BYTES + 1))
    with pytest.raises(submissions.Unreadable, match="MB unpacked"):
        submissions.unpack_zip(tmp_path / "big.zip", tmp_path / "unpacked")


def class_rows(graded_class) -> list[book.Row]:
    learners = graded_class.out / "learners"
    return [row_of(learners / name, name, 100.0) for name in sorted(os.listdir(learners))]


def test_the_mistake_ranking_is_the_mistakes_planted(graded_class):
    """Catches: a ranking that counts todo stubs, counts a forged run's failures, or counts
    a learner twice."""
    ranked = report.rank_mistakes(class_rows(graded_class))
    assert [(m.step, m.nodeid, sorted(m.learners)) for m in ranked] == [
        ("step3", "tests/test_step3_network.py::test_answer", ["ben", "cy"])]
    assert ranked[0].text == "an answer that is off by one."


def test_the_report_escapes_what_learners_wrote():
    """Catches: a learner's message or name that becomes HTML (a script) in the report."""
    row = book.Row("<b>mallory</b>", "graded here", status=book.BROKE,
                   details=["<script>alert(1)</script>"])
    page = report.page([row], [], report.figures([row], []), "class", [])
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<b>mallory" not in page


def test_a_gradebook_cell_never_starts_a_formula():
    """Catches: CSV injection, a learner named =HYPERLINK(...) run by the spreadsheet."""
    assert book.cell("=HYPERLINK(\"x\")").startswith("'=")
    assert book.cell("-1+2").startswith("'") and book.cell("ana") == "ana"
    assert book.cell(6.66666) == "6.6667" and book.cell(10.0) == "10"


def test_a_stopped_run_goes_on_where_it_stopped(tmp_path):
    """Catches: a resumed run that grades everyone again, or keeps a half-written result."""
    kata = fake_kata_at(tmp_path / "kata").path
    folder, out = tmp_path / "submissions", tmp_path / "out"
    folder.mkdir()
    for name in ("a1", "a2"):
        write_learner(folder, name, ALL_WRITTEN)
    command = [sys.executable, "-m", "kata", "class", str(folder), "--out", str(out),
               "--jobs", "1", "--root", str(kata)]
    first = subprocess.Popen(command, cwd=kata, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    deadline = time.monotonic() + 300
    while not list(out.glob(f"learners/*/{RECORD}")) and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGTERM)  # a killed job; Ctrl-C takes the same way out
    printed = first.communicate(timeout=120)[0]
    assert first.returncode == 130, printed
    assert "run the same command again" in printed
    graded = {path.parent.name for path in out.glob(f"learners/*/{RECORD}")}
    assert graded == {"a1"}, printed  # --jobs 1: in order
    assert not list(out.glob("learners/.partial-*")), "a half-graded learner was left behind"
    stamps = {name: json.loads((out / "learners" / name / RECORD).read_text())["graded_at"]
              for name in graded}
    second = subprocess.run(command, cwd=kata, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1 of 2 already graded" in second.stdout
    assert "] a2:" in second.stdout and "] a1:" not in second.stdout, second.stdout
    for name, stamp in stamps.items():
        assert json.loads((out / "learners" / name / RECORD).read_text())["graded_at"] == stamp
    assert set(gradebook(out)) == {"a1", "a2"}
    (folder / "a1" / "exercises" / "step3_network.py").write_text(WRONG)
    third = subprocess.run(command, cwd=kata, capture_output=True, text=True, timeout=600)
    assert "1 of 2 already graded" in third.stdout and "] a1:" in third.stdout, third.stdout
    assert float(gradebook(out)["a1"]["step3"]) < 10


def test_a_gradescope_export_is_read_not_graded_again(graded_class, tmp_path):
    """Gradescope's export: per submission, :submitters and the :results our bundle wrote."""
    import yaml

    learners = graded_class.out / "learners"
    metadata = {f"submission_{index}": {
        ":submitters": [{":name": name.title(), ":sid": f"00{index}", ":email": f"{name}@uni.edu"}],
        ":created_at": "2026-11-30 10:00:00.000000000 Z", ":score": 0.0, ":status": "processed",
        ":results": json.loads((learners / name / "results.json").read_text()), ":history": []}
        for index, name in enumerate(["ana", "ben", "dee"])}
    export = tmp_path / "assignment_9_export.zip"
    with zipfile.ZipFile(export, "w") as zipped:
        zipped.writestr(f"assignment_9_export/{platforms.METADATA}", yaml.safe_dump(metadata))
    out = tmp_path / "out"
    done = run_class(graded_class.kata, str(export), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = gradebook(out)
    assert set(rows) == {"ana@uni.edu", "ben@uni.edu", "dee@uni.edu"}
    assert rows["ana@uni.edu"]["total"] == "100" and rows["ana@uni.edu"]["source"] == "gradescope"
    assert rows["ben@uni.edu"]["step3"] == gradebook(graded_class.out)["ben"]["step3"]
    assert book.FORGED in rows["dee@uni.edu"]["flags"]
    assert not (out / "learners").exists(), "an export is read, never graded again"
    assert "test_step3_network.py::test_answer" in (out / "report.html").read_text()


def classroom50_result(outcome: str) -> dict:
    """A Classroom 50 result.json of a run whose one step 3 test has `outcome`."""
    tests = [GradedTest(f"tests/test_{step.module}.py::test_answer", step.number,
                        "Catches: an answer that is off by one.",
                        outcome if step.number == 3 else DONE) for step in STEPS]
    tests.append(GradedTest("tests/test_capstone.py::test_pipeline", "capstone", "", DONE))
    config = load_config(Path(__file__).resolve().parents[2])
    grade = grade_report.grade("submission", config, Run(tests), [])
    return grade_report.classroom50_result(grade, config, {})


def test_classroom50_scores_are_read_with_their_failing_tests(graded_class, tmp_path):
    """Classroom 50's scores.json: the newest submission of each owner, per step."""
    newest, older = classroom50_result(FAILING), classroom50_result(DONE)
    scores = {"schema": platforms.SCORES_SCHEMA, "assignments": {"mnist": {
        "type": "individual", "entries": [
            {"owner": "gina", "submissions": [newest, older]},
            {"owner": "hal", "submissions": [classroom50_result(TODO)]}]}}}
    (tmp_path / "scores.json").write_text(json.dumps(scores))
    out = tmp_path / "out"
    done = run_class(graded_class.kata, str(tmp_path / "scores.json"), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = gradebook(out)
    assert float(rows["gina"]["step3"]) == 0 and rows["gina"]["step4"] == "10"
    assert rows["gina"]["source"] == "classroom 50"
    ranked = report.rank_mistakes(platforms.read_classroom50(scores))
    assert [(m.step, m.learners) for m in ranked] == [("step3", ["gina"])], \
        "a todo stub (hal) is not a mistake; the newest submission (gina's) counts"


def test_the_report_in_a_real_browser(graded_class, tmp_path):
    """The page as an instructor sees it: opened from disk in headless Chromium, every figure
    shown, the ranking's first row the mistake planted twice."""
    page_file = graded_class.out / "report.html"
    with browser_page() as page:
        page.goto(page_file.as_uri())
        sizes = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
        first = page.locator("table").nth(1).locator("tbody tr").first.inner_text()
        headings = page.locator("h2").all_inner_texts()
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
    assert len(sizes) == 3 and all(done and width > 300 for done, width in sizes), sizes
    assert "step 3" in first and "ben, cy" in first and "off by one" in first, first
    assert headings[:3] == ["Steps finished", "Scores", "Mistakes, by how many learners "
                                                         "made them"]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[0] > 1500 and pixels.std() > 0.05, "the screenshot is blank"
