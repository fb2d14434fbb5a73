"""Per-step status from pytest's reports: done, failing, todo (or skipped)."""

from collections import defaultdict
from dataclasses import dataclass, field

from .steps import CAPSTONE, STEPS, step_of_test_file

DONE, FAILING, TODO, SKIPPED, NOT_RUN = "done", "failing", "todo", "skipped", "not run"


@dataclass
class StepResult:
    """The outcomes of one step's tests, one per test (its worst phase)."""

    outcomes: dict[str, str] = field(default_factory=dict)

    def record(self, nodeid: str, outcome: str) -> None:
        # A test is as bad as its worst phase: setup, call or teardown.
        rank = (NOT_RUN, DONE, SKIPPED, TODO, FAILING)
        previous = self.outcomes.get(nodeid, NOT_RUN)
        self.outcomes[nodeid] = max(previous, outcome, key=rank.index)

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)

    @property
    def status(self) -> str:
        for outcome in (FAILING, TODO):
            if self.count(outcome):
                return outcome
        if self.count(DONE):
            return DONE
        return SKIPPED if self.outcomes else NOT_RUN


class Progress:
    """Collects test reports and says where each step stands."""

    def __init__(self):
        self.steps: dict[int | str, StepResult] = defaultdict(StepResult)

    def record(self, report) -> None:
        step = step_of_test_file(report.nodeid.split("::")[0].rsplit("/", 1)[-1])
        if step is None:
            return
        if getattr(report, "kata_todo", False):
            outcome = TODO
        elif report.failed:
            outcome = FAILING
        elif report.skipped:
            outcome = SKIPPED
        elif report.when == "call":
            outcome = DONE
        else:
            return  # a passing setup or teardown says nothing on its own
        self.steps[step].record(report.nodeid, outcome)

    def rows(self):
        """(label, title, StepResult) for every step that ran, in order, capstone last."""
        for step in STEPS:
            if step.number in self.steps:
                yield f"step {step.number}", step.title, self.steps[step.number]
        if CAPSTONE in self.steps:
            yield CAPSTONE, "The whole pipeline on the real MNIST", self.steps[CAPSTONE]

    def unmet_expectation(self, expect: str) -> list[str]:
        """Why the run does not meet `expect` ("done" or "todo"); empty when it does."""
        problems = []
        for label, _, result in self.rows():
            failing, todo = result.count(FAILING), result.count(TODO)
            if failing:
                problems.append(f"{label}: {failing} test(s) failed")
            if expect == DONE and todo:
                problems.append(f"{label}: {todo} test(s) reached a stub (KataTodo)")
            if expect == TODO and label != CAPSTONE and result.status != TODO:
                problems.append(f"{label} is {result.status}, but an untouched stub must be todo")
        if expect == TODO:
            ran = {label for label, _, _ in self.rows()}
            problems += [f"step {step.number} ran no test"
                         for step in STEPS if f"step {step.number}" not in ran]
        return problems

    def board(self) -> list[str]:
        """One line per step: its status and how many of its tests pass."""
        lines = []
        for label, title, result in self.rows():
            passed, total = result.count(DONE), len(result.outcomes)
            lines.append(f"{label:<9} {result.status:<8} {passed:>3}/{total:<3} {title}")
        return lines
