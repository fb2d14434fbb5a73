"""A graded run in points, and in the formats graders read.

Points: a step's points (grading.toml) are shared by its tests in exact units
(kata.grading.points); a test earns its share once it passed and its step counts (no stub
reached, and every one of the grader's checks of the step passed: kata.loop.progress.StepResult).
The whole grade is 0 when the run was forged (always), when tests or grading files were
changed (`zero_when_changed`, and always when grading.toml itself changed), or when the code
needs review and `zero_when_flagged` is on.

Formats: Gradescope's results.json, JUnit XML, a Markdown summary, and Classroom 50's
result.json (classroom50/result/v1).
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone

from kata.config import CONFIG_NAME, GradingConfig, step_key
from kata.grading.child import TIME_LIMIT_MESSAGE
from kata.grading.engine import Run
from kata.grading.manifest import MANIFEST_NAME
from kata.grading.points import as_points, as_text, shares, to_units
from kata.loop import diagnoses
from kata.loop.progress import (
    DONE,
    FAILING,
    NOT_RUN,
    SKIPPED,
    TODO,
    StepResult,
    is_bonus,
    step_label,
    step_title,
)


@dataclass
class TestGrade:
    """One test's grade, in units of 1/10,000 point."""

    nodeid: str
    step: int | str
    doc: str
    outcome: str
    message: str
    duration: float
    by_grader: bool = False
    units: int = 0
    max_units: int = 0
    output: str = ""
    counted: bool = False  # passed, and earns its share (which is 0 in a step worth 0)
    observed: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{step_label(self.step)}: {self.nodeid.split('::', 1)[-1]}"

    def diagnosis(self) -> tuple[str, str]:
        """The mistake this failing test's observations name, and what the learner's code
        did, in the board's words (kata/loop/diagnoses.py); ("", "") when they name none."""
        found = diagnoses.find(self.step, [(self.nodeid, self.observed)]) \
            if self.outcome == FAILING else None
        return (found.diagnosis.names, found.words) if found else ("", "")


@dataclass
class Grade:
    impl: str
    tests: list[TestGrade]
    steps: dict[int | str, StepResult]
    max_units: int
    tamper: list[str]
    run: Run
    zeroed: list[str]  # why the whole grade is 0; empty when it is not

    def units(self, step: int | str | None = None) -> int:
        """Units earned, by every test or by one step's tests."""
        return sum(t.units for t in self.tests if step is None or t.step == step)

    def possible(self, step: int | str) -> int:
        return sum(t.max_units for t in self.tests if t.step == step)

    @property
    def score(self) -> float:
        return as_points(self.units())

    @property
    def max_score(self) -> float:
        return as_points(self.max_units)


def test_output(test: TestGrade, step: StepResult) -> str:
    if TIME_LIMIT_MESSAGE in test.message:
        return TIME_LIMIT_MESSAGE
    if test.outcome == NOT_RUN:
        return test.message
    if test.outcome == DONE:
        if step.count(TODO):
            return (f"passed, but {step_label(test.step)} still reaches a stub: its points count "
                    "once every function of the step is written")
        if not step.checks_pass():
            return (f"passed, but one of the grader's checks of {step_label(test.step)} did "
                    "not: its points count once they all pass")
        return "passed" + (" (checked by the grader)" if test.by_grader else "")
    if test.outcome == TODO:
        return f"todo, the stub is not written yet: {test.message}"
    if test.outcome == SKIPPED:
        return f"skipped: {test.message}"
    checked = "checked by the grader on inputs only it knew: " if test.by_grader else ""
    _, words = test.diagnosis()
    what = f"your code: {words}" if words else test.doc
    return "\n".join(part for part in (what, checked + test.message) if part)


def zero_reasons(config: GradingConfig, tamper: list[str], run: Run) -> list[str]:
    reasons = []
    if run.forged:
        reasons.append("the test run's reports cannot be trusted (integrity check)")
    # A tampered config cannot be trusted to switch its own penalty off.
    if tamper and (config.zero_when_changed or any(CONFIG_NAME in t for t in tamper)):
        reasons.append("tests or grading files were changed (tamper check)")
    if run.review and config.zero_when_flagged:
        reasons.append("the code needs review (code review)")
    return reasons


