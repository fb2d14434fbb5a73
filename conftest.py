"""The kata's switches and conventions for every test.

Switches (see the README):
  --impl NAME / KATA_IMPL        the package under test (default: exercises)
  --device D  / KATA_DEVICE      auto, cpu, cuda, cuda:N or mps (default: auto)
  MNIST_ROOT                     where the real MNIST lives (default: data)
  --require-data                 missing real MNIST fails instead of skipping (also under CI)
  --step N                       run only step N's tests (1..9, capstone, or current: the
                                 first step not done in the last run; `make watch` uses it)
  --expect done|todo             fail unless every step is done / every stub is still todo

A test that reaches a KataTodo stub is reported as todo, not as failed. After the run, the
board shows each step's status and points (grading.toml), what changed since the last run
(.kata/progress.json), and the next step to work on with its first hint.
"""

import importlib
import importlib.util
import json
import os
import random
import sys
from pathlib import Path

from kata.startup import pause_collector, resume_collector

# What is imported and collected from here on (torch, the tests, the learner's modules) lives
# to the end of the run: loaded without the garbage collector, which pytest_collection
# turns back on (kata/startup.py). A cold `kata test 4` took 3.0 s instead of 3.4 s here.
# ruff: noqa: E402 (the imports below come after this call on purpose)
pause_collector()

# No windows during tests, and the same output on every machine. Set for when a test first
# imports matplotlib: importing it here would slow every run, drawing or not, by 0.3 s.
if "matplotlib" in sys.modules:  # a notebook's kernel, say
    sys.modules["matplotlib"].use("Agg")
else:
    os.environ["MPLBACKEND"] = "Agg"

import pytest
import torch
from hypothesis import Phase, settings

from kata import KataTodo, data
from kata.config import CONFIG_NAME, load_config
from kata.device import resolve_device
from kata.loop.hints import first_hint
from kata.loop.progress import (
    DONE,
    HISTORY_NAME,
    STATE_DIR_NAME,
    STEP_KEYS,
    TODO,
    Progress,
    current_step,
    history_line,
    load_history,
    next_step_lines,
    save_history,
    short_message,
    test_doc,
    wrapped,
)
from kata.steps import ORDER, STEPS, load_step, step_of_test_file
from kata.testing import OBSERVED, crash_facts

# KATA_SEED changes every test's seed at once: `make flaky` runs the suite under many seeds.
TEST_SEED = int(os.environ.get("KATA_SEED", "0"))

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
    group.addoption("--step", help="run only one step's tests: 1..9, capstone, or current "
                    "(the first step not done in the last run)")
    group.addoption("--expect", choices=(DONE, TODO),
                    help="fail the run unless every step is done, or every step is still todo")
    group.addoption("--board-json", help="also write the board to this file, as JSON (the "
                    "notebook draws it)")


device_key = pytest.StashKey[torch.device]()


def history_file(config) -> Path:
    return config.rootpath / STATE_DIR_NAME / HISTORY_NAME


def pytest_configure(config):
    try:  # a wrong --device stops the run at once, instead of erroring in every test
        config.stash[device_key] = resolve_device(config.getoption("--device"))
    except ValueError as error:
        raise pytest.UsageError(f"--device: {error}") from error
    if config.getoption("--step") == "current":
        history = load_history(history_file(config), config.getoption("--impl"))
        config.option.step = current_step(history)
    if not hasattr(config, "workerinput"):  # under xdist, only the controller sees every test
        config.pluginmanager.register(ProgressReporter(config), "kata-progress")


def pytest_report_header(config):
    if config.getoption("--step"):
        return f"kata: step {config.getoption('--step')} of {config.getoption('--impl')}"
    return None


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


step1, step2, step3, step4, step5, step6, step7, step8, step9 = (
    step_fixture(step.number) for step in STEPS)


# ---------------------------------------------------------------- device, seeds, figures, data


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    return request.config.stash[device_key]


@pytest.fixture(scope="session")
def test_seed() -> int:
    """The seed of every test: 0, or KATA_SEED."""
    return TEST_SEED


@pytest.fixture(autouse=True)
def seed_everything(test_seed):
    """Every test starts from the same random state, so its result never depends on order."""
    random.seed(test_seed)
    torch.manual_seed(test_seed)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:  # pyplot keeps every figure open until closed
        sys.modules["matplotlib.pyplot"].close("all")


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
    """Steps in the tutorial's order, then the capstone, then the bonus, then anything else."""
    step = step_of_test_file(item.path.name)
    return ORDER.index(step) if step is not None else len(ORDER)


def pytest_ignore_collect(collection_path, config):
    """With --step N, the other steps' test files are not even imported: a one-step run
    then imports only what its own tests use."""
    wanted = config.getoption("--step")
    step = step_of_test_file(collection_path.name)
    if wanted in STEP_KEYS and step is not None and str(step) != wanted:
        return True
    return None


@pytest.hookimpl(wrapper=True)
def pytest_collection(session):
    """Once the tests are collected (or the collection failed), turn the garbage collector
    back on, paused since this file was imported, and exempt what is loaded by now (torch,
    the tests' modules: alive until the end) from it: pytest collects five times at its end
    and Python once more at exit, and walking torch's objects took a second of each run. The
    tests' own garbage, made later, is collected as ever. Around the whole collection, not
    at its last hook: pytest-xdist's controller collects nothing and calls no other."""
    try:
        return (yield)
    finally:
        resume_collector()


