"""`make grade`: run the suite once and write the grade in the formats graders read.

    python -m kata.grade [--impl exercises] [--out reports] [-- extra pytest arguments]

Writes into --out: results.json (Gradescope's autograder format), junit.xml (JUnit XML),
summary.md (Markdown, also appended to $GITHUB_STEP_SUMMARY when that is set) and pytest.log
(the run's own output). Points come from grading.toml; a step's points are shared by its tests.
The exit status says whether grading worked (0), not whether the learner passed: it is 1 only
when the suite could not run at all, and the reports are written even then.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .config import CONFIG_NAME, GradingConfig, load_config
from .grade_plugin import TIME_LIMIT_MESSAGE
from .manifest import MANIFEST_NAME, changes
from .progress import (
    DONE,
    FAILING,
    NOT_RUN,
    SKIPPED,
    TODO,
    StepResult,
    format_points,
    step_label,
    step_title,
)

RECORDS_NAME = "records.jsonl"


@dataclass
class TestGrade:
    """One test's grade; score and max_score are exact, rounded only in the reports."""

    nodeid: str
    step: int | str
    doc: str
    outcome: str
    message: str
    duration: float
    score: float = 0.0
    max_score: float = 0.0
    output: str = ""

    @property
    def name(self) -> str:
        return f"{step_label(self.step)}: {self.nodeid.split('::', 1)[-1]}"


@dataclass
class Grade:
    impl: str
    tests: list[TestGrade]
    steps: dict[int | str, StepResult]
    max_score: float
    tamper: list[str]
    zeroed: bool
    note: str  # why some tests did not run, or why grading broke; empty when all went well
    seconds: float

    def score(self, step: int | str | None = None) -> float:
        """Points earned, by every test or by one step's tests."""
        return sum(t.score for t in self.tests if step is None or t.step == step)

    def possible(self, step: int | str) -> float:
        return sum(t.max_score for t in self.tests if t.step == step)


def run_suite(root: Path, impl: str, config: GradingConfig, out: Path,
              pytest_args: list[str]) -> bool:
    """Run pytest once with the grading plugin; True when it had to be killed."""
    command = [sys.executable, "-m", "pytest", "--impl", impl, "--require-data",
               "-p", "kata.grade_plugin", "--grade-records", str(out / RECORDS_NAME),
               "--grade-time-limit", str(config.run_limit_s),
               "--timeout", str(config.test_timeout_s),
               "-p", "no:cacheprovider", "-q", "--tb=short", *pytest_args]
    # Options and plugins from the environment could change what runs or how it is reported.
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    with open(out / "pytest.log", "w") as log:
        # A session of its own, so that the hard stop also ends any process the tests started.
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            process.wait(timeout=config.run_limit_s + config.hard_kill_grace_s)
            return False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True


def read_records(path: Path) -> tuple[list[dict] | None, dict[str, dict]]:
    """The collected tests (None if collection never finished) and each finished test's record."""
    collected, finished = None, {}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if "collected" in record:
                collected = record["collected"]
            else:
                finished[record["nodeid"]] = record
    return collected, finished


def test_output(test: TestGrade, step_todo: bool) -> str:
    if TIME_LIMIT_MESSAGE in test.message:
        return TIME_LIMIT_MESSAGE
    if test.outcome == NOT_RUN:
        return test.message
    if test.outcome == DONE:
        if step_todo:
            return (f"passed, but {step_label(test.step)} still reaches a stub: its points count "
                    "once every function of the step is written")
        return "passed"
    if test.outcome == TODO:
        return f"todo, the stub is not written yet: {test.message}"
    if test.outcome == SKIPPED:
        return f"skipped: {test.message}"
    return "\n".join(part for part in (test.doc, test.message) if part)


def grade(impl: str, config: GradingConfig, collected: list[dict], finished: dict[str, dict],
          tamper: list[str], note: str, seconds: float) -> Grade:
    """Score every collected test from the run's records; a test without one did not run."""
    by_step: dict[int | str, list[TestGrade]] = {step: [] for step in config.points}
    for entry in collected:
        if entry["step"] in by_step:
            record = finished.get(entry["nodeid"], {})
            by_step[entry["step"]].append(TestGrade(
                entry["nodeid"], entry["step"], entry["doc"], record.get("outcome", NOT_RUN),
                record.get("message", note), record.get("duration", 0.0)))
    # A tampered config cannot be trusted to switch its own penalty off.
    zeroed = bool(tamper) and (config.zero_when_changed or any(CONFIG_NAME in t for t in tamper))
    tests: list[TestGrade] = []
    steps: dict[int | str, StepResult] = {}
    for step, step_tests in by_step.items():
        result = steps[step] = StepResult()
        for test in step_tests:
            result.record(test.nodeid, test.outcome)
        for test in step_tests:
            test.max_score = result.share(config.points[step])
            test.score = 0.0 if zeroed else result.score(config.points[step], test.nodeid)
            test.output = test_output(test, bool(result.count(TODO)))
            if zeroed and test.outcome == DONE:
                test.output += "\n0 points: tests or grading files were changed (tamper check)"
        if not step_tests:  # a step whose tests are gone still counts in the maximum
            step_tests = [TestGrade(f"{step_label(step)}::no test ran", step, "", NOT_RUN,
                                    "", 0.0, 0.0, config.points[step],
                                    "no test of this step ran: is its test file missing?")]
        tests += step_tests
    return Grade(impl, tests, steps, config.max_score, tamper, zeroed, note, seconds)


