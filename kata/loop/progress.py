"""Per-step status from pytest's reports (done, failing, todo), the board, and its history."""

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kata.config import GradingConfig
from kata.steps import CAPSTONE, CORE_STEPS, ORDER, STEPS, step_of_test_file

DONE, FAILING, TODO, SKIPPED, NOT_RUN = "done", "failing", "todo", "skipped", "not run"
CAPSTONE_TITLE = "The whole pipeline on the real MNIST"
# Every step as a string, in the board's order (the eight, the capstone, the bonus step): the
# keys of the history file and of --step.
STEP_KEYS = [str(step) for step in ORDER]
# The steps that have a module of their own (1..9), and the eight of the tutorial.
MODULE_KEYS = [str(step.number) for step in STEPS]
CORE_KEYS = [str(step.number) for step in CORE_STEPS]
# The learner's state, next to the kata: the board's history and the hints seen so far.
STATE_DIR_NAME = ".kata"
HISTORY_NAME = "progress.json"


def step_label(step: int | str) -> str:
    """ "step 3" or "capstone", for a step given as a number or as a key ("3")."""
    return CAPSTONE if step == CAPSTONE else f"step {step}"


def step_title(step: int | str) -> str:
    return CAPSTONE_TITLE if step == CAPSTONE else STEPS[int(step) - 1].title


def is_bonus(step: int | str) -> bool:
    return step != CAPSTONE and STEPS[int(step) - 1].bonus


