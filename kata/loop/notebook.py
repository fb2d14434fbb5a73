"""The kata as one notebook (Jupyter, Colab), and the `%%kata` magic that checks its cells.

    kata notebook                      write notebooks/mnist_kata.ipynb from exercises/
    kata notebook --repo URL           with the repository Colab should clone

The notebook is generated from the exercises (and hints.toml): one markdown cell per step with
the step's docstring, then one code cell holding the step's module, first line
`%%kata step N`. Running that cell writes it to exercises/stepN_....py, runs step N's tests in
a fresh process (pytest cannot run twice in one kernel), and shows the board inline, with the
failing test's message and the next hint. `%kata COMMAND` runs any kata command (`%kata hint
3`, `%kata test`); `%kata demo` trains your steps in the notebook with its own progress bar
and shows the figures; `%kata plot` draws your step 8 figure inline; `%kata draw` gives
the drawing pad of step 9 inline.

`notebook_modules` reads the step cells back: `kata grade notebook.ipynb` grades them.
"""

import argparse
import base64
import hashlib
import html
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from kata.loop.progress import MODULE_KEYS, STATE_DIR_NAME, read_json, step_label
from kata.loop.workspace import back_up, is_stub
from kata.paths import given_path
from kata.steps import CORE_STEPS, STEPS

NOTEBOOK = Path("notebooks") / "mnist_kata.ipynb"
MAGIC = re.compile(r"^%%kata\s+step\s+(\d)\s*$")
COLOURS = {"done": "#1a7f37", "failing": "#cf222e", "todo": "#6e7781", "not run": "#6e7781",
           "skipped": "#9a6700"}

SETUP = '''# Run this cell first. On Google Colab it fetches the kata and installs what the tests
# need (torch is there already); in Jupyter it finds the kata this notebook belongs to.
import os
import subprocess
import sys

REPOSITORY = {repository!r}
if "google.colab" in sys.modules:
    if not os.path.isdir("/content/mnist-kata"):
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "/content/mnist-kata"],
                       check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e",
                        "/content/mnist-kata[notebook]"], check=True)
    os.chdir("/content/mnist-kata")
elif os.path.basename(os.getcwd()) == "notebooks":
    os.chdir("..")
sys.path.insert(0, os.getcwd())
%load_ext kata.loop.notebook'''

INTRO = """# MNIST kata: read handwritten digits with a PyTorch CNN

Eight steps, in the order of the original tutorial, then a bonus: step 9, where you draw
digits and watch your network read them. In each step's code cell, replace every
`raise KataTodo(...)` with your code and run the cell: its first line, `%%kata step N`, saves
the cell to `exercises/` and runs that step's tests, then shows where every step stands, why
a test fails, and a hint. `%kata hint N` gives one more hint each time you ask.

Run the setup cell first. On Colab, pick a GPU runtime (Runtime, Change runtime type) to
train faster; the kata uses it by itself."""


def markdown(text: str) -> dict:
    import nbformat

    return nbformat.v4.new_markdown_cell(text)


def code(text: str) -> dict:
    import nbformat

    return nbformat.v4.new_code_cell(text)


def module_docstring(source: str) -> str:
    import ast

    return ast.get_docstring(ast.parse(source)) or ""


# What follows a step's cell, (markdown, code): a look at what the step makes.
AFTER_STEP = {
    8: ("Your step 8 at a glance: an untrained network's predictions on the first test "
        "digits, titled and coloured by your code.", "%kata plot"),
    9: ("Draw a digit and watch your network read it: the pad below sends your strokes "
        "through your `to_mnist` and `read_digit`, with the model the demo saved (run the "
        "demo's cell above first).", "%kata draw"),
}


