"""`make grade` on a throw-away kata: scores, the three report formats, tampering, time limits.

Each test grades the fake package of fakes.py (pytest runs in a subprocess, as in real
grading) and reads the reports back with real parsers: json, xml.etree and junitparser.
"""

import dataclasses
import json
import xml.etree.ElementTree as ET

import pytest
from fakes import ALL_WRITTEN, HANGS, HANGS_FOR_GOOD, ROOT, TODO_STUB, WRONG
from junitparser import JUnitXml

from kata import grade
from kata.config import load_config
from kata.grade_plugin import DESELECTED_MESSAGE, TIME_LIMIT_MESSAGE

pytest_plugins = ["pytester"]

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def run_grade(fake_kata, monkeypatch, summary_file=None, pytest_args=()):
    if summary_file:
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    else:
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    out = fake_kata.path / "reports"
    code = grade.main(["--impl", "fake", "--root", str(fake_kata.path), "--out", str(out),
                       "--", *pytest_args])
    results = json.loads((out / "results.json").read_text())
    check_gradescope(results)
    check_junit(out / "junit.xml", results)
    return code, results, (out / "summary.md").read_text()


def check_gradescope(results: dict) -> None:
    """What Gradescope's autograder specification asks of results.json."""
    assert isinstance(results["score"], float | int)
    assert isinstance(results["execution_time"], float | int)
    assert isinstance(results["output"], str)
    assert results["visibility"] in VISIBILITIES
    assert results["stdout_visibility"] in VISIBILITIES
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert test["status"] in {"passed", "failed"}
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == pytest.approx(sum(test["score"] for test in results["tests"]),
                                             abs=0.01)
    # Not a top-level key of the spec: our own, in extra_data.
    assert "max_score" not in results
    assert results["extra_data"]["max_score"] == pytest.approx(
        sum(t["max_score"] for t in results["tests"]))