def tamper_text(grade: Grade) -> str:
    if not grade.tamper:
        return f"tests and grading files are as recorded in {MANIFEST_NAME}"
    verdict = ("the score is set to 0" if grade.zeroed
               else "the score stands (zero_when_changed is off)")
    return f"changed since {MANIFEST_NAME}: " + "; ".join(grade.tamper) + f"; {verdict}"


def markdown(grade: Grade) -> str:
    lines = [f"## MNIST kata grade: {format_points(grade.score())}/"
             f"{format_points(grade.max_score)} points", "",
             f"Package `{grade.impl}`, graded in {grade.seconds:.1f} s.", "",
             "| step | status | tests passed | points |", "| --- | --- | --- | --- |"]
    for step, result in grade.steps.items():
        lines.append(f"| {step_label(step)}: {step_title(step)} | {result.status} | "
                     f"{result.count(DONE)}/{len(result.outcomes)} | "
                     f"{format_points(grade.score(step))}/{format_points(grade.possible(step))} |")
    lines += ["", f"**Tamper check:** {tamper_text(grade)}."]
    if grade.note:
        lines += ["", f"**Note:** {grade.note}"]
    failing = [t for t in grade.tests if t.outcome in (FAILING, NOT_RUN)]
    if failing:
        lines += ["", f"### Failing or not run ({len(failing)})", ""]
        for test in failing[:20]:
            why = " ".join(test.output.split())
            lines.append(f"- `{test.nodeid}`: {why}")
        if len(failing) > 20:
            lines.append(f"- ... and {len(failing) - 20} more, in results.json and junit.xml")
    return "\n".join(lines) + "\n"


def gradescope_json(grade: Grade, config: GradingConfig, summary: str) -> dict:
    """Gradescope's results.json: the total, the run's summary, and one entry per test.

    A test is "passed" only when it earned points: one that passes in a step still reaching
    a stub, or in a tampered run, scores 0 and is "failed". The spec has no top-level
    max_score, so it goes in extra_data.
    """
    tests = [{"name": t.name, "score": round(t.score, 4), "max_score": round(t.max_score, 4),
              "status": "passed" if t.outcome == DONE and t.score > 0 else "failed",
              "output": t.output, "visibility": config.visibility} for t in grade.tests]
    tests.append({"name": "tamper check", "score": 0.0, "max_score": 0.0,
                  "status": "failed" if grade.tamper else "passed",
                  "output": tamper_text(grade), "visibility": config.visibility})
    return {"score": round(grade.score(), 2), "execution_time": round(grade.seconds, 1),
            "output": summary, "output_format": "md", "visibility": config.visibility,
            "stdout_visibility": "hidden", "extra_data": {"max_score": grade.max_score},
            "tests": tests}


def junit_xml(grade: Grade) -> ET.ElementTree:
    """JUnit XML: a failure per failing test, a skip per todo, the tamper check as a test."""
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
    tamper = ET.Element("testcase", classname="kata.manifest", name="tamper_check", time="0")
    if grade.tamper:
        ET.SubElement(tamper, "failure", message=tamper_text(grade)).text = \
            "\n".join(grade.tamper)
    cases.append(tamper)
    failures = sum(1 for case in cases if case.find("failure") is not None)
    skipped = sum(1 for case in cases if case.find("skipped") is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0",
              "skipped": str(skipped), "time": f"{grade.seconds:.3f}"}
    suites = ET.Element("testsuites", name="mnist-kata", **counts)
    suite = ET.SubElement(suites, "testsuite", name=f"mnist-kata grade of {grade.impl}",
                          timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          **counts)
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", format_points(grade.score())),
                        ("max_score", format_points(grade.max_score)),
                        ("impl", grade.impl), ("tamper", "; ".join(grade.tamper) or "none")):
        ET.SubElement(properties, "property", name=name, value=value)
    suite.extend(cases)
    ET.indent(suites)
    return ET.ElementTree(suites)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.grade",
                                     description="Grade a package of the eight steps.")
    parser.add_argument("--impl", default=os.environ.get("KATA_IMPL", "exercises"))
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--root", type=Path, default=Path("."), help="the kata's folder")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    root, out = args.root.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    config = load_config(root)

    started = time.monotonic()
    killed = run_suite(root, args.impl, config, out, args.pytest_args)
    collected, finished = read_records(out / RECORDS_NAME)
    broke = collected is None and not killed
    if killed:
        note = (f"not run: grading was stopped at its hard time limit "
                f"({config.run_limit_s + config.hard_kill_grace_s:g} s)")
    elif broke:
        note = "grading broke: the test run ended before collecting any test; see pytest.log"
    else:
        note = "" if len(finished) == len(collected) else \
            "not run: the test run ended early; see pytest.log"
    if any(TIME_LIMIT_MESSAGE in record["message"] for record in finished.values()):
        note = note or f"{TIME_LIMIT_MESSAGE} ({config.run_limit_s:g} s); later tests scored 0"
    result = grade(args.impl, config, collected or [], finished, changes(root), note,
                   time.monotonic() - started)

    summary = markdown(result)
    (out / "summary.md").write_text(summary)
    (out / "results.json").write_text(
        json.dumps(gradescope_json(result, config, summary), indent=2) + "\n")
    junit_xml(result).write(out / "junit.xml", encoding="utf-8", xml_declaration=True)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as step_summary:
            step_summary.write(summary)
    print(summary)
    print(f"reports in {out}: results.json, junit.xml, summary.md, pytest.log")
    return 1 if broke else 0


if __name__ == "__main__":
    sys.exit(main())