def build(root: Path, dest: Path, repository: str, sources: dict[int, str] | None = None,
          demo_args: str | None = "--epochs 2"):
    """The notebook, from the exercises of the kata at `root` (or the given step sources);
    without the demo's cells when `demo_args` is None."""
    import nbformat

    from kata.capstone import SETTING  # imports torch: only where a notebook is built

    notebook = nbformat.v4.new_notebook()
    notebook.metadata.update({"kernelspec": {"name": "python3", "display_name": "Python 3",
                                             "language": "python"},
                              "accelerator": "GPU", "colab": {"provenance": []}})
    cells = [markdown(INTRO), code(SETUP.format(repository=repository)),
             markdown("MNIST itself: downloaded into `data/` the first time (on Colab too)."),
             code("%kata data")]

    def step_cells(step) -> list:
        source = (sources or {}).get(step.number) or \
            (Path(root) / "exercises" / f"{step.module}.py").read_text()
        doc = module_docstring(source)
        first, _, rest = doc.partition("\n")
        if first.lower().startswith(f"step {step.number}"):  # the heading says it already
            doc = rest.strip()
        bonus = " (bonus)" if step.bonus else ""
        return [markdown(f"## Step {step.number}{bonus}: {step.title}\n\n{doc}"),
                code(f"%%kata step {step.number}\n{source.rstrip()}\n"),
                *([markdown(AFTER_STEP[step.number][0]), code(AFTER_STEP[step.number][1])]
                  if step.number in AFTER_STEP else [])]

    for step in CORE_STEPS:
        cells += step_cells(step)
    cells += [markdown("## The capstone\n\nAll your steps together, on the real MNIST: one "
                       f"epoch of training must read at least {SETTING.min_accuracy:.0%} of "
                       "held-out test digits."),
              code("%kata test capstone"),
              *([markdown("## Train it for real\n\nThe demo trains your steps with a faster "
                          "recipe (about 99% in two epochs) and shows what the network "
                          "reads."),
                 code(f"%kata demo {demo_args}")] if demo_args is not None else [])]
    for step in STEPS:
        if step.bonus:
            cells += step_cells(step)
    cells += [markdown("Every step at once:"), code("%kata test")]
    notebook.cells = cells
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, dest)
    return dest


def repository_url(root: Path) -> str:
    """The kata's repository for Colab to clone: git's origin, as an https address."""
    done = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"],
                          capture_output=True, text=True)
    url = done.stdout.strip()
    if url.startswith("git@"):  # git@github.com:owner/repo.git
        url = "https://" + url[4:].replace(":", "/", 1)
    return url.removesuffix(".git") if url.startswith("https://") else \
        "https://github.com/OWNER/REPOSITORY"


def build_main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata notebook",
                                     description="Write the notebook of the steps.")
    parser.add_argument("--out", type=given_path, default=NOTEBOOK)
    parser.add_argument("--repo", help="the repository Colab clones (default: git's origin)")
    args = parser.parse_args(argv)
    path = build(Path("."), args.out, args.repo or repository_url(Path(".")))
    print(f"wrote {path}")
    return 0


def committed_repository(path: Path) -> str | None:
    """The REPOSITORY a notebook's setup cell clones, if it has one."""
    for cell in json.loads(Path(path).read_text()).get("cells", []):
        found = re.search(r"^REPOSITORY = '([^']*)'$", "".join(cell.get("source", [])),
                          flags=re.MULTILINE)
        if found:
            return found.group(1)
    return None


def drift(root: Path, path: Path = NOTEBOOK) -> list[str]:
    """How the notebook differs from what `kata notebook` makes of the exercises today
    (empty when it is current): it must not drift from exercises/."""
    import nbformat

    path = Path(root) / path
    if not path.exists():
        return [f"{path} is missing: run `kata notebook`"]
    with tempfile.TemporaryDirectory() as folder:
        fresh = build(root, Path(folder) / path.name, committed_repository(path) or "")
        expected = nbformat.read(fresh, as_version=4)
    found = nbformat.read(path, as_version=4)
    if [(c.cell_type, c.source) for c in found.cells] == \
            [(c.cell_type, c.source) for c in expected.cells]:
        return []
    return [f"{path} is not what `kata notebook` makes of the exercises: run it again"]


def notebook_modules(path: Path) -> dict[str, str]:
    """The step modules a notebook holds: {"step3_network.py": source} for each step cell."""
    notebook = json.loads(Path(path).read_text())
    modules = {}
    for cell in notebook.get("cells", []):
        text = "".join(cell.get("source", [])) if cell.get("cell_type") == "code" else ""
        first, _, rest = text.partition("\n")
        found = MAGIC.match(first.strip())
        if found and 1 <= int(found.group(1)) <= len(STEPS):
            modules[f"{STEPS[int(found.group(1)) - 1].module}.py"] = rest
    return modules


# ---------------------------------------------------------------- in the notebook


