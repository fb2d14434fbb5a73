"""The gradebook: one row per learner, read from the results the grader wrote, and
gradebook.csv, which a spreadsheet or an LMS imports.

A row is read from Gradescope's results.json as kata.grading.report writes it (by `kata class`
here, or by the Gradescope bundle and found in Gradescope's export), or from a Classroom 50
result.json. Both carry each step's points, the checks beside the tests (tamper, integrity,
review) and the failing tests with the mistake their docstring names, so the class report
can rank the mistakes whichever platform graded.
"""

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from kata.config import step_key
from kata.grading.child import TIME_LIMIT_MESSAGE
from kata.loop.progress import FAILING
from kata.steps import CAPSTONE, ORDER

# The gradebook's columns, in the board's order: step1..step8, capstone, step9 (the bonus).
STEP_KEYS = [step_key(step) for step in ORDER]
GRADED, ZEROED, BROKE = "graded", "zeroed", "broke"
FORGED, TAMPERED, REVIEW, TIME_LIMIT = "forged", "tampered", "needs review", "time limit"
CATCHES = "Catches:"


@dataclass(frozen=True)
class FailingTest:
    nodeid: str
    step: str  # a grading.toml key: step1..step9, capstone
    doc: str  # the test's first docstring line: "Catches: ..." names the mistake
    # The mistake the test's observations named (kata/loop/diagnoses.py), and the words
    # about this learner's code; empty when they named none.
    diagnosis: str = ""
    your_code: str = ""

    @property
    def mistake(self) -> str:
        """The mistake the learner made when the observations named it; else the one the
        test catches, or what it checks when its docstring names none."""
        if self.diagnosis:
            return f"{self.diagnosis}: {self.your_code}"
        return self.doc.removeprefix(CATCHES).strip() or self.nodeid.rsplit("::", 1)[-1]


@dataclass
class Row:
    learner: str
    source: str  # where the result comes from: "graded here", "gradescope", "classroom 50"
    points: dict[str, float] = field(default_factory=dict)  # step key -> points earned
    max_points: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_total: float = 0.0
    status: str = GRADED
    flags: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # the reasons behind the flags
    failing: list[FailingTest] = field(default_factory=list)
    seconds: float | None = None
    peak_memory_mb: float | None = None
    submitted_at: str = ""

    def finished(self, key: str) -> bool:
        """Whether every point of a step was earned."""
        return self.max_points.get(key, 0) > 0 and self.points.get(key, 0) >= self.max_points[key]

    @property
    def trusted_outcomes(self) -> bool:
        """Whether its failing tests say what the learner got wrong: not when the run was
        forged or the tests were changed, and not when grading broke."""
        return self.status != BROKE and FORGED not in self.flags and TAMPERED not in self.flags


def step_of_name(name: str) -> str | None:
    """The step key of a test entry named "step 3: ..." or "capstone: ..."."""
    head = name.split(":", 1)[0].strip()
    if head == CAPSTONE:
        return CAPSTONE
    number = head.removeprefix("step ")
    return step_key(int(number)) if number.isdigit() else None


