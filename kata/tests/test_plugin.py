"""The kata's own pytest conventions: todo reporting, the progress board, --step and --expect.

Each test runs pytest inside pytest (pytester) on a throw-away package and test files, with
the project's conftest.py, so these checks do not depend on exercises/ or solutions/.
"""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).resolve().parents[2] / "conftest.py").read_text()

TODO_STUB = """from kata import KataTodo

def answer():
    raise KataTodo("Step {n}: write answer")
"""
WRITTEN = "def answer():\n    return 42\n"
WRONG = "def answer():\n    return 41\n"
STEP_TEST = """
def test_answer(step{n}):
    assert step{n}.answer() == 42, "answer() should be 42"
"""
MODULES = ["step1_libraries", "step2_dataset", "step3_network", "step4_setup", "step5_training",
           "step6_single_prediction", "step7_batch_prediction", "step8_visualization"]


@pytest.fixture
def kata_run(pytester):
    """Lay out a package `fake` whose step modules are given, with one test per step."""

    def run(bodies: dict[int, str], *args):
        pytester.makeconftest(CONFTEST)
        package = pytester.mkpydir("fake")
        for number, module in enumerate(MODULES, start=1):
            body = bodies.get(number, TODO_STUB).format(n=number)
            (package / f"{module}.py").write_text(body)
            pytester.makepyfile(**{f"test_{module}": STEP_TEST.format(n=number)})
        pytester.syspathinsert()
        return pytester.runpytest_inprocess("--impl", "fake", "-p", "no:cacheprovider", *args)

    return run


def test_a_stub_counts_as_todo_not_as_a_failure(kata_run):
    result = kata_run({})
    assert result.ret == 0
    result.stdout.fnmatch_lines(["step 1 *todo*0/1*Importing libraries", "*8 todo*"])
    assert "failed" not in result.stdout.str()


def test_the_board_shows_done_failing_and_todo(kata_run):
    result = kata_run({1: WRITTEN, 2: WRONG})
    result.stdout.fnmatch_lines([
        "step 1 *done*1/1*",
        "step 2 *failing*0/1*",
        "step 3 *todo*0/1*",
    ])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_expect_todo_holds_for_untouched_stubs(kata_run):
    result = kata_run({}, "--expect", "todo")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["expectation --expect todo: met"])


def test_expect_todo_fails_when_a_step_is_already_done(kata_run):
    """A stub left solved by accident in exercises/ must not go unnoticed."""
    result = kata_run({4: WRITTEN}, "--expect", "todo")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*NOT MET*", "*step 4 is done, but an untouched stub must be todo*"])


def test_expect_done_fails_when_a_test_reaches_a_stub(kata_run):
    """A reference with a stub left in it must not pass as complete."""
    bodies = {number: WRITTEN for number in range(1, 9)} | {6: TODO_STUB}
    result = kata_run(bodies, "--expect", "done")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*step 6: 1 test(s) reached a stub (KataTodo)*"])


def test_expect_done_holds_when_every_step_passes(kata_run):
    result = kata_run({number: WRITTEN for number in range(1, 9)}, "--expect", "done")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["expectation --expect done: met", "*8 passed*"])


def test_step_option_runs_one_step_only(kata_run):
    result = kata_run({3: WRITTEN}, "--step", "3")
    result.assert_outcomes(passed=1)  # the other steps' files are not even collected
    result.stdout.fnmatch_lines(["collected 1 item"])


def test_step_option_rejects_an_unknown_step(kata_run):
    result = kata_run({}, "--step", "10")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--step 10: choose one of 1, 2, 3, 4, 5, 6, 7, 8, capstone, 9*"])


def test_an_impl_that_cannot_be_imported_stops_the_run_with_a_clear_message(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_step1_libraries=STEP_TEST.format(n=1))
    result = pytester.runpytest_inprocess("--impl", "no_such_package", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*--impl no_such_package: cannot import the package*"])


COLLECTOR_PROBE = """
import gc

def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"collector on at the end: {gc.isenabled()}")
"""
COLLECTOR_TEST = """
import gc

def test_the_collector_runs(step1):
    assert gc.isenabled(), "the garbage collector is still paused while the tests run"
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_the_collector_paused_for_the_imports_runs_again_for_the_tests(pytester, workers):
    """Catches: conftest.py leaving the garbage collector paused (it pauses it from its first
    line, for the imports) once the tests are collected, in the run or in pytest-xdist's
    controller, which collects nothing: cyclic garbage, the tests' and the learner's, would
    never be freed."""
    pytester.makeconftest(CONFTEST)
    pytester.mkpydir("fake")
    (pytester.path / "fake" / "step1_libraries.py").write_text(WRITTEN)
    pytester.makepyfile(collector_probe=COLLECTOR_PROBE, test_step1_libraries=COLLECTOR_TEST)
    result = pytester.runpytest_subprocess("--impl", "fake", "-p", "no:cacheprovider",
                                           "-p", "collector_probe", "--step", "1", *workers)
    result.stdout.fnmatch_lines(["*1 passed*"])
    result.stdout.fnmatch_lines(["collector on at the end: True"])