def read_json(path: Path) -> dict:
    """A JSON file's object; {} when the file is missing or unreadable (a fresh start)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def short_message(text: str, lines: int = 2, width: int = 600) -> str:
    """The first lines of an error, each cut to `width` (only what is really long: the board
    wraps the rest to the screen): enough to see what went wrong."""
    kept = [line.strip() for line in str(text).strip().splitlines() if line.strip()][:lines]
    return "\n".join(line if len(line) <= width else line[:width - 3] + "..." for line in kept)


def first_doc_line(function) -> str:
    """A test's docstring, first line: the mistake it looks for."""
    doc = (getattr(function, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


# Every step's test file runs the grader's own checks as this test, one parameter per verdict.
CHECK_TEST_NAME = "test_graders_check"


def is_check(nodeid: str) -> bool:
    """Whether a test is one of the grader's own checks (kata/grading/checks.py)."""
    return f"::{CHECK_TEST_NAME}[" in nodeid


def test_doc(item) -> str:
    """The first docstring line of a collected test; for a grader's check, its verdict's."""
    case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
    if isinstance(getattr(case, "doc", None), str):
        return case.doc
    return first_doc_line(getattr(item, "function", None))


def outcome_of(report) -> str | None:
    """done, failing, todo or skipped for one phase's report; None for a passing setup/teardown."""
    if getattr(report, "kata_todo", False):
        return TODO
    if report.failed:
        return FAILING
    if report.skipped:
        return SKIPPED
    return DONE if report.when == "call" else None


def message_of(report) -> str:
    """What a learner should read about a test that did not pass."""
    if hasattr(report, "kata_message"):
        return report.kata_message
    if report.skipped and isinstance(report.longrepr, tuple):
        return short_message(report.longrepr[2].removeprefix("Skipped: "))
    return short_message(report.longreprtext)


def step_of_nodeid(nodeid: str) -> int | str | None:
    return step_of_test_file(nodeid.split("::")[0].rsplit("/", 1)[-1])


@dataclass
class Problem:
    """A test that did not pass: its id, outcome, docstring line, message, and what it
    observed (kata.testing.observe, or the crash)."""

    nodeid: str
    outcome: str
    doc: str
    message: str
    evidence: dict = field(default_factory=dict)

    @property
    def crash(self) -> tuple[str, str, str] | None:
        """(type, message, the learner's function) when the test crashed."""
        facts = self.evidence
        return (facts["crash"], facts.get("crash_message", ""), facts.get("crash_where", "")
                ) if "crash" in facts else None


def same_error(crash: tuple[str, str, str]) -> tuple[str, str, str]:
    """A crash with its numbers blanked: the same error on batches of 1 and of 4 reads
    "(1x800 and 1568x64)" and "(4x800 and 1568x64)"."""
    kind, message, where = crash
    return kind, re.sub(r"\d+", "#", message), where


@dataclass
class Headline:
    """Why a step is not done, as the board says it: the shared crash (if any), the mistake
    the evidence names (if any), the test to look at."""

    problem: Problem
    shared: int = 0  # how many failing tests share the problem's crash (0: no shared crash)
    tests: int = 0  # how many tests the step has
    diagnosis: str | None = None  # the mistake's name (kata/loop/diagnoses.py)
    words: str = ""  # what the learner's code did

    def lines(self) -> list[str]:
        problem, lines = self.problem, [f"  {self.problem.outcome}: {self.problem.nodeid}"]
        if self.shared:
            kind, message, where = problem.crash
            lines[0] = (f"  {self.shared} of {self.tests} tests fail with the same error"
                        f"{f' in {where}' if where else ''}: {kind}: {message}")
            lines.append(f"    first: {problem.nodeid}")
        if self.words:
            lines.append(f"    your code: {self.words}")
        elif problem.doc and not self.shared:
            lines.append(f"    {problem.doc}")
        if self.shared:  # the crash is said; the test's own message would say it again
            return lines
        return lines + [f"    {line}" for line in problem.message.splitlines()]


# A test is as bad as its worst phase: setup, call or teardown.
RANK = (NOT_RUN, DONE, SKIPPED, TODO, FAILING)


@dataclass
class StepResult:
    """The outcomes of one step's tests, one per test (its worst phase)."""

    outcomes: dict[str, str] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)

    def record(self, nodeid: str, outcome: str, problem: Problem | None = None) -> None:
        previous = self.outcomes.get(nodeid, NOT_RUN)
        self.outcomes[nodeid] = max(previous, outcome, key=RANK.index)
        if problem and RANK.index(outcome) >= RANK.index(previous):
            self.problems[nodeid] = problem

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)

    @property
    def status(self) -> str:
        # In grading, a step with a test that did not run (deselected, or the run cut short)
        # is not done.
        for outcome in (FAILING, TODO, NOT_RUN, DONE, SKIPPED):
            if self.count(outcome):
                return outcome
        return NOT_RUN

    def share(self, points: float) -> float:
        """What each test is worth: the step's points shared equally by its tests."""
        return points / len(self.outcomes) if self.outcomes else 0.0

    def checks_pass(self) -> bool:
        """Whether every one of the grader's own checks of the step passed. (Grading makes
        sure that every step has some: kata.grading.engine.)"""
        return all(outcome == DONE for nodeid, outcome in self.outcomes.items()
                   if is_check(nodeid))

    def counts(self) -> bool:
        """Whether the step's tests earn points: none reaches a stub, and the grader's checks
        of the step all pass. So the untouched exercises score 0 even where a test passes on
        what the exercise gives (step 2's constants), and a run whose reports say more than
        the grader could check earns nothing for that step."""
        return not self.count(TODO) and self.checks_pass()

    def score(self, points: float, nodeid: str) -> float:
        """What one test earns: its share once it passed and the step counts."""
        passed = self.outcomes[nodeid] == DONE and self.counts()
        return self.share(points) if passed else 0.0

    def first_problem(self) -> Problem | None:
        """The first test, in run order, whose outcome is the step's status."""
        for nodeid, outcome in self.outcomes.items():
            if outcome == self.status and nodeid in self.problems:
                return self.problems[nodeid]
        return None

    def headline(self, step: int | str) -> Headline | None:
        """What the board says first about this step: when failures share one crash, that
        crash once; when a test's evidence names a mistake of the catalogue, that mistake in
        words about the learner's code; otherwise the first failing test's docstring line."""
        from kata.loop import diagnoses

        first = self.first_problem()
        if first is None or first.outcome != FAILING:
            return None if first is None else Headline(first)
        failing = [self.problems[nodeid] for nodeid, outcome in self.outcomes.items()
                   if outcome == FAILING and nodeid in self.problems]
        crashes = [same_error(problem.crash) for problem in failing if problem.crash]
        # The most frequent crash; of two as frequent, the first to happen.
        common = max(crashes, key=crashes.count) if crashes else None
        headline = Headline(first, tests=len(self.outcomes))
        found = diagnoses.find(step, [(p.nodeid, p.evidence) for p in failing])
        if found:  # the test whose evidence named the mistake is the one to look at
            headline.problem = self.problems[found.nodeid]
            headline.diagnosis, headline.words = found.diagnosis.names, found.words
        if common and crashes.count(common) >= 2:
            headline.shared = crashes.count(common)
            headline.problem = next(p for p in failing if p.crash
                                    and same_error(p.crash) == common)
        return headline