def as_number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def from_results(results: dict, learner: str, source: str) -> Row:
    """A row from Gradescope's results.json (a dict), as kata.grading.report writes it."""
    extra = results.get("extra_data") or {}
    row = Row(learner, source, total=as_number(results.get("score")))
    for test in results.get("tests") or []:
        data = test.get("extra_data") or {}
        key = step_of_name(str(test.get("name", "")))
        if key is None:
            continue
        row.points[key] = row.points.get(key, 0.0) + as_number(test.get("score"))
        row.max_points[key] = row.max_points.get(key, 0.0) + as_number(test.get("max_score"))
        if data.get("outcome") == FAILING:
            row.failing.append(FailingTest(str(data.get("nodeid", test.get("name"))), key,
                                           str(data.get("doc", "")),
                                           str(data.get("diagnosis", "")),
                                           str(data.get("your_code", ""))))
        if TIME_LIMIT_MESSAGE in str(test.get("output", "")) and TIME_LIMIT not in row.flags:
            row.flags.append(TIME_LIMIT)
    for key, step in (extra.get("steps") or {}).items():  # exact, where the grader wrote them
        row.points[key] = as_number(step.get("points"))
        row.max_points[key] = as_number(step.get("max_points"))
    row.points = {key: round_points(value) for key, value in row.points.items()}
    row.max_points = {key: round_points(value) for key, value in row.max_points.items()}
    row.max_total = as_number(extra.get("max_score")) or round_points(sum(row.max_points.values()))
    flag(row, FORGED, extra.get("forged"))
    flag(row, TAMPERED, extra.get("tamper"))
    flag(row, REVIEW, extra.get("review"))
    if extra.get("broke"):
        row.status = BROKE
        row.details.append(str(extra.get("note") or "grading broke"))
    elif extra.get("zeroed"):
        row.status = ZEROED
        row.details.append("score 0: " + "; ".join(map(str, extra["zeroed"])))
    if results.get("execution_time") is not None:
        row.seconds = as_number(results["execution_time"])
    return row


def from_classroom50(result: dict, learner: str) -> Row:
    """A row from Classroom 50's result.json (classroom50/result/v1): whole points per step,
    the exact points in our extra field "points" where the kata's autograder wrote it."""
    row = Row(learner, "classroom 50", total=as_number(result.get("score")),
              max_total=as_number(result.get("max-score")),
              submitted_at=str(result.get("datetime", "")))
    checks = {}
    for test in result.get("tests") or []:
        name = str(test.get("test-name", ""))
        key = step_of_name(name)
        if key is None:
            checks[name] = test
            continue
        row.points[key] = as_number(test.get("points", test.get("score")))
        row.max_points[key] = as_number(test.get("max-score"))
        for failing in test.get("failing") or []:
            row.failing.append(FailingTest(str(failing.get("nodeid", "")), key,
                                           str(failing.get("doc", "")),
                                           str(failing.get("diagnosis", "")),
                                           str(failing.get("your_code", ""))))
    for name, kind in (("integrity check", FORGED), ("tamper check", TAMPERED),
                       ("code review", REVIEW)):
        if name in checks and not checks[name].get("passed", True):
            flag(row, kind, [str(checks[name].get("output", name))])
    if any(TIME_LIMIT_MESSAGE in str(t.get("output", "")) for t in result.get("tests") or []):
        row.flags.append(TIME_LIMIT)
    if row.total == 0 and (FORGED in row.flags or TAMPERED in row.flags):
        row.status = ZEROED
    return row


def broken(learner: str, source: str, why: str) -> Row:
    """The row of a submission that could not be graded at all: 0 points, and why."""
    return Row(learner, source, status=BROKE, details=[why])


def flag(row: Row, kind: str, reasons) -> None:
    if reasons:
        row.flags.append(kind)
        row.details.append(f"{kind}: " + "; ".join(map(str, reasons)))


def round_points(value: float) -> float:
    """Sums of four-decimal shares as the exact decimal they are (0.1 + 0.2 is 0.3)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.0001")))


# ---------------------------------------------------------------- gradebook.csv

COLUMNS = ["learner", "source", *STEP_KEYS, "total", "max_total", "status", "flags",
           "details", "seconds", "peak_memory_mb"]
# A cell a spreadsheet would read as a formula (OWASP's CSV injection): learners name their
# folders and write the messages their code raises.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    text = " ".join(str(value).split())
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([cell(row.learner), cell(row.source),
                             *(cell(float(row.points.get(key, 0.0))) for key in STEP_KEYS),
                             cell(row.total), cell(row.max_total), cell(row.status),
                             cell("; ".join(row.flags)), cell(" | ".join(row.details)[:2000]),
                             cell(row.seconds), cell(row.peak_memory_mb)])