def grade(impl: str, config: GradingConfig, run: Run, tamper: list[str]) -> Grade:
    """Score every collected test of the run; a step whose tests are gone still counts."""
    by_step: dict[int | str, list[TestGrade]] = {step: [] for step in config.points}
    for test in run.tests:
        if test.step in by_step:
            by_step[test.step].append(TestGrade(test.nodeid, test.step, test.doc, test.outcome,
                                                test.message, test.duration, test.by_grader,
                                                observed=test.observed))
    zeroed = zero_reasons(config, tamper, run)
    tests: list[TestGrade] = []
    steps: dict[int | str, StepResult] = {}
    for step, step_tests in by_step.items():
        result = steps[step] = StepResult()
        for test in step_tests:
            result.record(test.nodeid, test.outcome)
        if not step_tests:
            step_tests = [TestGrade(f"{step_label(step)}::no test ran", step, "", NOT_RUN, "",
                                    0.0, output="no test of this step ran: is its test file "
                                                "missing?")]
        for test, share in zip(step_tests, shares(to_units(config.points[step]),
                                                  len(step_tests))):
            test.max_units = share
            earned = test.outcome == DONE and test.nodeid in result.outcomes and result.counts()
            test.counted = earned and not zeroed
            test.units = share if test.counted else 0
            test.output = test.output or test_output(test, result)
            if zeroed and earned:
                test.output += f"\n0 points: {'; '.join(zeroed)}"
        tests += step_tests
    max_units = sum(to_units(points) for points in config.points.values())
    return Grade(impl, tests, steps, max_units, tamper, run, zeroed)


# ---------------------------------------------------------------- the checks beside the tests


def tamper_text(grade: Grade) -> str:
    if not grade.tamper:
        return f"tests and grading files are as recorded in {MANIFEST_NAME}"
    verdict = ("the score is set to 0" if any("tamper" in z for z in grade.zeroed)
               else "the score stands (zero_when_changed is off)")
    return f"changed since {MANIFEST_NAME}: " + "; ".join(grade.tamper) + f"; {verdict}"


def integrity_text(grade: Grade) -> str:
    if not grade.run.forged:
        return ("the run's reports agree with the grader's own checks and canaries, and the "
                "test machinery did not change")
    return "FORGED, the score is set to 0: " + "; ".join(grade.run.forged)


def review_text(grade: Grade, config: GradingConfig) -> str:
    if not grade.run.review:
        return "nothing to review: the modules use only what the steps need"
    verdict = ("the score is set to 0 (zero_when_flagged)" if config.zero_when_flagged
               else "the score stands; an instructor should read these lines")
    return "needs review: " + "; ".join(grade.run.review) + f"; {verdict}"


def checks_beside(grade: Grade, config: GradingConfig) -> list[tuple[str, bool, str]]:
    """(name, passed, text) of the entries that are not tests: what else grading found."""
    entries = [("tamper check", not grade.tamper, tamper_text(grade)),
               ("integrity check", not grade.run.forged, integrity_text(grade)),
               ("code review", not grade.run.review, review_text(grade, config)),
               ("isolation", "a user of its own" in grade.run.isolation, grade.run.isolation)]
    if grade.run.ignored:
        entries.append(("ignored files", True, "not graded (only the step modules are): "
                        + ", ".join(grade.run.ignored)))
    return entries


# ---------------------------------------------------------------- Markdown

MARKDOWN_SPECIAL = str.maketrans({char: f"\\{char}" for char in "\\`*_[]<>|#!~"})


def plain(text: str) -> str:
    """Text from the learner's code as one line of Markdown that shows as written: no
    headings, links, images, tables or HTML of its own."""
    return " ".join(str(text).split()).translate(MARKDOWN_SPECIAL)


