"""`make grade` on a throw-away kata: scores, exact points, the report formats, tampering,
forgery, review, time limits.

Each test grades the fake package of fakes.py through the real grading (kata.grading.engine:
the suite runs in a child process, sandboxed when this runs as root) and reads the reports
back with real parsers: json, xml.etree, junitparser and jsonschema.
"""

import dataclasses
import json
import os
import xml.etree.ElementTree as ET
from decimal import Decimal

import jsonschema
import pytest
from fakes import (
    ALL_WRITTEN,
    CLASSROOM50_RESULT,
    HANGS,
    HANGS_FOR_GOOD,
    ROOT,
    TODO_STUB,
    WRONG,
)
from junitparser import JUnitXml

from kata.config import load_config
from kata.grading import grade, report
from kata.grading.child import DESELECTED_MESSAGE, TIME_LIMIT_MESSAGE
from kata.grading.engine import GradedTest, Run
from kata.proofs.cheats import CHEATS

pytest_plugins = ["pytester"]

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
AS_ROOT = os.name == "posix" and os.geteuid() == 0
CHEATS_BY_NAME = {cheat.name: cheat for cheat in CHEATS}

# The forgery that scored 100/100 before grading was trusted, appended to an untouched step.
REPORT_REWRITE = TODO_STUB + CHEATS_BY_NAME["report-rewrite"].append[1]
EXITS_AT_IMPORT = "import os\n\nos._exit(0)\n"
def run_grade(fake_kata, monkeypatch, summary_file=None, pytest_args=()):
    if summary_file:
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    else:
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    out = fake_kata.path / "reports"
    code = grade.main(["--impl", "fake", "--root", str(fake_kata.path), "--out", str(out),
                       "--", *pytest_args])
    text = (out / "results.json").read_text()
    results = json.loads(text)
    check_gradescope(results, json.loads(text, parse_float=Decimal))
    check_junit(out / "junit.xml", results)
    return code, results, (out / "summary.md").read_text()


