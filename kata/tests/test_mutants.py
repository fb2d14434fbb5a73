"""The tooling of `make mutants`, `make flaky` and `make verify`, without running the suite:
the catalogue applies to the reference, edits and verdicts, tables, and the runner's JUnit
reading and time limit."""

import json
import textwrap
from pathlib import Path

import pytest

from kata.proofs import flaky, verify
from kata.proofs.mistakes import ALL, MISTAKES, DoesNotApply, Edit, Mistake, apply_edits
from kata.proofs.mutants import (
    BROKEN,
    CAUGHT,
    NOT_APPLIED,
    NOT_NAMED,
    SURVIVED,
    MutantResult,
    format_table,
    module_file,
    mutated_source,
    named_before,
    prepare,
    verdict_of,
)
from kata.proofs.runner import FAILED, PASSED, CaseResult, Job, PytestRun, read_junit, run_jobs
from kata.proofs.variants import solutions_dir
from kata.steps import STEPS


def test_the_catalogue_holds_25_or_more_mistakes_with_unique_names_in_every_step():
    names = [m.name for m in MISTAKES]
    assert len(names) >= 25 and len(set(names)) == len(names)
    assert {m.step for m in MISTAKES} == {step.number for step in STEPS}
    assert all(m.description and m.edits for m in MISTAKES)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
def test_every_mistake_applies_to_the_reference_and_changes_it(mistake):
    """Catches: an edit whose text the reference no longer holds (run before `make verify`)."""
    original = (solutions_dir() / module_file(mistake.step)).read_text()
    assert mutated_source(mistake) != original


def test_an_edit_changes_the_occurrence_it_names():
    source = "a = f(x)\nb = f(x)\nc = f(x)\n"
    assert apply_edits(source, (Edit("f(x)", "g(x)"),)) == "a = g(x)\nb = f(x)\nc = f(x)\n"
    assert apply_edits(source, (Edit("f(x)", "g(x)", 2),)) == "a = f(x)\nb = g(x)\nc = f(x)\n"
    assert apply_edits(source, (Edit("f(x)", "g(x)", ALL),)) == "a = g(x)\nb = g(x)\nc = g(x)\n"


@pytest.mark.parametrize("edit", [Edit("h(x)", "g(x)"), Edit("f(x)", "g(x)", 4)],
                         ids=["missing", "too-few"])
def test_an_edit_that_finds_nothing_does_not_apply(edit):
    with pytest.raises(DoesNotApply, match=r"found \d time"):
        apply_edits("a = f(x)\nb = f(x)\n", (edit,))


def test_a_mistake_the_reference_has_outgrown_is_reported_not_run(tmp_path):
    stale = Mistake("stale", 3, "an edit of code that is gone",
                    (Edit("self.conv1 = nn.Conv2d(", "x"),))
    result = prepare(stale, tmp_path, "mutant_stale")
    assert isinstance(result, MutantResult) and result.verdict == NOT_APPLIED
    assert "step3_network.py" in result.detail and "self.conv1" in result.detail
    assert not result.ok


def test_an_edit_that_breaks_the_syntax_is_an_error(tmp_path):
    broken = Mistake("broken", 4, "unbalanced brackets",
                     (Edit("nn.CrossEntropyLoss()", "nn.CrossEntropyLoss(("),))
    result = prepare(broken, tmp_path, "mutant_broken")
    assert result.verdict == BROKEN and "syntax" in result.detail


def run_with(returncode: int, *cases: CaseResult, board: Path | None = None) -> PytestRun:
    job = Job(["--board-json", str(board)] if board else [])
    return PytestRun(job, returncode, list(cases), "last line of output", 1.0)


@pytest.mark.parametrize(("named", "verdict"), [
    ({"1": MISTAKES[0].name}, CAUGHT),
    ({"1": "another-mistake"}, NOT_NAMED),
    ({}, NOT_NAMED),
    ({"5": f"another/{MISTAKES[0].name}"}, CAUGHT),  # one diagnosis for two mutants alike
], ids=["named", "another-named", "none-named", "named-with-another"])
def test_a_caught_mistake_counts_only_when_the_boards_headline_names_it(tmp_path, named,
                                                                        verdict):
    board = tmp_path / "board.json"
    board.write_text(json.dumps({"diagnoses": named}))
    run = run_with(1, CaseResult("tests/test_a.py::test_b", FAILED), board=board)
    result = verdict_of(MISTAKES[0], run)
    assert result.verdict == verdict and result.detail == "test_a.py::test_b"


