"""The notebook path: the notebook is made from the exercises, runs in a real Jupyter kernel
(nbclient and ipykernel) with its `%%kata` magic, and is graded like any submission.

The kernel runs in a handout copy of the kata, so that the cells' writes to exercises/ never
touch this repository. With the reference in its cells every step is done, with the stubs
every step is todo, and with one learner mistake planted the board shows that mistake.
"""

import json
import os
import re

import nbformat
import pytest
from fakes import ROOT
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


@pytest.mark.timeout(600)
def test_with_a_mistake_in_a_cell_the_board_shows_that_mistake(handout):
    """Catches: a notebook that hides why a step fails (here softmax before the loss)."""
    mistake = next(m for m in MISTAKES if m.name == "softmax-in-forward")
    step3 = apply_edits(solutions()[3], mistake.edits)
    cells = execute(handout, "mistake", {3: step3})
    step3_cell = next(cell for cell in cells if cell.source.startswith("%%kata step 3"))
    assert board_rows(step3_cell) == {"step 3": "failing"}
    page = "".join(output["data"]["text/html"] for output in step3_cell.outputs
                   if "data" in output)
    assert "Catches: softmax or log_softmax at the end of forward" in page


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