def format_points(points: float) -> str:
    """Points for people: one decimal at most, none when whole (10, 8.3)."""
    return f"{round(points, 1):g}"


class Progress:
    """Collects test reports and says where each step stands."""

    def __init__(self):
        self.steps: dict[str, StepResult] = defaultdict(StepResult)

    def record(self, report) -> None:
        step, outcome = step_of_nodeid(report.nodeid), outcome_of(report)
        if step is None or outcome is None:
            return
        problem = None if outcome == DONE else Problem(
            report.nodeid, outcome, getattr(report, "kata_doc", ""), message_of(report),
            getattr(report, "kata_evidence", {}))
        self.steps[str(step)].record(report.nodeid, outcome, problem)

    def rows(self):
        """(key, StepResult) for every step that ran, in order, capstone last."""
        for key in STEP_KEYS:
            if key in self.steps:
                yield key, self.steps[key]

    def statuses(self) -> dict[str, str]:
        return {key: result.status for key, result in self.rows()}

    def unmet_expectation(self, expect: str, absent: tuple[str, ...] = ()) -> list[str]:
        """Why the run does not meet `expect` ("done" or "todo"); empty when it does. `absent`:
        the bonus steps the package has no module for, which are todo without being stubs."""
        problems = []
        for key, result in self.rows():
            label, failing, todo = step_label(key), result.count(FAILING), result.count(TODO)
            if failing:
                problems.append(f"{label}: {failing} test(s) failed")
            if expect == DONE and todo and key not in absent:
                problems.append(f"{label}: {todo} test(s) reached a stub (KataTodo)")
            if expect == TODO and key != CAPSTONE and result.status != TODO:
                problems.append(f"{label} is {result.status}, but an untouched stub must be todo")
        if expect == TODO:
            ran = self.statuses()
            problems += [f"{step_label(key)} ran no test" for key in MODULE_KEYS
                         if key not in ran and key not in absent]
        return problems

    def summary(self, grading: GradingConfig | None = None) -> tuple[list[dict], str | None]:
        """Each step that ran (its status, tests passed, points and title) and the total
        line, which only means something when every step ran: the board as data."""
        rows, earned = [], 0.0
        for key, result in self.rows():
            row = {"step": key, "label": step_label(key), "status": result.status,
                   "passed": result.count(DONE), "tests": len(result.outcomes),
                   "title": step_title(key), "points": None, "possible": None,
                   "bonus": is_bonus(key)}
            if grading:
                possible = grading.points[CAPSTONE if key == CAPSTONE else int(key)]
                row["points"] = sum(result.score(possible, nodeid) for nodeid in result.outcomes)
                row["possible"] = possible
                earned += row["points"]
            rows.append(row)
        statuses, total = self.statuses(), None
        if grading and all(key in statuses for key in [*CORE_KEYS, CAPSTONE]):
            total = (f"score: {format_points(earned)}/{format_points(grading.max_score)} "
                     f"points, {steps_done(statuses)}/{len(CORE_STEPS)} steps done, "
                     f"capstone {statuses[CAPSTONE]}")
        return rows, total

    def board(self, grading: GradingConfig | None = None) -> list[str]:
        """One line per step: its status, how many of its tests pass, and its points."""
        rows, total = self.summary(grading)
        lines = []
        for row in rows:
            points = "" if row["points"] is None else (
                f"{'bonus':>8}     " if row["bonus"] and not row["possible"] else
                f"{format_points(row['points']):>4}/{format_points(row['possible']):<3}pts  ")
            lines.append(f"{row['label']:<9} {row['status']:<8} {row['passed']:>3}/"
                         f"{row['tests']:<3} {points}{row['title']}")
        return lines + ([total] if total else [])

    def diagnoses(self) -> dict[str, str]:
        """The mistake each failing step's headline names, by step key (for `make mutants`)."""
        named = {key: result.headline(key) for key, result in self.rows()
                 if result.status == FAILING}
        return {key: headline.diagnosis for key, headline in named.items()
                if headline and headline.diagnosis}

    def next_step(self) -> tuple[str, StepResult] | None:
        """The first step, in order, that ran and is not done: the one to work on now (the
        bonus step comes after the capstone)."""
        for key, result in self.rows():
            if result.status != DONE:
                return key, result
        return None