def board_html(board: dict) -> str:
    """The board as an HTML table, a colour per status, the next step under it."""
    rows = []
    for row in board["rows"]:
        colour = COLOURS.get(row["status"], "#000")
        points = "" if row["points"] is None else "bonus" if row.get("bonus") and \
            not row["possible"] else f"{round(row['points'], 1):g}/{round(row['possible'], 1):g}"
        rows.append(f"<tr><td>{html.escape(row['label'])}</td>"
                    f"<td style='color:{colour};font-weight:bold'>{row['status']}</td>"
                    f"<td>{row['passed']}/{row['tests']}</td><td>{points}</td>"
                    f"<td style='text-align:left'>{html.escape(row['title'])}</td></tr>")
    parts = ["<table><tr><th>step</th><th>status</th><th>tests</th><th>points</th>"
             "<th style='text-align:left'>what</th></tr>", *rows, "</table>"]
    for line in filter(None, [board.get("total"), board.get("history")]):
        parts.append(f"<p><b>{html.escape(line)}</b></p>")
    if board.get("next"):
        parts.append("<pre style='white-space:pre-wrap;font-family:monospace'>"
                     + html.escape("\n".join(board["next"])) + "</pre>")
    parts += [picture_html(Path(path)) for path in board.get("pictures", [])
              if Path(path).is_file()]
    return "\n".join(parts)


def save_cell(root: Path, step: int, source: str) -> tuple[Path, Path | None]:
    """Write a step's cell over its file in exercises/; the file, and the backup kept first
    when the file holds work the notebook did not save (an edit made in an editor, or an
    older cell's text the learner changed since): never lose a learner's newer work.

    What the notebook saved last, per step, is remembered in .kata/notebook.json (its sha256);
    a file the notebook never saved is backed up unless it is still the untouched stubs.
    """
    path = Path(root) / "exercises" / f"{STEPS[step - 1].module}.py"
    text = source if source.endswith("\n") else source + "\n"
    record = Path(root) / STATE_DIR_NAME / "notebook.json"
    saved = read_json(record)
    backup = None
    if path.exists():
        current = path.read_text()
        known = saved.get(str(step))
        unsaved_work = sha256(current) != known if known else not is_stub(current)
        if current != text and unsaved_work:
            backup = back_up(path, root)
    path.write_text(text)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(saved | {str(step): sha256(text)}, indent=1))
    return path, backup


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def picture_html(path: Path) -> str:
    """A picture of the feedback (kata/loop/feedback.py), inline: the notebook may be saved,
    shared or opened in Colab, where .kata/feedback/ is not beside it."""
    data = base64.b64encode(path.read_bytes()).decode()
    return (f"<figure><img alt='{html.escape(path.name)}' style='max-width:100%' "
            f"src='data:image/png;base64,{data}'><figcaption>{html.escape(path.name)}"
            "</figcaption></figure>")


def modified(path: Path) -> int | None:
    """When the file was last written (ns), or None where there is none."""
    return path.stat().st_mtime_ns if path.is_file() else None


