"""`kata test` and `kata check`: the suite's runs, as the Makefile's `make test` and
`make check` (which call these).

    kata test            every step's tests against exercises/, quietly, then the board
    kata test 3 -x       step 3 only; pytest's own options go through
    kata check           ruff, grading.sha256, the tooling's tests, solutions/ all done,
                         exercises/ all todo (the parts a handout has)

Each run is a pytest in a process of its own, as in a terminal. In a terminal, `kata test`
leaves a warm server behind (kata/loop/server.py): the next runs are forked from it and skip
the imports, a few seconds each.
"""

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

from kata.loop import server

QUIET = ["-q", "--tb=no", "-rN"]  # the board says what to do next
VERBOSE = ["-v", "--tb=short"]


def pytest(*args: str, env: dict | None = None) -> int:
    return subprocess.run([sys.executable, "-m", "pytest", *args],
                          env=os.environ | (env or {})).returncode


def test_main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kata test", description="Run the tests of your steps, then show the board. "
        "Other arguments go to pytest (e.g. -x, --device cpu).")
    parser.add_argument("step", nargs="?", help="1..9, capstone, or current (default: all)")
    parser.add_argument("--impl", help="the package under test (default: $KATA_IMPL or "
                        "exercises)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="pytest's full output: every test's name and the tracebacks")
    args, pytest_args = parser.parse_known_args(argv)
    run = [*(["--impl", args.impl] if args.impl else []),
           *(["--step", args.step] if args.step else []),
           *(VERBOSE if args.verbose else QUIET), *pytest_args]
    code = server.run(run)
    if code is not None:
        return code
    code = pytest(*run)
    if server.wanted():
        server.start()
        print(f"kata test: the next runs start warm: a process in the background keeps torch "
              f"and the other libraries imported for {server.IDLE_S / 60:.0f} minutes "
              "(KATA_WARM=0 turns it off)", file=sys.stderr)
    return code


def quick_checks_pass() -> bool:
    """The notebook is what the exercises make; every link of README.md and docs/ resolves."""
    from kata.docs import page_problems
    from kata.grading.handout import kata_files
    from kata.loop.notebook import drift

    passed = True
    for label, problems in (("the notebook", drift(Path("."))),
                            ("the pages' links", page_problems(Path("."), kata_files(Path("."))))):
        print(f"kata check: {label}: {'; '.join(problems) or 'all good'}", flush=True)
        passed = passed and not problems
    return passed


def check_main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kata check", description="Prove the kata is sound: ruff is clean, grading.sha256 "
        "is current, the tooling passes its tests, solutions/ passes every test and "
        "exercises/ reaches a stub in every step. Other arguments go to each pytest run.")
    _, pytest_args = parser.parse_known_args(argv)
    if Path("kata/tests").is_dir():  # the kata's own proofs: the development install
        for module in ("ruff", "xdist", "nbclient", "jsonschema", "yaml", "playwright"):
            importlib.import_module(module)  # kata.cli names the install that brings it
    runs = [("manifest", [sys.executable, "-m", "kata", "manifest", "--check"], {})]
    # The kata's own code is linted where its developers work: a handout has neither ruff
    # (the learner's install) nor kata/tests. kata/tests starts many child runs: two workers
    # halve its time, with one torch thread each so that they do not fight over two cores.
    if Path("kata/tests").is_dir():
        runs.insert(0, ("ruff", [sys.executable, "-m", "ruff", "check", "."], {}))
        runs.append(("the tooling's tests", [sys.executable, "-m", "pytest", "kata/tests",
                                             "--quiet", "-n", "2", *pytest_args],
                     {"OMP_NUM_THREADS": "1"}))
    if Path("solutions").is_dir():
        runs.append(("the reference", [sys.executable, "-m", "pytest", "--impl", "solutions",
                                       "--expect", "done", *pytest_args], {}))
    runs.append(("the stubs", [sys.executable, "-m", "pytest", "--impl", "exercises",
                               "--expect", "todo", "--quiet", *pytest_args], {}))
    for label, command, env in runs:
        print(f"kata check: {label}: {' '.join(command[1:])}", flush=True)
        code = subprocess.run(command, env=os.environ | env).returncode
        if code != 0:
            print(f"kata check: FAILED at {label}", file=sys.stderr)
            return code
        if label == "manifest" and not quick_checks_pass():
            return 1
    print("kata check: passed")
    return 0
