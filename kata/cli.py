"""`kata`: every command of the kata, on any system (`python -m kata` does the same).

    kata test 3          the learner's loop: step 3's tests, then the board
    kata --help          every command; `kata COMMAND --help` for one

Each command is a module's `main(argv)`, listed in COMMANDS by role; the Makefile's targets
call these commands, so `make test STEP=3` and `kata test 3` are the same run. Commands run
in the kata's folder: the nearest folder above the current one that holds grading.toml and
conftest.py (or the folder of the installed kata). A relative path typed in a command still
means a place below the folder it was typed in (kata/paths.py).
"""

import importlib
import os
import sys
from pathlib import Path

from kata.paths import typed_in
from kata.startup import collector_paused, exit_without_teardown

# name -> (module, function, what it does), by role.
COMMANDS = {
    "the learner's loop": {
        "test": ("kata.loop.suite", "test_main",
                 "run your steps' tests (all, or one), then the board"),
        "hint": ("kata.loop.hints", "main", "one more hint for a step each time you ask"),
        "watch": ("kata.loop.watch", "main", "re-run the current step's tests at every save"),
        "reset": ("kata.loop.workspace", "reset_main",
                  "put a step's stubs back (your version goes to a backup)"),
        "solution": ("kata.loop.workspace", "solution_main",
                     "once a step is done: the reference beside your code"),
        "notebook": ("kata.loop.notebook", "build_main",
                     "write the notebook of the steps (Jupyter, Colab)"),
        "data": ("kata.data", "main", "download MNIST (into $MNIST_ROOT or data/)"),
        "demo": ("kata.demo.run", "main", "train a package's steps on MNIST, test them, plot"),
        "draw": ("kata.loop.draw", "main",
                 "draw digits and watch your network read them (step 9, after the demo)"),
    },
    "grading": {
        "grade": ("kata.grading.grade", "main",
                  "grade a package, a folder or a notebook into reports/"),
        "gradescope": ("kata.grading.gradescope", "main", "build or run the Gradescope bundle"),
        "classroom50": ("kata.grading.classroom50", "main",
                        "build or run the Classroom 50 autograder"),
        "class": ("kata.gradebook.run", "main",
                  "grade a class (or read a platform's export): gradebook and report"),
        "handout": ("kata.grading.handout", "main", "copy the kata for learners, no solutions"),
        "manifest": ("kata.grading.manifest", "main", "write or check grading.sha256"),
    },
    "the instructor's proofs": {
        "check": ("kata.loop.suite", "check_main",
                  "ruff, the manifest, the tooling's tests, the reference done, the stubs todo"),
        "verify": ("kata.proofs.verify", "main", "mistakes caught, orders agree, cheats stopped"),
        "mutants": ("kata.proofs.mutants", "main", "plant each learner mistake, see it caught"),
        "attacks": ("kata.proofs.attacks", "main", "grade every dishonest submission"),
        "class-proof": ("kata.proofs.classes", "main",
                        "a class with planted mistakes: its report ranks exactly those"),
        "flaky": ("kata.proofs.flaky", "main", "the whole suite under many seeds"),
        "calibrate": ("kata.proofs.calibrate", "main", "the capstone's accuracy over seeds"),
        "bench": ("kata.proofs.bench", "main", "the demo against pytorch/examples, timed"),
        "steptime": ("kata.proofs.steptime", "main",
                     "one training step of the demo, timed layer by layer"),
    },
}
# Commands that end the process without Python's teardown (kata/startup.py), run from a shell:
# the demo, whose run is timed from launch to exit.
ENDS_AT_ONCE = {"demo"}
ALL = {name: entry for commands in COMMANDS.values() for name, entry in commands.items()}
# Packages outside the learner's install, by the extra of pyproject.toml that brings them.
EXTRA_OF = {"IPython": "notebook", "ipykernel": "notebook", "nbformat": "notebook",
            **dict.fromkeys(("yaml", "jsonschema", "nbclient", "nbconvert", "playwright",
                             "xdist", "junitparser", "filelock", "ruff"), "dev")}


def kata_root() -> Path:
    """The folder of the kata: the nearest one holding grading.toml and conftest.py."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "grading.toml").is_file() and (folder / "conftest.py").is_file():
            return folder
    return Path(__file__).resolve().parents[1]


def usage() -> str:
    lines = ["usage: kata COMMAND [arguments]   (kata COMMAND --help for one)", ""]
    for role, commands in COMMANDS.items():
        lines.append(f"{role}:")
        lines += [f"  {name:<12} {entry[2]}" for name, entry in commands.items()]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in ALL:
        print(f"kata: no command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, function, _ = ALL[name]
    typed_here = Path.cwd()  # the relative paths in the command mean places below it
    os.chdir(kata_root())
    sys.path.insert(0, os.getcwd())  # the kata's own packages: exercises, solutions
    try:
        with collector_paused():  # a command's libraries (torch) live as long as it runs
            module = importlib.import_module(module_name)
        sys.argv[0] = f"kata {name}"  # argparse's usage lines name the command as typed
        with typed_in(typed_here):
            code = getattr(module, function)(rest)
    except ModuleNotFoundError as error:
        top = (error.name or "").split(".")[0]
        if top in ("solutions", "kata") and not Path("solutions").exists():
            print(f"kata {name}: not in a handout (it needs the solutions and the instructor's "
                  "tools, which a handout leaves out)", file=sys.stderr)
            return 2
        if top in EXTRA_OF:
            extra = EXTRA_OF[top]
            print(f"kata {name}: needs the {extra} install ({top} is missing): "
                  f"pip install -e \".[{extra}]\", or make install ROLE={extra}",
                  file=sys.stderr)
            return 2
        raise
    return int(code or 0)


def entry() -> None:
    """The `kata` command and `python -m kata`: main(), then the process's end."""
    code = main()
    if sys.argv[1:2] and sys.argv[1] in ENDS_AT_ONCE:
        exit_without_teardown(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