def markdown(grade: Grade, config: GradingConfig) -> str:
    lines = [f"## MNIST kata grade: {as_text(grade.units())}/{as_text(grade.max_units)} points",
             "", f"Package `{grade.impl}`, graded in {grade.run.seconds:.1f} s.", ""]
    if grade.zeroed:
        lines += [f"**The score is 0:** {'; '.join(grade.zeroed)}.", ""]
    lines += ["| step | status | tests passed | points |", "| --- | --- | --- | --- |"]
    for step, result in grade.steps.items():
        points = ("bonus" if is_bonus(step) and not grade.possible(step) else
                  f"{as_text(grade.units(step))}/{as_text(grade.possible(step))}")
        lines.append(f"| {step_label(step)}: {step_title(step)} | {result.status} | "
                     f"{result.count(DONE)}/{len(result.outcomes)} | {points} |")
    lines.append("")
    for name, _, text in checks_beside(grade, config):
        lines += [f"**{name.capitalize()}:** {text}.", ""]
    if grade.run.note:
        lines += [f"**Note:** {grade.run.note}", ""]
    failing = [t for t in grade.tests if t.outcome in (FAILING, NOT_RUN)]
    if failing:
        lines += [f"### Failing or not run ({len(failing)})", ""]
        for test in failing[:20]:
            lines.append(f"- `{test.nodeid}`: {plain(test.output)}")
        if len(failing) > 20:
            lines.append(f"- ... and {len(failing) - 20} more, in results.json and junit.xml")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- Gradescope


def gradescope_json(grade: Grade, config: GradingConfig, summary: str) -> dict:
    """Gradescope's results.json: the total, the run's summary, and one entry per test.

    A test is "passed" only when it earned its share (0 in a bonus step worth 0). The
    per-test scores add up to the total exactly (kata.grading.points). The spec has no
    top-level max_score: it goes in extra_data, with what else grading found.
    """
    tests = [{"name": t.name, "score": as_points(t.units), "max_score": as_points(t.max_units),
              "status": "passed" if t.counted else "failed",
              "output": t.output, "visibility": config.visibility,
              "extra_data": test_data(t)} for t in grade.tests]
    tests += [{"name": name, "score": 0.0, "max_score": 0.0,
               "status": "passed" if passed else "failed", "output": text,
               "visibility": config.visibility}
              for name, passed, text in checks_beside(grade, config)]
    return {"score": grade.score, "execution_time": round(grade.run.seconds, 1),
            "output": summary, "output_format": "md", "visibility": config.visibility,
            "stdout_visibility": "hidden",
            "extra_data": {"max_score": grade.max_score, "forged": grade.run.forged,
                           "review": grade.run.review, "ignored_files": grade.run.ignored,
                           "isolation": grade.run.isolation, "zeroed": grade.zeroed,
                           "tamper": grade.tamper, "note": grade.run.note,
                           "broke": grade.run.broke, "steps": steps_data(grade)},
            "tests": tests}


def test_data(test: TestGrade) -> dict:
    """What a class report reads of one test (kata.gradebook): which test, its outcome as
    the grader decided it, the mistake its docstring names, and the mistake its observations
    name (kata/loop/diagnoses.py) with the words about the learner's code."""
    diagnosis, words = test.diagnosis()
    return {"nodeid": test.nodeid, "step": str(test.step), "outcome": test.outcome,
            "doc": test.doc, "diagnosis": diagnosis, "your_code": words}


def steps_data(grade: Grade) -> dict:
    """Each step's points, possible points and status, by its grading.toml key."""
    return {step_key(step): {"points": as_points(grade.units(step)),
                             "max_points": as_points(grade.possible(step)),
                             "status": result.status}
            for step, result in grade.steps.items()}


# ---------------------------------------------------------------- JUnit XML