def pytest_collection_modifyitems(config, items):
    # Steps in the tutorial's order, unless pytest-randomly (-p randomly, as in `make verify`)
    # has shuffled them to prove that no test depends on another.
    if not config.pluginmanager.hasplugin("randomly"):
        items.sort(key=run_order)  # stable: a file's tests keep their order
    wanted = config.getoption("--step")
    if wanted is None:
        return
    if wanted not in STEP_KEYS:
        raise pytest.UsageError(f"--step {wanted}: choose one of {', '.join(STEP_KEYS)}")
    selected, deselected = [], []
    for item in items:
        (selected if str(step_of_test_file(item.path.name)) == wanted else deselected).append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected


class ReachedStub(pytest.skip.Exception):
    """A KataTodo turned into a skip where it is raised, so that pytest reports it without
    formatting its traceback (which took most of a run of the untouched exercises)."""


def stub_reached_as_skip():
    try:
        return (yield)
    except KataTodo as error:
        raise ReachedStub(str(error)) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    OBSERVED.clear()  # what the last test observed is not evidence about this one
    return (yield from stub_reached_as_skip())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from stub_reached_as_skip())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance((KataTodo, ReachedStub)):
        # Reaching a stub is not a failure: the learner has not written that part yet.
        message = str(call.excinfo.value.msg if call.excinfo.errisinstance(ReachedStub)
                      else call.excinfo.value)
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] + 1, message)
        report.kata_todo = True
        report.kata_message = message
    elif report.failed and call.excinfo is not None:
        # The board and the grade show these two lines instead of the whole traceback.
        report.kata_doc = test_doc(item)
        report.kata_message = short_message(call.excinfo.exconly())
        report.kata_evidence = evidence_of(call.excinfo.value)
    return report


def evidence_of(error: BaseException) -> dict:
    """What a failing test observed (kata.testing.observe) and, when it crashed instead of
    failing an assertion, the crash: the board's diagnosis reads these (kata/loop/diagnoses)."""
    evidence = dict(OBSERVED)
    if not isinstance(error, (AssertionError, pytest.fail.Exception)) and "crash" not in evidence:
        evidence.update(crash_facts(error))
    return evidence


def pytest_report_teststatus(report, config):
    if getattr(report, "kata_todo", False):
        return "todo", "T", ("TODO", {"yellow": True})
    return None


def absent_bonus(package: str) -> tuple[str, ...]:
    """The bonus steps `package` has no module for (an instructor's package of the eight)."""
    return tuple(str(step.number) for step in STEPS if step.bonus
                 and importlib.util.find_spec(f"{package}.{step.module}") is None)


class ProgressReporter:
    """Records each test's outcome per step, prints the board and checks --expect."""

    def __init__(self, config):
        self.expect = config.getoption("--expect")
        self.package = config.getoption("--impl")
        self.history_file = history_file(config)
        config_file = config.rootpath / CONFIG_NAME
        self.grading = load_config(config.rootpath) if config_file.exists() else None
        self.progress = Progress()
        self.problems: list[str] = []
        self.history: str | None = None
        self.root = config.rootpath
        self.pictures: list[Path] = []

    def explain(self, key: str) -> list[str]:
        """The shape trace and the pictures of the failing step to work on."""
        from kata.loop.feedback import explain

        lines, self.pictures = explain(key, self.package, self.root)
        return lines

    def pytest_runtest_logreport(self, report):
        self.progress.record(report)

    def pytest_sessionfinish(self, session):
        if self.expect and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.problems = self.progress.unmet_expectation(self.expect,
                                                            absent_bonus(self.package))
            if self.problems:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        # A learner's history: --expect runs are soundness checks, not the learner's progress.
        statuses = self.progress.statuses()
        if statuses and not self.expect and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            before = load_history(self.history_file, self.package)
            self.history = history_line(before, before | statuses)
            save_history(self.history_file, self.package, statuses)

    def pytest_terminal_summary(self, terminalreporter, config):
        board = self.progress.board(self.grading)
        if not board:
            return
        terminalreporter.ensure_newline()  # else the first line after the section is blank
        terminalreporter.section("kata progress")
        for line in board:
            terminalreporter.write_line(line)
        if self.history:
            terminalreporter.write_line(self.history)
        following = [] if self.expect else next_step_lines(self.progress, self.package,
                                                            first_hint, self.explain)
        if self.expect:
            verdict = "NOT MET" if self.problems else "met"
            terminalreporter.write_line(f"expectation --expect {self.expect}: {verdict}")
            for problem in self.problems:
                terminalreporter.write_line(f"  - {problem}", red=True)
        else:
            for line in wrapped(following, terminalreporter._tw.fullwidth - 1):
                terminalreporter.write_line(line)
        if config.getoption("--board-json"):
            rows, total = self.progress.summary(self.grading)
            Path(config.getoption("--board-json")).write_text(json.dumps(
                {"rows": rows, "total": total, "history": self.history, "next": following,
                 "package": self.package, "diagnoses": self.progress.diagnoses(),
                 "pictures": [str(path) for path in self.pictures]}))
