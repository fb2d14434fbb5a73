"""The grader's plugin inside the test run (`-p kata.grading.child`), where learner code runs.

Nothing here decides a grade: it sends the grader what happened, through the channel
(kata/grading/channel.py) whose writing end the grader handed over, and the grader checks it.

- the tests collected, and each test's outcome, message and time as soon as it ends;
- for the grader's own checks (tests/grader_checks.py), the outputs of the learner's code on
  the inputs the grader chose (its file, --grade-inputs): the grader judges those itself;
- what changed in pytest's and the kata's machinery since before the learner's code was first
  imported (kata/grading/integrity.py), after every test and at the end.

It also keeps the run within its time budget: a test that would outlast the budget gets only
what is left, and once the budget is spent every remaining test fails at once with
TIME_LIMIT_MESSAGE. A deselected test is reported as not run, with DESELECTED_MESSAGE.
"""

import json
import time

import pytest

from kata.grading import channel, integrity
from kata.grading.checks import evidence_of, raise_again
from kata.loop.progress import DONE, NOT_RUN, RANK, message_of, outcome_of, test_doc

TIME_LIMIT_MESSAGE = "not run: grading time limit reached"
DESELECTED_MESSAGE = "not run: deselected"

# The running grading session, for the grader's checks (kata.grading.checks); None outside.
SESSION = None


def pytest_addoption(parser):
    group = parser.getgroup("kata grading")
    group.addoption("--grade-channel-fd", type=int, help="the file descriptor to report to")
    group.addoption("--grade-inputs", help="the grader's inputs for its checks (JSON)")
    group.addoption("--grade-time-limit", type=float, help="seconds for the whole run")


def pytest_configure(config):
    global SESSION
    fd = config.getoption("--grade-channel-fd")
    if fd is None or hasattr(config, "workerinput"):
        return
    inputs = config.getoption("--grade-inputs")
    SESSION = GradingSession(channel.Writer(fd), inputs)
    config.pluginmanager.register(
        Recorder(SESSION, config.getoption("--grade-time-limit"), config), "kata-grade")


class GradingSession:
    """The run's side of grading: the grader's inputs, and what it is sent back."""

    def __init__(self, writer: channel.Writer, inputs_path: str | None):
        self.writer = writer
        self.inputs = {}
        if inputs_path:
            with open(inputs_path) as file:
                self.inputs = channel.decode(json.load(file))
        self.evidence: dict[str, dict] = {}

    def act(self, case, impl, context) -> None:
        """Run a check's act on the grader's inputs once, send its outputs, and pass."""
        check = case.check
        if check.name not in self.evidence:
            public = self.inputs.get(check.name)
            evidence = evidence_of(lambda: check.act(impl, public, context))
            self.evidence[check.name] = evidence
            sent = {key: value for key, value in evidence.items() if key != "exception"}
            try:
                self.writer.send(kind="evidence", check=check.name, **sent)
            except TypeError as error:  # outputs that plain data cannot hold: the check fails
                problem = AssertionError(f"the outputs could not be sent to the grader: {error}")
                evidence = self.evidence[check.name] = {
                    "error": str(problem), "exception": (problem, None)}
                self.writer.send(kind="evidence", check=check.name, error=evidence["error"])
        raise_again(self.evidence[check.name])


def own_timeout(item) -> float | None:
    """The item's own time limit: its timeout marker, else pytest-timeout's setting."""
    marker = item.get_closest_marker("timeout")
    if marker and marker.args:
        return float(marker.args[0])
    configured = item.config.getoption("timeout", None) or item.config.getini("timeout")
    return float(configured) if configured else None


class Recorder:
    def __init__(self, session: GradingSession, time_limit: float | None, config):
        self.session = session
        self.send = session.writer.send
        self.time_limit = time_limit
        self.deadline = None
        self.config = config
        self.deselected = []
        self.machinery: dict | None = None
        # Per test, until its teardown: its worst phase's outcome and message, and its time.
        self.outcomes: dict[str, str] = {}
        self.messages: dict[str, str] = {}
        self.observed: dict[str, dict] = {}  # what a failing test observed (the diagnosis)
        self.durations: dict[str, float] = {}

    def pytest_sessionstart(self, session):
        if self.time_limit:
            self.deadline = time.monotonic() + self.time_limit

    def pytest_deselected(self, items):
        self.deselected += items

    def pytest_collection_finish(self, session):
        self.send(kind="collected", tests=[
            {"nodeid": item.nodeid, "doc": test_doc(item)}
            for item in [*session.items, *self.deselected]])
        for item in self.deselected:
            self.send(kind="test", nodeid=item.nodeid, outcome=NOT_RUN,
                      message=DESELECTED_MESSAGE, duration=0.0, machinery=[])
        # No learner module has been imported yet: the tests import them when they run.
        self.tests_folder = str(session.config.rootpath / "tests")
        self.machinery = integrity.snapshot(session.config.pluginmanager, self.tests_folder)

    def machinery_changes(self) -> list[str]:
        if self.machinery is None:
            return []
        return integrity.changes(self.machinery, integrity.snapshot(
            self.config.pluginmanager, self.tests_folder))

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        # Before pytest-timeout reads the limit: never let one test outlast the run's budget.
        left, own = self.remaining(), own_timeout(item)
        if left is not None and left > 0 and (own is None or left < own):
            item.add_marker(pytest.mark.timeout(max(left, 1.0)))
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        left = self.remaining()
        if left is not None and left <= 0:
            pytest.fail(TIME_LIMIT_MESSAGE, pytrace=False)

    def pytest_runtest_logreport(self, report):
        nodeid = report.nodeid
        self.durations[nodeid] = self.durations.get(nodeid, 0) + report.duration
        outcome = outcome_of(report)
        # A test is as bad as its worst phase (setup, call or teardown), and says why.
        if outcome is not None and \
                RANK.index(outcome) >= RANK.index(self.outcomes.get(nodeid, NOT_RUN)):
            self.outcomes[nodeid] = outcome
            self.messages[nodeid] = "" if outcome == DONE else message_of(report)
            self.observed[nodeid] = getattr(report, "kata_evidence", {})
        if report.when == "teardown":
            self.send(kind="test", nodeid=nodeid, outcome=self.outcomes.pop(nodeid, DONE),
                      message=self.messages.pop(nodeid, ""),
                      observed=self.observed.pop(nodeid, {}),
                      duration=round(self.durations.pop(nodeid), 3),
                      machinery=self.machinery_changes())

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        self.send(kind="end", machinery=self.machinery_changes())