def check_junit(path, results: dict) -> None:
    """The XML parses with xml.etree and junitparser, and agrees with results.json."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suite = next(iter(JUnitXml.fromfile(str(path))))
    cases = list(suite)
    assert suite.tests == len(cases) == len(results["tests"])
    failed = sum(1 for case in cases if case.result and case.result[0]._tag == "failure")
    assert suite.failures == failed
    properties = {prop.name: prop.value for prop in suite.properties()}
    assert float(properties["score"]) == pytest.approx(results["score"], abs=0.01)
    assert float(properties["max_score"]) == results["extra_data"]["max_score"]


def by_name(results: dict) -> dict[str, dict]:
    return {test["name"]: test for test in results["tests"]}


def test_a_complete_package_scores_full_marks(fake_kata, monkeypatch, tmp_path):
    fake_kata.write(ALL_WRITTEN)
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("earlier steps' summary\n")
    code, results, summary = run_grade(fake_kata, monkeypatch, step_summary)
    assert code == 0
    assert results["score"] == results["extra_data"]["max_score"] == 100
    assert all(test["status"] == "passed" for test in results["tests"])
    assert "## MNIST kata grade: 100/100 points" in summary
    assert step_summary.read_text() == "earlier steps' summary\n" + summary  # appended


def test_partial_credit_inside_a_step_and_nothing_for_a_step_still_todo(fake_kata, monkeypatch):
    fake_kata.write(ALL_WRITTEN | {2: WRONG, 8: TODO_STUB})
    code, results, summary = run_grade(fake_kata, monkeypatch)
    assert code == 0
    assert results["score"] == 65  # steps 1, 3-7: 60; step 2: half of 10; step 8, capstone: 0
    tests = by_name(results)
    assert tests["step 2: test_answer"]["score"] == 0
    assert tests["step 2: test_answer"]["output"] == (
        "Catches: an answer that is off by one.\n"
        "AssertionError: answer() should be 42\nassert 41 == 42")
    assert tests["step 2: test_answer_is_a_number"]["score"] == 5
    assert tests["step 8: test_answer"]["output"] == (
        "todo, the stub is not written yet: Step 8: write answer")
    assert tests["step 8: test_answer"]["status"] == "failed"
    assert "| step 2: Downloading the dataset | failing | 1/2 | 5/10 |" in summary
    assert "| step 8: Prediction with image visualization | todo | 0/2 | 0/10 |" in summary


def test_editing_a_test_is_reported_in_every_output_and_scores_zero(fake_kata, monkeypatch):
    fake_kata.write(ALL_WRITTEN)
    edited = fake_kata.path / "tests" / "test_step3_network.py"
    edited.write_text(edited.read_text().replace("== 42", "== answer()"))
    (fake_kata.path / "tests" / "test_capstone.py").unlink()
    code, results, summary = run_grade(fake_kata, monkeypatch)
    assert code == 0
    assert results["score"] == 0
    # Every test passed, but none earned a point: none reads "passed" on Gradescope.
    assert all(test["status"] == "failed" for test in results["tests"])
    tamper = by_name(results)["tamper check"]
    assert tamper["status"] == "failed"
    for text in (tamper["output"], results["output"], summary):
        assert "edited: tests/test_step3_network.py" in text
        assert "missing: tests/test_capstone.py" in text
    suite = next(iter(JUnitXml.fromfile(str(fake_kata.path / "reports" / "junit.xml"))))
    properties = {prop.name: prop.value for prop in suite.properties()}
    assert "edited: tests/test_step3_network.py" in properties["tamper"]


def grade_of_a_complete_run(config) -> grade.Grade:
    """A grade worked out from the records of a run where both tests of every step passed."""
    collected, finished = [], {}
    for step in config.points:
        for name in ("test_one", "test_two"):
            nodeid = f"tests/test_{step}.py::{name}"
            collected.append({"nodeid": nodeid, "step": step, "doc": ""})
            finished[nodeid] = {"outcome": "done", "message": "", "duration": 0.1}
    return collected, finished


@pytest.mark.parametrize(("switch", "changed", "score"), [
    (True, "edited: tests/test_step1_libraries.py", 0),
    (False, "edited: tests/test_step1_libraries.py", 100),  # reported, and scored
    (False, "edited: grading.toml", 0),  # a changed config cannot switch its penalty off
])
def test_the_tamper_switch(switch, changed, score):
    config = dataclasses.replace(load_config(ROOT), zero_when_changed=switch)
    collected, finished = grade_of_a_complete_run(config)
    result = grade.grade("fake", config, collected, finished, [changed], "", 1.0)
    assert result.score() == score
    assert changed in grade.tamper_text(result)
    assert changed in grade.markdown(result)


def test_deselected_tests_score_zero_but_keep_their_share_of_the_points(fake_kata, monkeypatch):
    fake_kata.write(ALL_WRITTEN)
    deselect = ("--deselect", "tests/test_step2_dataset.py::test_answer_is_a_number",
                "-k", "not capstone")
    code, results, summary = run_grade(fake_kata, monkeypatch, pytest_args=deselect)
    assert code == 0
    tests = by_name(results)
    assert tests["step 2: test_answer_is_a_number"]["output"] == DESELECTED_MESSAGE
    assert tests["step 2: test_answer_is_a_number"]["status"] == "failed"
    assert tests["step 2: test_answer"]["score"] == 5  # half of step 2, not all of it
    assert tests["capstone: test_the_whole_pipeline"]["max_score"] == 20
    assert results["score"] == 75
    assert "| step 2: Downloading the dataset | not run | 1/2 | 5/10 |" in summary


def test_pytest_options_and_plugins_from_the_environment_are_ignored(fake_kata, monkeypatch):
    # A plugin that turns every failing test into a pass, offered both ways.
    (fake_kata.path / "lenient.py").write_text(
        "import pytest\n\n"
        "@pytest.hookimpl(wrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    report = yield\n"
        "    report.outcome = 'passed'\n"
        "    return report\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p lenient")
    monkeypatch.setenv("PYTEST_PLUGINS", "lenient")
    fake_kata.write(ALL_WRITTEN | {2: WRONG})
    _, results, _ = run_grade(fake_kata, monkeypatch)
    assert results["score"] == 95
    assert by_name(results)["step 2: test_answer"]["status"] == "failed"


def test_junit_puts_a_class_in_classname_and_survives_an_empty_output():
    config = load_config(ROOT)
    nodeid = "tests/test_step1_libraries.py::TestDevice::test_cpu"
    collected = [{"nodeid": nodeid, "step": 1, "doc": ""}]
    finished = {nodeid: {"outcome": "failing", "message": "", "duration": 0.1}}
    result = grade.grade("fake", config, collected, finished, [], "", 1.0)
    case = grade.junit_xml(result).getroot().find("testsuite/testcase")
    assert case.get("classname") == "tests.test_step1_libraries.TestDevice"
    assert case.get("name") == "test_cpu"
    assert case.find("failure").get("message") == "failing"


def test_a_hanging_test_costs_its_points_and_grading_goes_on(fake_kata, monkeypatch):
    fake_kata.set_config("test_timeout_s = 60", "test_timeout_s = 1")
    fake_kata.write(ALL_WRITTEN | {3: HANGS})
    code, results, _ = run_grade(fake_kata, monkeypatch)
    assert code == 0
    assert results["score"] == 90  # step 3's two tests hang; everything else passes
    assert "Timeout (>1.0s)" in by_name(results)["step 3: test_answer"]["output"]


def test_past_the_run_limit_the_remaining_tests_score_zero_and_say_why(fake_kata, monkeypatch):
    fake_kata.set_config("run_limit_s = 900", "run_limit_s = 2")
    fake_kata.write(ALL_WRITTEN | {2: HANGS})
    code, results, summary = run_grade(fake_kata, monkeypatch)
    assert code == 0
    tests = by_name(results)
    assert tests["step 1: test_answer"]["status"] == "passed"
    assert "Timeout" in tests["step 2: test_answer"]["output"]  # cut to the run's budget
    assert tests["step 5: test_answer"]["output"] == TIME_LIMIT_MESSAGE
    assert results["score"] == 10
    assert TIME_LIMIT_MESSAGE in summary


def test_a_hang_no_timeout_stops_is_killed_and_the_reports_are_still_written(
        fake_kata, monkeypatch):
    fake_kata.set_config("run_limit_s = 900", "run_limit_s = 2")
    fake_kata.set_config("hard_kill_grace_s = 120", "hard_kill_grace_s = 10")
    fake_kata.write(ALL_WRITTEN | {2: HANGS_FOR_GOOD})
    code, results, summary = run_grade(fake_kata, monkeypatch)
    assert code == 0  # grading worked: the learner's code hung
    tests = by_name(results)
    assert tests["step 1: test_answer"]["status"] == "passed"
    stopped = "not run: grading was stopped at its hard time limit (12 s)"
    assert tests["step 2: test_answer"]["output"] == stopped
    assert tests["capstone: test_the_whole_pipeline"]["output"] == stopped
    assert results["score"] == 10 and stopped in summary


def test_a_run_that_cannot_start_is_a_grading_failure_with_reports(fake_kata, monkeypatch):
    (fake_kata.path / "conftest.py").write_text("import no_such_module\n")
    code, results, _ = run_grade(fake_kata, monkeypatch)
    assert code == 1
    assert results["score"] == 0 and "grading broke" in results["output"]