def next_step_lines(progress: Progress, package: str, hint_for: Callable[[str], str | None],
                    explain: Callable[[str], list[str]] | None = None) -> list[str]:
    """Under the board: the step to work on, its file, why it is not done (and, for a failing
    step, `explain(key)`: the shape trace and the pictures), and its first hint (`hint_for(key)`,
    asked only for that step)."""
    found = progress.next_step()
    if found is None:
        return ["next: nothing; every step that ran is done"] if progress.steps else []
    key, result = found
    where = (f"(all of {package}/ together)" if key == CAPSTONE
             else f"{package}/{STEPS[int(key) - 1].module}.py")
    bonus = " (bonus)" if is_bonus(key) else ""
    lines = [f"next: {step_label(key)}{bonus}, {step_title(key)}: {where}"]
    headline = result.headline(key)
    if headline:
        lines += headline.lines()
    if explain and result.status == FAILING:
        lines += explain(key)
    checks = [outcome for nodeid, outcome in result.outcomes.items() if is_check(nodeid)]
    failing = sum(outcome == FAILING for outcome in checks)
    if failing:
        lines.append(f"  points: none until the grader's own checks of this step pass "
                     f"({failing} of its {len(checks)} fail: the {CHECK_TEST_NAME}[...] tests)")
    hint = hint_for(key)
    if hint:
        lines.append(f"  hint: {hint}")
        lines.append(f"  (`kata hint {key}` shows the next hint each time you ask)")
    return lines


def wrapped(lines: list[str], width: int) -> list[str]:
    """Lines fitted to a screen `width` columns wide: a long one goes on over more lines,
    indented under itself; a word longer than the line (a test's id) is never cut."""
    import textwrap

    fitted = []
    for line in lines:
        if "::" in line:  # a line that names a test: its id stays whole, on its own line
            fitted.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        fitted += textwrap.wrap(line, max(width, 40), subsequent_indent=indent + "  ",
                                break_long_words=False, break_on_hyphens=False) or [line]
    return fitted


# ---------------------------------------------------------------- progress over time


def load_history(path: Path, package: str) -> dict[str, str]:
    """The last known status of each step of `package`, from earlier runs; {} when none."""
    return read_json(path).get(package, {})


def save_history(path: Path, package: str, statuses: dict[str, str]) -> None:
    """Merge this run's statuses into the file: a one-step run updates only that step."""
    path = Path(path)
    history = read_json(path)
    history[package] = history.get(package, {}) | statuses
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(history, indent=1) + "\n")


def steps_done(statuses: dict[str, str]) -> int:
    """How many of the tutorial's eight steps are done (the bonus is counted apart)."""
    return sum(1 for key in CORE_KEYS if statuses.get(key) == DONE)


def history_line(before: dict[str, str], now: dict[str, str]) -> str | None:
    """ "last run: 3/8 steps done; now 4/8: step 4 now done", or None without a last run."""
    if not before:
        return None
    changes = []
    for key in STEP_KEYS:
        if key in now and now[key] != before.get(key):
            was = f" (was {before[key]})" if before.get(key) not in (None, TODO) else ""
            changes.append(f"{step_label(key)} now {now[key]}{was}")
    return (f"last run: {steps_done(before)}/{len(CORE_STEPS)} steps done; "
            f"now {steps_done(now)}/{len(CORE_STEPS)}: {', '.join(changes) or 'no change'}")


def current_step(history: dict[str, str]) -> str:
    """The first step not done in the last runs (step 1 without any), in the board's order;
    the capstone once all are done."""
    return next((key for key in STEP_KEYS if history.get(key) != DONE), CAPSTONE)
