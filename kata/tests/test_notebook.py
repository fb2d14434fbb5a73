"""The notebook path: the notebook is made from the exercises, runs in a real Jupyter kernel
(nbclient and ipykernel) with its `%%kata` magic, and is graded like any submission.

The kernel runs in a handout copy of the kata, so that the cells' writes to exercises/ never
touch this repository. With the reference in its cells every step is done, with the stubs
every step is todo, and with one learner mistake planted the board shows that mistake.
"""

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from fakes import CLASSIC_UNPADDED_NETWORK, ROOT, browser_page
from nbclient import NotebookClient

from kata import data
from kata.grading.grade import main as grade
from kata.grading.handout import make_handout
from kata.loop.notebook import MAGIC, build, drift, notebook_modules, save_cell
from kata.loop.progress import step_label
from kata.proofs.mistakes import MISTAKES, apply_edits
from kata.steps import CAPSTONE, STEPS


def solutions() -> dict[int, str]:
    return {step.number: (ROOT / "solutions" / f"{step.module}.py").read_text()
            for step in STEPS}


def test_the_notebook_holds_every_step_as_a_cell_made_from_its_exercise(tmp_path):
    notebook = nbformat.read(build(ROOT, tmp_path / "kata.ipynb", "https://example.org/kata"),
                             as_version=4)
    steps = [cell for cell in notebook.cells if cell.cell_type == "code"
             and MAGIC.match(cell.source.splitlines()[0])]
    assert len(steps) == len(STEPS)
    for step, cell in zip(STEPS, steps):
        assert cell.source.splitlines()[0] == f"%%kata step {step.number}"
        body = cell.source.split("\n", 1)[1]
        assert body.rstrip() == (ROOT / "exercises" / f"{step.module}.py").read_text().rstrip()
    setup = next(cell.source for cell in notebook.cells if "REPOSITORY" in cell.source)
    assert "REPOSITORY = 'https://example.org/kata'" in setup and "google.colab" in setup


def test_the_committed_notebook_has_not_drifted_from_the_exercises():
    """Catches: an exercise edited without `kata notebook`, so the notebook teaches old stubs."""
    assert drift(ROOT) == []


def test_a_notebooks_step_cells_come_back_as_its_step_modules(tmp_path):
    path = build(ROOT, tmp_path / "kata.ipynb", "", sources={3: "print('mine')\n"})
    modules = notebook_modules(path)
    assert set(modules) == {f"{step.module}.py" for step in STEPS}
    assert modules["step3_network.py"] == "print('mine')\n"


def test_kata_grade_grades_a_notebooks_step_cells(tmp_path):
    """A submitted notebook, step 1 written, is graded with the same modules and tests."""
    path = build(ROOT, tmp_path / "submitted.ipynb", "", sources={1: solutions()[1]})
    code = grade([str(path), "--root", str(ROOT), "--out", str(tmp_path / "reports"),
                  "--", "--step", "1"])
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert code == 0 and results["score"] == 10, results["output"]
    assert results["extra_data"]["forged"] == []


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return make_handout(ROOT, tmp_path_factory.mktemp("notebook") / "kata")


def execute(handout, name: str, sources: dict[int, str] | None) -> list:
    """Run the notebook, with these step cells, in a real kernel in the handout; its cells."""
    # Made from this repository's exercises: the handout's hold what the last notebook saved.
    path = build(ROOT, handout / "notebooks" / f"{name}.ipynb", "", sources, demo_args=None)
    notebook = nbformat.read(path, as_version=4)
    # The kernel moves to the kata's folder: MNIST_ROOT as an absolute path still finds MNIST.
    env = os.environ | {"MNIST_ROOT": str(data.mnist_root().resolve())}
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(handout / "notebooks")}}).execute(env=env)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (cell.source[:40], output.get("evalue"))
    return notebook.cells


def board_rows(cell) -> dict[str, str]:
    """{"step 3": "failing", ...} from the HTML board a cell drew."""
    page = "".join(output["data"].get("text/html", "") for output in cell.outputs
                   if "data" in output)
    return dict(re.findall(r"<tr><td>([^<]+)</td><td style='[^']*'>([^<]+)</td>", page))


def expected_board(status: str) -> dict[str, str]:
    """Every step in `status`; the capstone too, unless MNIST is missing offline, where it is
    skipped with the message that says how to get it (under CI missing data fails)."""
    offline = data.missing_files(data.mnist_root()) and not os.environ.get("CI")
    board = {step_label(step.number): status for step in STEPS}
    return board | {CAPSTONE: "skipped" if offline else status}


@pytest.mark.timeout(600)
def test_with_the_reference_in_its_cells_every_step_is_done(handout):
    from kata.demo.checkpoint import save_model
    from solutions.step3_network import DigitClassifier

    save_model(DigitClassifier(), handout / "artifacts" / "model.pt")  # for `%kata draw`
    cells = execute(handout, "reference", solutions())
    assert board_rows(cells[-1]) == expected_board("done")
    draw = next(cell for cell in cells if cell.source == "%kata draw")
    page = "".join(output["data"].get("text/html", "") for output in draw.outputs
                   if "data" in output)
    assert re.search(r"<iframe[^>]+src=\"http://127\.0\.0\.1:\d+/\?token=[\w-]+\"", page), (
        f"`%kata draw` showed no pad: {draw.outputs}")