@pytest.mark.parametrize(("returncode", "cases", "verdict", "detail"), [
    (1, [CaseResult("tests/test_a.py::test_ok", PASSED),
         CaseResult("tests/test_a.py::test_b[1]", FAILED)], NOT_NAMED, "test_a.py::test_b[1]"),
    (0, [CaseResult("tests/test_a.py::test_ok", PASSED)], SURVIVED, "1 passed: no test failed"),
    (4, [], BROKEN, "pytest exit 4: last line of output"),
    (-9, [], BROKEN, "pytest exit -9"),
], ids=["caught-without-a-board", "survived", "usage-error", "killed"])
def test_verdicts_name_the_catching_test_or_what_went_wrong(returncode, cases, verdict, detail):
    result = verdict_of(MISTAKES[0], run_with(returncode, *cases))
    assert result.verdict == verdict and result.detail.startswith(detail)


def test_the_table_lines_up_its_columns():
    results = [MutantResult(MISTAKES[0], CAUGHT, "test_x.py::test_y"),
               MutantResult(MISTAKES[-1], SURVIVED, "3 passed: no test failed")]
    lines = format_table(results).splitlines()
    assert lines[0].split() == ["mistake", "step", "result", "board", "named", "first",
                                "failing", "test", "/", "why"]
    starts = {line.index(MISTAKES[0].name if i == 2 else MISTAKES[-1].name) for i, line
              in enumerate(lines) if i >= 2}
    assert starts == {0}
    result_column = lines[0].index("result")
    assert lines[2][result_column:].startswith(CAUGHT)
    assert lines[3][result_column:].startswith(SURVIVED)



def test_before_the_diagnoses_a_headline_could_name_only_a_mistake_first_caught_alone():
    """The 'before' figure of make mutants: the old headline was the first failing test's
    docstring, which can name at most one of the mistakes that test is first to catch."""
    results = [MutantResult(MISTAKES[0], CAUGHT, "test_x.py::test_shared"),
               MutantResult(MISTAKES[1], NOT_NAMED, "test_x.py::test_shared"),
               MutantResult(MISTAKES[2], CAUGHT, "test_x.py::test_alone"),
               MutantResult(MISTAKES[3], SURVIVED, "3 passed: no test failed")]
    assert named_before(results) == 1


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.test_capstone" name="test_accuracy">
  <properties><property name="accuracy" value="0.93"/><property name="accuracy_limit" value="0.9"/>
  <property name="accuracy_margin" value="0.03"/></properties></testcase>
<testcase classname="tests.test_step5_training" name="test_fit[3]">
  <failure message="boom"/></testcase>
<testcase classname="tests.test_step1_libraries" name="test_todo">
  <skipped message="Step 1: write it"/></testcase>
</testsuite></testsuites>
"""


def test_junit_gives_each_tests_node_id_outcome_and_recorded_margins(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    cases = read_junit(path)
    assert [(c.nodeid, c.outcome) for c in cases] == [
        ("tests/test_capstone.py::test_accuracy", "passed"),
        ("tests/test_step5_training.py::test_fit[3]", "failed"),
        ("tests/test_step1_libraries.py::test_todo", "skipped")]
    assert flaky.margins(run_with(1, *cases)) == {"accuracy": (0.03, 0.93, 0.9)}


def test_an_order_that_changes_an_outcome_is_reported():
    baseline = run_with(0, CaseResult("t.py::a", PASSED), CaseResult("t.py::b", PASSED))
    same = run_with(0, CaseResult("t.py::b", PASSED), CaseResult("t.py::a", PASSED))
    different = run_with(1, CaseResult("t.py::a", PASSED), CaseResult("t.py::b", FAILED))
    lines, ok = verify.orders_report([baseline, same, same])
    assert ok and "same outcomes" in lines[1]
    lines, ok = verify.orders_report([baseline, same, different])
    assert not ok and "1 DIFFER: ['t.py::b']" in lines[2]


def test_the_runner_kills_a_run_past_its_time_limit_and_goes_on(tmp_path):
    tests = tmp_path / "test_tiny.py"
    tests.write_text(textwrap.dedent("""
        import time

        def test_passes():
            pass

        def test_hangs():
            time.sleep(60)
    """))
    quick = Job([f"{tests}::test_passes", "--rootdir", str(tmp_path)])
    hangs = Job([f"{tests}::test_hangs", "--rootdir", str(tmp_path), "-p", "no:timeout"],
                timeout=1)
    finished, killed = run_jobs([quick, hangs], workers=2)
    assert finished.returncode == 0 and finished.counts() == "1 passed"
    assert killed.returncode == -9 and "killed by signal 9" in killed.output


def test_each_run_uses_one_torch_thread_so_two_runs_share_two_cores(tmp_path):
    """Two runs side by side with two threads each slowed CI's verify tenfold: forked after
    torch was imported, a run ignores OMP_NUM_THREADS, so the runner must set the threads."""
    tests = tmp_path / "test_threads.py"
    tests.write_text("import torch\n\n\ndef test_one_thread():\n"
                     "    assert torch.get_num_threads() == 1\n")
    (run,) = run_jobs([Job([str(tests), "--rootdir", str(tmp_path)])], workers=1)
    assert run.counts() == "1 passed", run.output
