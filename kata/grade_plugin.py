"""The pytest side of `make grade` (loaded with `-p kata.grade_plugin` by kata.grade).

It writes one JSON line per test as soon as the test ends, so the grade can be worked out even
when the run is killed, and it keeps the whole run within its time budget: a test that would
run past the budget gets only what is left, and once the budget is spent the remaining tests
fail at once with TIME_LIMIT_MESSAGE. A deselected test (`--step`, `-k`, `--deselect`) is
recorded as not run, with DESELECTED_MESSAGE: it still counts in its step's share of the
points, and scores 0, so leaving tests out can never raise a grade.
"""

import json
import time

import pytest

from .progress import (
    DONE,
    NOT_RUN,
    RANK,
    first_doc_line,
    message_of,
    outcome_of,
    step_of_nodeid,
)

TIME_LIMIT_MESSAGE = "not run: grading time limit reached"
DESELECTED_MESSAGE = "not run: deselected"


def pytest_addoption(parser):
    group = parser.getgroup("kata grading")
    group.addoption("--grade-records", help="write one JSON line per test to this file")
    group.addoption("--grade-time-limit", type=float, help="seconds for the whole run")


def pytest_configure(config):
    path = config.getoption("--grade-records")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(
            GradeRecorder(path, config.getoption("--grade-time-limit")), "kata-grade")


def own_timeout(item) -> float | None:
    """The item's own time limit: its timeout marker, else pytest-timeout's setting."""
    marker = item.get_closest_marker("timeout")
    if marker and marker.args:
        return float(marker.args[0])
    configured = item.config.getoption("timeout", None) or item.config.getini("timeout")
    return float(configured) if configured else None


class GradeRecorder:
    def __init__(self, path: str, time_limit: float | None):
        self.file = open(path, "w")  # noqa: SIM115 -- open for the whole run, closed at its end
        self.time_limit = time_limit
        self.deadline = None
        self.deselected = []
        # Per test, until its teardown: its worst phase's outcome and message, and its time.
        self.outcomes: dict[str, str] = {}
        self.messages: dict[str, str] = {}
        self.durations: dict[str, float] = {}

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()  # a killed run keeps every line written so far

    def pytest_sessionstart(self, session):
        if self.time_limit:
            self.deadline = time.monotonic() + self.time_limit

    def pytest_deselected(self, items):
        self.deselected += items

    def pytest_collection_finish(self, session):
        self.write({"collected": [
            {"nodeid": item.nodeid, "step": step_of_nodeid(item.nodeid),
             "doc": first_doc_line(getattr(item, "function", None))}
            for item in [*session.items, *self.deselected]]})
        for item in self.deselected:
            self.write({"nodeid": item.nodeid, "outcome": NOT_RUN,
                        "message": DESELECTED_MESSAGE, "duration": 0.0})

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
        if report.when == "teardown":
            self.write({"nodeid": nodeid, "outcome": self.outcomes.pop(nodeid, DONE),
                        "message": self.messages.pop(nodeid, ""),
                        "duration": round(self.durations.pop(nodeid), 3)})

    def pytest_sessionfinish(self, session):
        self.file.close()
