"""The kata's switches and conventions for every test.

Switches (see the README):
  --impl NAME / KATA_IMPL        the package under test (default: exercises)
  --device D  / KATA_DEVICE      auto, cpu, cuda, cuda:N or mps (default: auto)
  MNIST_ROOT                     where the real MNIST lives (default: data)
  --require-data                 missing real MNIST fails instead of skipping (also under CI)
  --step N                       run only step N's tests (1..8 or capstone)
  --expect done|todo             fail unless every step is done / every stub is still todo

A test that reaches a KataTodo stub is reported as todo, not as failed.
"""

import importlib
import os
import random
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no windows during tests, and the same output on every machine

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import Phase, settings

from kata import KataTodo, data
from kata.device import resolve_device
from kata.progress import DONE, TODO, Progress
from kata.steps import CAPSTONE, STEPS, load_step, step_of_test_file

TEST_SEED = 0

# "dev" keeps the learner's loop fast; "ci" is thorough and the same on every run. Neither
# has a deadline (pytest-timeout stops a hang, and a first CUDA call is slow) nor runs the
# "explain" phase (re-running a failing example costs seconds when a model is slow).
QUICK_PHASES = tuple(phase for phase in Phase if phase is not Phase.explain)
settings.register_profile("dev", max_examples=15, deadline=None, phases=QUICK_PHASES)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          phases=QUICK_PHASES)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_addoption(parser):
    group = parser.getgroup("kata")
    group.addoption("--impl", default=os.environ.get("KATA_IMPL", "exercises"),
                    help="package holding the eight step modules (default: exercises)")
    group.addoption("--device", default=os.environ.get("KATA_DEVICE", "auto"),
                    help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    group.addoption("--require-data", action="store_true",
                    help="fail, instead of skip, the tests that need the real MNIST when missing")
    group.addoption("--step", help="run only one step's tests: 1..8 or capstone")
    group.addoption("--expect", choices=(DONE, TODO),
                    help="fail the run unless every step is done, or every step is still todo")


device_key = pytest.StashKey[torch.device]()


def pytest_configure(config):
    try:  # a wrong --device stops the run at once, instead of erroring in every test
        config.stash[device_key] = resolve_device(config.getoption("--device"))
    except ValueError as error:
        raise pytest.UsageError(f"--device: {error}") from error
    if not hasattr(config, "workerinput"):  # under xdist, only the controller sees every test
        config.pluginmanager.register(ProgressReporter(config.getoption("--expect")),
                                      "kata-progress")


# ---------------------------------------------------------------- the implementation under test


class Implementation:
    """The package under test; its step modules are imported when a test first asks for them."""

    def __init__(self, name: str):
        self.name = name

    def step(self, number: int):
        return load_step(self.name, number)


@pytest.fixture(scope="session")
def impl(request) -> Implementation:
    name = request.config.getoption("--impl")
    try:
        importlib.import_module(name)
    except ImportError as error:
        pytest.exit(f"--impl {name}: cannot import the package ({error}); is it on PYTHONPATH?", 4)
    return Implementation(name)


def step_fixture(number: int):
    """A fixture `stepN`: the module of step N of the package under test."""

    @pytest.fixture(scope="session", name=f"step{number}")
    def step_module(impl):
        return impl.step(number)

    return step_module


step1, step2, step3, step4, step5, step6, step7, step8 = (step_fixture(n) for n in range(1, 9))


# ---------------------------------------------------------------- device, seeds, figures, data


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    return request.config.stash[device_key]


@pytest.fixture(autouse=True)
def seed_everything():
    """Every test starts from the same random state, so its result never depends on order."""
    random.seed(TEST_SEED)
    torch.manual_seed(TEST_SEED)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def mnist_root(request) -> Path:
    """The folder holding the real MNIST (MNIST_ROOT); skips, or fails under CI, when missing."""
    root = data.mnist_root(default=request.config.rootpath / "data")
    if data.missing_files(root):
        message = data.how_to_get(root)
        if os.environ.get("CI") or request.config.getoption("--require-data"):
            pytest.fail(message)
        pytest.skip(message)
    return root


# ---------------------------------------------------------------- steps, todo and the board


def run_order(item) -> int:
    """Steps in the tutorial's order, then the capstone, then anything else."""
    step = step_of_test_file(item.path.name)
    return step if isinstance(step, int) else len(STEPS) + (1 if step == CAPSTONE else 2)


def pytest_collection_modifyitems(config, items):
    items.sort(key=run_order)  # stable: a file's tests keep their order
    wanted = config.getoption("--step")
    if wanted is None:
        return
    valid = [str(step.number) for step in STEPS] + [CAPSTONE]
    if wanted not in valid:
        raise pytest.UsageError(f"--step {wanted}: choose one of {', '.join(valid)}")
    selected, deselected = [], []
    for item in items:
        (selected if str(step_of_test_file(item.path.name)) == wanted else deselected).append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(KataTodo):
        # Reaching a stub is not a failure: the learner has not written that part yet.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] + 1, str(call.excinfo.value))
        report.kata_todo = True
    return report


def pytest_report_teststatus(report, config):
    if getattr(report, "kata_todo", False):
        return "todo", "T", ("TODO", {"yellow": True})
    return None


class ProgressReporter:
    """Records each test's outcome per step, prints the board and checks --expect."""

    def __init__(self, expect: str | None):
        self.expect = expect
        self.progress = Progress()
        self.problems: list[str] = []

    def pytest_runtest_logreport(self, report):
        self.progress.record(report)

    def pytest_sessionfinish(self, session):
        if self.expect and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.problems = self.progress.unmet_expectation(self.expect)
            if self.problems:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        board = self.progress.board()
        if not board:
            return
        terminalreporter.section("kata progress")
        for line in board:
            terminalreporter.write_line(line)
        if self.expect:
            verdict = "NOT MET" if self.problems else "met"
            terminalreporter.write_line(f"expectation --expect {self.expect}: {verdict}")
            for problem in self.problems:
                terminalreporter.write_line(f"  - {problem}", red=True)