class Notebook:
    """The kata as seen from a notebook's kernel: its folder, and a warm test runner."""

    def __init__(self, root: Path):
        from kata.loop.warm import WarmRunner

        self.root = Path(root)
        self.runner = WarmRunner()
        self.drawing = None  # the server of `%kata draw`, once started

    def forget_modules(self) -> None:
        """Drop the kernel's copies of the steps, so that the next import reads the files."""
        for name in [name for name in sys.modules if name.split(".")[0] == "exercises"]:
            del sys.modules[name]

    def save(self, step: int, source: str) -> tuple[Path, Path | None]:
        path, backup = save_cell(self.root, step, source)
        self.forget_modules()
        return path, backup

    def test(self, step: str | None = None) -> None:
        """Run the tests (of one step) in a fresh process; draw the board."""
        from IPython.display import HTML, display

        with tempfile.TemporaryDirectory() as folder:
            board_file = Path(folder) / "board.json"
            args = ["--impl", "exercises", "-q", "--tb=no", "-rN", "-p", "no:cacheprovider",
                    "--board-json", str(board_file), *(["--step", step] if step else [])]
            _, output = self.runner.run(args, cwd=self.root)
            board = json.loads(board_file.read_text()) if board_file.exists() else None
        if board is None:
            display(HTML("<p><b>The tests did not run:</b></p><pre>"
                         + html.escape(output[-3000:]) + "</pre>"))
            return
        display(HTML(board_html(board) + "<details><summary>pytest's output</summary><pre>"
                     + html.escape(output[-20000:]) + "</pre></details>"))

    def command(self, line: str) -> None:
        """`%kata COMMAND ...`: the demo and the plot here, anything else as `kata` would."""
        from kata import KataTodo

        words = line.split()
        if not words:
            words = ["--help"]
        if words[0] == "test":
            self.test(words[1] if len(words) > 1 else None)
        elif words[0] in ("demo", "plot", "draw"):
            try:
                {"demo": lambda: self.demo(words[1:]), "plot": self.plot,
                 "draw": self.draw}[words[0]]()
            except KataTodo as error:  # a step it needs is not written yet: say which
                print(f"{error}\n(write that step first: its cell's tests say what is missing)")
        else:
            done = subprocess.run([sys.executable, "-m", "kata", *words], cwd=self.root,
                                  capture_output=True, text=True)
            print(done.stdout + done.stderr, end="")

    def demo(self, args: list[str]) -> None:
        """Train your steps here: the notebook's own progress bar, the figures inline (those
        this run saved: not an earlier run's, left in the folder)."""
        from IPython.display import Image, display

        from kata.demo.run import main as demo
        from kata.demo.run import parse_args

        self.forget_modules()
        argv = ["--impl", "exercises", "--out", str(self.root / "artifacts"), *args]
        out = parse_args(argv).out
        figures = [out / name for name in
                   ("predictions.png", "losses.png", "confusion.png", "wild_digits.png")]
        before = {figure: modified(figure) for figure in figures}
        if demo(argv) != 0:  # it said why; the figures there are an earlier run's
            return
        for figure in figures:
            if modified(figure) not in (None, before[figure]):
                display(Image(filename=str(figure)))

    def draw(self) -> None:
        """`kata draw`'s pad inline: a server on a thread of this kernel, in an IFrame."""
        from IPython.display import IFrame, display

        from kata.loop.draw import MODEL, Reader, load_model, serve_in_background

        path = self.root / MODEL
        if not path.is_file():
            print(f"no model at {path}: train one first with the demo's cell (`%kata demo`)")
            return
        self.forget_modules()
        if self.drawing is not None:
            self.drawing.shutdown()  # one pad at a time, with the newest model
        import torch

        device = torch.device("cpu")
        reader = Reader("exercises", load_model("exercises", path, device), device, path)
        self.drawing = serve_in_background(reader)
        display(IFrame(self.drawing.url, width="100%", height=470))

    def plot(self) -> None:
        """Your step 8 figure for an untrained network of yours, on the first test digits
        (or made-up digits, without MNIST)."""
        from IPython.display import display

        from kata import data
        from kata.steps import load_step
        from kata.testing import learnable_digits

        self.forget_modules()
        step2, step4, step8 = (load_step("exercises", n) for n in (2, 4, 8))
        root = data.mnist_root(default=self.root / "data")
        dataset = (learnable_digits(12) if data.missing_files(root)
                   else step2.load_mnist(root, train=False))
        import matplotlib.pyplot as plt
        import torch

        model = step4.build_model(torch.device("cpu"))
        figure = step8.plot_predictions(model, dataset, torch.device("cpu"))
        display(figure)
        plt.close(figure)  # shown once: the notebook would draw an open figure again


def load_ipython_extension(ipython) -> None:
    """`%load_ext kata.loop.notebook`: the %kata and %%kata magics, for the kata in the
    kernel's folder."""
    from IPython.core.magic import register_cell_magic, register_line_magic

    kata = Notebook(Path.cwd())

    @register_cell_magic("kata")
    def kata_cell(line, cell):
        found = MAGIC.match(f"%%kata {line}".strip())
        if not found or found.group(1) not in MODULE_KEYS:
            print(f"the first line of a step's cell is `%%kata step N`, N from 1 to {len(STEPS)}")
            return
        step = int(found.group(1))
        path, backup = kata.save(step, cell)
        if backup:
            print(f"{path.relative_to(kata.root)} had changes this notebook did not make: "
                  f"they are kept in {backup.relative_to(kata.root)}")
        print(f"saved to {path.relative_to(kata.root)}; {step_label(step)}'s tests:")
        kata.test(str(step))

    @register_line_magic("kata")
    def kata_line(line):
        kata.command(line)

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"the kata in {kata.root}; your steps can compute on {device}")
