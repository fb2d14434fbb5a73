"""`kata reset STEP` and `kata solution STEP`: start a step again, or read the reference.

    kata reset 3       exercises/step3_network.py back to its stubs; your version is kept in
                       .kata/backups/ (the command names the file)
    kata solution 3    once step 3 is done: the reference beside your code, where solutions/
                       exists (a handout has none, and says so)

The stubs come from git: the newest version of the file in the history in which every
function still raises KataTodo (the template's first commit has them all).
"""

import argparse
import ast
import difflib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kata.loop.progress import DONE, HISTORY_NAME, MODULE_KEYS, STATE_DIR_NAME, load_history
from kata.steps import STEPS


def step_file(package: str, step: str) -> Path:
    return Path(package) / f"{STEPS[int(step) - 1].module}.py"


def is_stub(source: str) -> bool:
    """Whether every function and method of a module raises KataTodo: an untouched exercise."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]

    def raises_todo(function) -> bool:
        return any(isinstance(node, ast.Raise) and "KataTodo" in ast.unparse(node)
                   for node in ast.walk(function))

    return bool(functions) and all(raises_todo(function) for function in functions)


def stub_from_git(path: Path) -> str | None:
    """The newest version of `path` in git's history that is still all stubs, if any."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True).stdout

    if shutil.which("git") is None:
        return None
    for commit in git("log", "--format=%H", "--", str(path)).split():
        source = git("show", f"{commit}:{path.as_posix()}")
        if is_stub(source):
            return source
    return None


def step_argument(parser: argparse.ArgumentParser, argv) -> str:
    parser.add_argument("step", choices=MODULE_KEYS, help="1..9")
    return parser.parse_args(argv).step


def back_up(path: Path, root: Path = Path(".")) -> Path:
    """Keep a copy of a step file in the kata's .kata/backups/, named by the file and the
    time; the copy's path."""
    folder = Path(root) / STATE_DIR_NAME / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, count = folder / f"{path.stem}-{stamp}.py", 1
    while backup.exists():  # two in the same second
        count += 1
        backup = folder / f"{path.stem}-{stamp}-{count}.py"
    shutil.copyfile(path, backup)
    return backup


def reset_main(argv=None) -> int:
    step = step_argument(argparse.ArgumentParser(
        prog="kata reset", description="Put a step's stubs back; your version goes to a "
        "backup in .kata/backups/."), argv)
    path = step_file("exercises", step)
    stub = stub_from_git(path)
    if stub is None:
        print(f"kata reset: no version of {path} with its stubs in git's history here; get the "
              "file from the kata's template repository", file=sys.stderr)
        return 1
    if path.exists() and path.read_text() == stub:
        print(f"{path} already holds its stubs")
        return 0
    backup = back_up(path) if path.exists() else None
    path.write_text(stub)
    print(f"{path} holds its stubs again" + (f"; your version is in {backup}" if backup else ""))
    return 0


def side_by_side(left: list[str], right: list[str], width: int, titles: tuple[str, str]
                 ) -> list[str]:
    """Two sources in two columns, lines that match side by side, a "|" where they differ."""
    column = max((width - 3) // 2, 20)

    def cell(text: str) -> str:
        text = text.rstrip("\n").replace("\t", "    ")
        return (text if len(text) <= column else text[:column - 1] + "~").ljust(column)

    rows = [f"{cell(titles[0])} | {cell(titles[1])}", f"{'-' * column}-+-{'-' * column}"]
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(max(i2 - i1, j2 - j1)):
            a = left[i1 + offset] if i1 + offset < i2 else ""
            b = right[j1 + offset] if j1 + offset < j2 else ""
            rows.append(f"{cell(a)} {' ' if tag == 'equal' else '|'} {cell(b)}".rstrip())
    return rows


def solution_main(argv=None) -> int:
    step = step_argument(argparse.ArgumentParser(
        prog="kata solution", description="Once a step is done, show the reference beside "
        "your code."), argv)
    if not Path("solutions").is_dir():
        print("kata solution: there is no solutions/ here (a handout leaves the reference out)")
        return 1
    status = load_history(Path(STATE_DIR_NAME) / HISTORY_NAME, "exercises").get(step, "todo")
    if status != DONE:
        print(f"kata solution: step {step} is {status} in your last run; the reference shows "
              f"once its tests pass (`kata test {step}`)")
        return 1
    mine, reference = step_file("exercises", step), step_file("solutions", step)
    width = shutil.get_terminal_size((120, 40)).columns
    for line in side_by_side(mine.read_text().splitlines(), reference.read_text().splitlines(),
                             width, (f"yours: {mine}", f"the reference: {reference}")):
        print(line)
    return 0