def check_gradescope(results: dict, exact: dict) -> None:
    """What Gradescope's autograder specification asks of results.json, and exact sums."""
    assert isinstance(results["score"], float | int)
    assert isinstance(results["execution_time"], float | int)
    assert isinstance(results["output"], str)
    assert results["visibility"] in VISIBILITIES
    assert results["stdout_visibility"] in VISIBILITIES
    for test in results["tests"]:
        assert set(test) - {"extra_data"} == {"name", "score", "max_score", "status", "output",
                                              "visibility"}
        if "extra_data" in test:  # what a class report reads (kata.gradebook)
            assert set(test["extra_data"]) == {"nodeid", "step", "outcome", "doc", "diagnosis",
                                               "your_code"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert test["status"] in {"passed", "failed"}
        assert 0 <= test["score"] <= test["max_score"]
    # As written, in decimals: the tests' points add up to the total and to the maximum exactly.
    assert Decimal(exact["score"]) == sum(Decimal(t["score"]) for t in exact["tests"])
    assert Decimal(exact["extra_data"]["max_score"]) == sum(
        Decimal(t["max_score"]) for t in exact["tests"])
    assert "max_score" not in results  # not a top-level key of the spec: ours, in extra_data


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
    assert float(properties["score"]) == results["score"]
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
    assert "| step 9: Your own handwriting | done | 3/3 | bonus |" in summary  # worth 0
    assert results["extra_data"]["steps"]["step9"] == {"points": 0.0, "max_points": 0.0,
                                                       "status": "done"}
    assert step_summary.read_text() == "earlier steps' summary\n" + summary  # appended
    assert results["extra_data"]["forged"] == [] and results["extra_data"]["review"] == []


def test_partial_credit_inside_a_step_and_nothing_for_a_step_still_todo(fake_kata, monkeypatch):
    fake_kata.write(ALL_WRITTEN | {2: WRONG, 8: TODO_STUB})
    code, results, summary = run_grade(fake_kata, monkeypatch)
    assert code == 0
    # Steps 1, 3-7: 60; step 2: two of its three tests (3.3333 + 3.3333); step 8, capstone: 0.
    assert results["score"] == 66.6666
    tests = by_name(results)
    assert tests["step 2: test_answer"]["score"] == 0
    assert tests["step 2: test_answer"]["output"] == (
        "Catches: an answer that is off by one.\n"
        "AssertionError: answer() should be 42\nassert 41 == 42")
    assert tests["step 2: test_answer_is_a_number"]["score"] == 3.3333
    assert tests["step 2: test_graders_check[answer_is_a_number]"]["output"] == (
        "passed (checked by the grader)")
    assert tests["step 8: test_answer"]["output"] == (
        "todo, the stub is not written yet: Step 8: write answer")
    assert tests["step 8: test_answer"]["status"] == "failed"
    assert "| step 2: Downloading the dataset | failing | 2/3 | 6.7/10 |" in summary
    assert "| step 8: Prediction with image visualization | todo | 0/3 | 0/10 |" in summary


def test_a_share_that_does_not_divide_evenly_still_adds_up_exactly():
    """Catches: rounding every share the same way, so 23 shares of 10 points made 10.0004."""
    config = load_config(ROOT)
    tests = [GradedTest(f"tests/test_step2_dataset.py::test_{i}", 2, "", "done")
             for i in range(23)]
    result = report.grade("fake", config, Run(tests), [])
    assert result.possible(2) == 100_000  # units of 1/10,000 point: exactly 10 points
    assert sorted({t.max_units for t in result.tests if t.step == 2}) == [4347, 4348]
    assert result.max_units == 1_000_000


def test_editing_a_test_is_reported_in_every_output_and_scores_zero(fake_kata, monkeypatch):
    fake_kata.write(ALL_WRITTEN)
    edited = fake_kata.path / "tests" / "test_step3_network.py"
    edited.write_text(edited.read_text().replace("== 42", "== answer()"))
    (fake_kata.path / "tests" / "test_capstone.py").unlink()
    code, results, summary = run_grade(fake_kata, monkeypatch)
    assert code == 0
    assert results["score"] == 0
    # Every test passed, but none earned a point: none reads "passed" on Gradescope.
    assert all(test["status"] == "failed" for test in results["tests"]
               if test["name"].startswith("step"))
    tamper = by_name(results)["tamper check"]
    assert tamper["status"] == "failed"
    for text in (tamper["output"], results["output"], summary):
        assert "edited: tests/test_step3_network.py" in text
        assert "missing: tests/test_capstone.py" in text
    suite = next(iter(JUnitXml.fromfile(str(fake_kata.path / "reports" / "junit.xml"))))
    properties = {prop.name: prop.value for prop in suite.properties()}
    assert "edited: tests/test_step3_network.py" in properties["tamper"]


def a_complete_run() -> Run:
    """A run where every test of every step passed."""
    return Run([GradedTest(f"tests/test_{step}.py::{name}", step, "", "done")
                for step in load_config(ROOT).points for name in ("test_one", "test_two")])


@pytest.mark.parametrize(("switch", "changed", "score"), [
    (True, "edited: tests/test_step1_libraries.py", 0),
    (False, "edited: tests/test_step1_libraries.py", 100),  # reported, and scored
    (False, "edited: grading.toml", 0),  # a changed config cannot switch its penalty off
])
def test_the_tamper_switch(switch, changed, score):
    config = dataclasses.replace(load_config(ROOT), zero_when_changed=switch)
    result = report.grade("fake", config, a_complete_run(), [changed])
    assert result.score == score
    assert changed in report.tamper_text(result)
    assert changed in report.markdown(result, config)


@pytest.mark.parametrize(("switch", "score"), [(False, 100), (True, 0)])
def test_code_that_needs_review_is_flagged_and_zeroed_only_when_asked(switch, score):
    config = dataclasses.replace(load_config(ROOT), zero_when_flagged=switch)
    run = a_complete_run()
    run.review = ["submission/step1_libraries.py:3: imports gc (the garbage collector)"]
    result = report.grade("fake", config, run, [])
    assert result.score == score
    assert "imports gc" in report.markdown(result, config)
    review = {t["name"]: t for t in report.gradescope_json(result, config, "")["tests"]}
    assert review["code review"]["status"] == "failed"


def test_deselected_tests_score_zero_but_keep_their_share_of_the_points(fake_kata, monkeypatch):
    fake_kata.write(ALL_WRITTEN)
    deselect = ("--deselect", "tests/test_step2_dataset.py::test_answer_is_a_number",
                "-k", "not capstone")
    code, results, summary = run_grade(fake_kata, monkeypatch, pytest_args=deselect)
    assert code == 0
    tests = by_name(results)
    assert tests["step 2: test_answer_is_a_number"]["output"] == DESELECTED_MESSAGE
    assert tests["step 2: test_answer_is_a_number"]["status"] == "failed"
    assert tests["step 2: test_answer"]["score"] == 3.3334  # a third of step 2, not half of it
    assert tests["capstone: test_the_whole_pipeline"]["max_score"] == 10
    assert results["score"] == 76.6667
    assert "| step 2: Downloading the dataset | not run | 2/3 | 6.7/10 |" in summary


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
    assert results["score"] == 96.6666  # step 2 lost test_answer, the first (larger) share
    assert by_name(results)["step 2: test_answer"]["status"] == "failed"


def test_rewriting_the_reports_to_passed_is_caught_and_scores_zero(fake_kata, monkeypatch):
    """Catches: the forgery that scored 100/100 before grading was trusted (report rewrite)."""
    fake_kata.write({1: REPORT_REWRITE})
    _, results, summary = run_grade(fake_kata, monkeypatch)
    assert results["score"] == 0
    forged = " ".join(results["extra_data"]["forged"])
    assert "planted" in forged or "reported passed" in forged, forged
    assert by_name(results)["integrity check"]["status"] == "failed"
    assert "FORGED" in summary


def test_an_exit_at_import_leaves_every_test_unrun_and_scores_zero(fake_kata, monkeypatch):
    """Catches: os._exit(0) when the tests first import the learner's modules."""
    fake_kata.write(ALL_WRITTEN | {1: EXITS_AT_IMPORT})
    code, results, summary = run_grade(fake_kata, monkeypatch)
    assert code == 0 and results["score"] == 0
    assert "the test run ended early" in summary


def test_only_the_step_modules_of_a_submission_are_graded(fake_kata, monkeypatch):
    """Catches: shadowing with extra files (a conftest.py, a package __init__ that patches)."""
    fake_kata.write(ALL_WRITTEN)
    (fake_kata.path / "fake" / "conftest.py").write_text("import sys\nsys.exit(3)\n")
    (fake_kata.path / "fake" / "__init__.py").write_text(REPORT_REWRITE)
    _, results, _ = run_grade(fake_kata, monkeypatch)
    assert results["score"] == 100
    assert set(results["extra_data"]["ignored_files"]) == {"__init__.py", "conftest.py"}


def test_junit_puts_a_class_in_classname_and_survives_an_empty_output():
    config = load_config(ROOT)
    nodeid = "tests/test_step1_libraries.py::TestDevice::test_cpu"
    result = report.grade("fake", config, Run([GradedTest(nodeid, 1, "", "failing")]), [])
    case = report.junit_xml(result, config).getroot().find("testsuite/testcase")
    assert case.get("classname") == "tests.test_step1_libraries.TestDevice"
    assert case.get("name") == "test_cpu"
    assert case.find("failure").get("message") == "failing"


def test_the_classroom50_result_follows_its_contract_in_whole_points():
    config = load_config(ROOT)
    run = a_complete_run()
    run.tests[2].outcome = "failing"  # step 2 loses one of its two tests: 5 of 10 points
    result = report.grade("fake", config, run, [])
    env = {"CLASSROOM": "ml-101", "ASSIGNMENT": "mnist", "OWNER": "alice",
           "SUBMISSION_TAG": "submit/2026-12-01T10-00-00Z-abc1234",
           "COMMIT_URL": "https://github.com/org/repo/commit/abc", "RELEASE_URL": "https://r"}
    payload = report.classroom50_result(result, config, env)
    jsonschema.validate(payload, CLASSROOM50_RESULT)
    assert payload["score"] == 95 and payload["max-score"] == 100
    assert sum(t["score"] for t in payload["tests"]) == payload["score"]
    assert payload["review"] == env["COMMIT_URL"]  # no review link: the commit's
    bonus = next(t for t in payload["tests"] if t["test-name"].startswith("step 9:"))
    assert bonus["passed"] and bonus["score"] == bonus["max-score"] == 0


def test_a_hanging_test_costs_its_points_and_grading_goes_on(fake_kata, monkeypatch):
    fake_kata.set_config("test_timeout_s = 60", "test_timeout_s = 1")
    fake_kata.write(ALL_WRITTEN | {3: HANGS})
    code, results, _ = run_grade(fake_kata, monkeypatch)
    assert code == 0
    assert results["score"] == 90  # step 3's tests hang; everything else passes
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


def test_a_suite_that_cannot_run_is_a_grading_failure_with_reports(fake_kata, monkeypatch):
    (fake_kata.path / "conftest.py").write_text("import no_such_module\n")
    code, results, _ = run_grade(fake_kata, monkeypatch)
    assert code == 1
    assert results["score"] == 0 and "grading broke" in results["output"]


LOOKS_AROUND = '''import os

def answer():
    assert os.environ["HOME"] != "/root", "the learner's code has the grader's home"
    assert os.getuid() != 0, "the learner's code runs as root"
    try:
        listing = os.listdir({hidden!r})
    except PermissionError:
        listing = []
    assert "MNIST" not in listing, "the real MNIST can be read"
    return 42
'''


@pytest.mark.skipif(not AS_ROOT, reason="the sandbox needs root")
def test_as_root_the_learners_code_runs_as_another_user_without_the_hidden_folders(
        fake_kata, monkeypatch, tmp_path):
    secret = tmp_path / "mnist"
    (secret / "MNIST" / "raw").mkdir(parents=True)
    monkeypatch.setenv("MNIST_ROOT", str(secret))
    fake_kata.write(ALL_WRITTEN | {1: LOOKS_AROUND.format(hidden=str(secret))})
    _, results, _ = run_grade(fake_kata, monkeypatch)
    assert results["score"] == 100, results["output"]
    assert "ran as a user of its own" in results["extra_data"]["isolation"]
    assert "without network" in results["extra_data"]["isolation"]
    assert results["extra_data"]["review"]  # it reads os.environ: worth a look


def test_without_root_grading_works_and_says_the_code_ran_as_the_grader(fake_kata, monkeypatch):
    """A learner's own `make grade`: no sandbox, the same verdicts, and the grade says so."""
    from kata.grading import sandbox

    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    fake_kata.write(ALL_WRITTEN | {2: WRONG})
    _, results, _ = run_grade(fake_kata, monkeypatch)
    assert results["score"] == 96.6666
    assert "did not run as root" in results["extra_data"]["isolation"]
    assert by_name(results)["isolation"]["status"] == "failed"
    fake_kata.write({1: REPORT_REWRITE})
    _, results, _ = run_grade(fake_kata, monkeypatch)
    assert results["score"] == 0 and results["extra_data"]["forged"]