@pytest.mark.timeout(600)
def test_with_the_stubs_in_its_cells_every_step_is_todo(handout):
    cells = execute(handout, "stubs", None)
    assert board_rows(cells[-1]) == expected_board("todo")


def html_of(cell) -> str:
    return "".join(output["data"]["text/html"] for output in cell.outputs
                   if "data" in output and "text/html" in output["data"])


def step_cell(cells, step: int):
    return next(cell for cell in cells if cell.source.startswith(f"%%kata step {step}"))


@pytest.mark.timeout(600)
def test_with_mistakes_in_cells_the_board_names_them_and_shows_their_pictures(handout,
                                                                              tmp_path):
    """Catches: a notebook that hides why a step fails. Step 2 normalises with 0.5 and 0.5;
    step 3 has the classic unpadded convolutions. Under each cell: the board names the
    mistake (or the shared crash and its shape trace) and shows its picture, in a real
    browser as in Jupyter."""
    mistake = next(m for m in MISTAKES if m.name == "normalize-half")
    step2 = apply_edits(solutions()[2], mistake.edits)
    step3 = CLASSIC_UNPADDED_NETWORK
    notebook_cells = execute(handout, "mistake", {2: step2, 3: step3})
    cell2, cell3 = step_cell(notebook_cells, 2), step_cell(notebook_cells, 3)
    assert board_rows(cell2) == {"step 2": "failing"} and board_rows(cell3) == {
        "step 3": "failing"}
    assert "your code: a black pixel became -1.0000" in html_of(cell2)
    assert "tests fail with the same error in DigitClassifier.forward" in html_of(cell3)
    assert "32 x 5 x 5 = 800" in html_of(cell3)
    for cell, picture in ((cell2, "step2-pixels.png"), (cell3, "step3-shapes.png")):
        assert f"alt='{picture}'" in html_of(cell) and "data:image/png;base64," in html_of(cell)

    # The notebook as a learner sees it: rendered to HTML and opened in headless Chromium.
    from nbconvert import HTMLExporter

    notebook = nbformat.read(handout / "notebooks" / "mistake.ipynb", as_version=4)
    notebook.cells = [cell2, cell3]
    page_file = tmp_path / "mistake.html"
    page_file.write_text(HTMLExporter().from_notebook_node(notebook)[0])
    with browser_page(width=1100, height=900) as page:
        page.goto(page_file.as_uri())
        shown = page.evaluate("[...document.images].map(i => [i.alt, i.complete, "
                              "i.naturalWidth, i.getBoundingClientRect().width])")
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "notebook.png"), full_page=True)
    assert [alt for alt, *_ in shown] == ["step2-pixels.png", "step3-shapes.png"], shown
    assert all(done and natural > 500 and width > 300 for _, done, natural, width in shown)
    assert "normalised with mean 0.5 and std 0.5" in text and "way out" in text


def test_a_cell_never_overwrites_work_the_notebook_did_not_save(tmp_path):
    """Catches: a step's cell written over a file the learner edited in an editor since the
    notebook last saved it (or re-running an older cell), losing that edit for good."""
    (tmp_path / "exercises").mkdir()
    path = tmp_path / "exercises" / "step3_network.py"
    path.write_text((ROOT / "exercises" / "step3_network.py").read_text())
    assert save_cell(tmp_path, 3, "first = 1\n")[1] is None, "the untouched stubs need no backup"
    assert save_cell(tmp_path, 3, "first = 2\n")[1] is None, "the notebook's own text either"

    path.write_text("edited_in_an_editor = True\n")
    _, backup = save_cell(tmp_path, 3, "first = 1\n")
    assert backup is not None, "the editor's edit was overwritten without a backup"
    assert backup.read_text() == "edited_in_an_editor = True\n"
    assert backup.parent == tmp_path / ".kata" / "backups"
    assert path.read_text() == "first = 1\n"

    (tmp_path / ".kata" / "notebook.json").unlink()  # a file this notebook never saved
    path.write_text("my_work = 1\n")
    _, backup = save_cell(tmp_path, 3, "first = 1\n")
    assert backup is not None and backup.read_text() == "my_work = 1\n"


@pytest.mark.parametrize("code, rewrites, shown", [
    (0, ["predictions.png", "losses.png", "confusion.png"], ["predictions.png", "losses.png",
                                                            "confusion.png"]),
    (1, ["predictions.png"], []), (2, [], [])])
def test_the_demo_cell_shows_the_figures_of_its_own_run(tmp_path, monkeypatch, code, rewrites,
                                                         shown):
    """Catches: `%kata demo` showing the figures an earlier run left in artifacts/: after a
    run that failed (a bad model.pt, a step not written yet), and the wild digits of a run
    whose step 9 is still a stub."""
    import IPython.display

    import kata.demo.run
    from kata.loop.notebook import Notebook

    out = tmp_path / "artifacts"
    out.mkdir()
    for name in ("predictions.png", "losses.png", "confusion.png", "wild_digits.png"):
        (out / name).write_bytes(b"an earlier run's figure")
        os.utime(out / name, ns=(10**18, 10**18))

    def demo(argv):
        for name in rewrites:
            (out / name).write_bytes(b"this run's figure")
        return code

    displayed = []
    monkeypatch.setattr(kata.demo.run, "main", demo)
    monkeypatch.setattr(IPython.display, "display", lambda image: displayed.append(image))
    Notebook(tmp_path).demo([])
    assert [Path(image.filename).name for image in displayed] == shown