def junit_xml(grade: Grade, config: GradingConfig) -> ET.ElementTree:
    """JUnit XML: a failure per failing test, a skip per todo, the other checks as tests."""
    cases = []
    for test in grade.tests:
        # tests/test_x.py::TestClass::test_y: the module and the class make the classname.
        path, *classes, name = test.nodeid.split("::")
        classname = ".".join([path.removesuffix(".py").replace("/", "."), *classes])
        case = ET.Element("testcase", classname=classname, name=name,
                          time=f"{test.duration:.3f}")
        first_line = (test.output.splitlines() or [test.outcome])[0]
        if test.outcome in (TODO, SKIPPED):
            ET.SubElement(case, "skipped", message=first_line)
        elif test.outcome != DONE:
            failure = ET.SubElement(case, "failure", message=first_line)
            failure.text = test.output
        cases.append(case)
    for name, passed, text in checks_beside(grade, config):
        case = ET.Element("testcase", classname="kata.grading", name=name.replace(" ", "_"),
                          time="0")
        if not passed and name != "isolation":
            ET.SubElement(case, "failure", message=text[:500]).text = text
        cases.append(case)
    failures = sum(1 for case in cases if case.find("failure") is not None)
    skipped = sum(1 for case in cases if case.find("skipped") is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0",
              "skipped": str(skipped), "time": f"{grade.run.seconds:.3f}"}
    suites = ET.Element("testsuites", name="mnist-kata", **counts)
    suite = ET.SubElement(suites, "testsuite", name=f"mnist-kata grade of {grade.impl}",
                          timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          **counts)
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", str(grade.score)), ("max_score", str(grade.max_score)),
                        ("impl", grade.impl), ("tamper", "; ".join(grade.tamper) or "none"),
                        ("forged", "; ".join(grade.run.forged) or "none"),
                        ("review", "; ".join(grade.run.review) or "none"),
                        ("isolation", grade.run.isolation)):
        ET.SubElement(properties, "property", name=name, value=value)
    suite.extend(cases)
    ET.indent(suites)
    return ET.ElementTree(suites)


# ---------------------------------------------------------------- Classroom 50


def whole_points(units: list[int], total: int) -> list[int]:
    """Units as whole points that add up to `total` (largest remainder)."""
    floors = [u // 10_000 for u in units]
    left = total - sum(floors)
    order = sorted(range(len(units)), key=lambda i: (-(units[i] % 10_000), i))
    for index in order[:max(left, 0)]:
        floors[index] += 1
    return floors


def classroom50_result(grade: Grade, config: GradingConfig, env: dict[str, str]) -> dict:
    """Classroom 50's result.json: one test per step, in whole points, as its schema wants.

    The identity fields come from the environment the Classroom 50 runner sets; it stamps
    owner, assignment_type and the times itself afterwards.
    """
    steps = list(grade.steps)
    earned = whole_points([grade.units(step) for step in steps],
                          round(grade.units() / 10_000))
    possible = whole_points([grade.possible(step) for step in steps],
                            round(grade.max_units / 10_000))
    earned = [min(score, maximum) for score, maximum in zip(earned, possible)]
    tests = []
    for step, score, maximum in zip(steps, earned, possible):
        result = grade.steps[step]
        problems = [t for t in grade.tests if t.step == step and t.outcome != DONE]
        tests.append({"test-name": f"{step_label(step)}: {step_title(step)}",
                      "passed": result.status == DONE and not grade.zeroed,
                      "score": score, "max-score": maximum, "status": result.status,
                      "points": as_points(grade.units(step)),
                      "output": "\n".join(t.output for t in problems[:3]) or "every test passed",
                      # Extra fields are kept by Classroom 50: its scores.json then says which
                      # tests failed, for the class report (kata.gradebook).
                      "failing": [test_data(t) for t in problems if t.outcome == FAILING]})
    for name, passed, text in checks_beside(grade, config):
        tests.append({"test-name": name, "passed": passed, "score": 0, "max-score": 0,
                      "output": text})
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    commit = env.get("COMMIT_URL") or env.get("GITHUB_SHA") or "unknown"
    return {
        "schema": "classroom50/result/v1",
        "classroom": env.get("CLASSROOM") or "unknown",
        "assignment": env.get("ASSIGNMENT") or "unknown",
        "assignment_type": env.get("ASSIGNMENT_TYPE") or "individual",
        "owner": env.get("OWNER") or env.get("USERNAME") or "unknown",
        "submission": env.get("SUBMISSION_TAG") or f"submit/{now}",
        "commit": commit, "release": env.get("RELEASE_URL") or commit,
        "review": env.get("REVIEW_URL") or commit,
        "datetime": now, "graded_at": now,
        "score": sum(earned), "max-score": sum(possible), "tests": tests}
