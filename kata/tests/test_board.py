"""The learner's loop: the board's points, the next step, history, --step current, hints, watch."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import ALL_WRITTEN, HANGS, WRITTEN, WRONG

from kata.loop.hints import first_hint, load_hints
from kata.loop.progress import DONE, NOT_RUN, SKIPPED, StepResult
from kata.loop.watch import READY

pytest_plugins = ["pytester"]

HINTS = load_hints()


def test_the_board_shows_each_steps_points_and_the_total(fake_kata):
    fake_kata.write({1: WRITTEN, 2: WRONG})
    result = fake_kata.run()
    result.stdout.fnmatch_lines([
        "step 1 *done*3/3*10/10 pts*Importing libraries",
        "step 2 *failing*2/3*6.7/10 pts*Downloading the dataset",  # partial credit: 2 tests of 3
        "step 3 *todo*0/3*0/10 pts*",
        "capstone *todo*0/2*0/20 pts*",
        "score: 16.7/100 points, 1/8 steps done, capstone todo",
    ])


def test_a_failing_step_shows_the_tests_docstring_and_message_not_a_traceback(fake_kata):
    fake_kata.write({1: WRITTEN, 2: WRONG})
    result = fake_kata.run("-q", "--tb=no", "-rN")  # what `make test` passes
    result.stdout.fnmatch_lines([
        "next: step 2, Downloading the dataset: fake/step2_dataset.py",
        "  failing: tests/test_step2_dataset.py::test_answer",
        "    Catches: an answer that is off by one.",
        "    AssertionError: answer() should be 42",
        "    assert 41 == 42",
        f"  hint: {HINTS['2'][0][:60]}*",  # wrapped to the screen's width
        "  (`kata hint 2` shows the next hint each time you ask)",
    ])
    assert "def test_answer" not in result.stdout.str()  # no traceback in the quiet mode


def test_a_todo_step_shows_its_file_the_stubs_message_and_the_first_hint(fake_kata):
    fake_kata.write({1: WRITTEN, 2: WRITTEN})
    result = fake_kata.run()
    result.stdout.fnmatch_lines([
        "next: step 3, Creating a PyTorch neural network: fake/step3_network.py",
        "  todo: tests/test_step3_network.py::test_answer",
        "    Step 3: write answer",
        f"  hint: {HINTS['3'][0][:60]}*",
    ])


def test_when_every_step_is_done_there_is_no_next_step(fake_kata):
    fake_kata.write(ALL_WRITTEN)
    result = fake_kata.run()
    result.stdout.fnmatch_lines(["score: 100/100 points, 8/8 steps done, capstone done",
                                 "next: nothing; every step that ran is done"])


def test_the_bonus_step_comes_after_the_capstone_worth_no_points(fake_kata):
    fake_kata.write({number: WRITTEN for number in range(1, 9)})  # step 9 still a stub
    result = fake_kata.run()
    result.stdout.fnmatch_lines([
        "capstone *done*2/2*20/20 pts*",
        "step 9 *todo*0/3*bonus*Your own handwriting",
        "score: 100/100 points, 8/8 steps done, capstone done",
        "next: step 9 (bonus), Your own handwriting: fake/step9_your_digits.py",
    ])


def test_a_package_of_the_eight_steps_loses_nothing(fake_kata):
    """An instructor's own package without step 9's module: step 9 is todo, the rest counts."""
    fake_kata.write({number: WRITTEN for number in range(1, 9)})
    (fake_kata.path / "fake" / "step9_your_digits.py").unlink()
    result = fake_kata.run("--expect", "done")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "step 9 *todo*0/3*bonus*",
        "score: 100/100 points, 8/8 steps done, capstone done",
        "expectation --expect done: met",
    ])
    fake_kata.write({})
    (fake_kata.path / "fake" / "step9_your_digits.py").unlink()
    fake_kata.run("--expect", "todo").stdout.fnmatch_lines(["expectation --expect todo: met"])


def test_a_bonus_step_given_points_counts_in_the_score(fake_kata):
    fake_kata.set_config("step9 = 0", "step9 = 10")
    fake_kata.write(ALL_WRITTEN)
    fake_kata.run().stdout.fnmatch_lines([
        "step 9 *done*3/3*10/10 pts*Your own handwriting",
        "score: 110/110 points, 8/8 steps done, capstone done",
    ])


def test_the_board_says_what_changed_since_the_last_run(fake_kata):
    first = fake_kata.run()
    assert "last run" not in first.stdout.str()  # nothing to compare with yet
    fake_kata.write({4: WRITTEN})
    fake_kata.run().stdout.fnmatch_lines(["last run: 0/8 steps done; now 1/8: step 4 now done"])
    fake_kata.write({4: WRONG})
    fake_kata.run().stdout.fnmatch_lines(
        ["last run: 1/8 steps done; now 0/8: step 4 now failing (was done)"])


def test_a_one_step_run_updates_only_that_step_in_the_history(fake_kata):
    fake_kata.write({1: WRITTEN})
    fake_kata.run()
    fake_kata.write({1: WRITTEN, 5: WRITTEN})
    result = fake_kata.run("--step", "5")
    result.stdout.fnmatch_lines(["last run: 1/8 steps done; now 2/8: step 5 now done"])
    history = json.loads((fake_kata.path / ".kata" / "progress.json").read_text())
    assert history["fake"]["1"] == "done" and history["fake"]["5"] == "done"
    assert history["fake"]["2"] == "todo"


def test_expect_runs_leave_the_learners_history_alone(fake_kata):
    fake_kata.run("--expect", "todo")
    assert not (fake_kata.path / ".kata" / "progress.json").exists()


def test_step_current_runs_the_first_step_not_done_in_the_last_run(fake_kata):
    fake_kata.write({1: WRITTEN, 2: WRITTEN})
    fake_kata.run()
    result = fake_kata.run("--step", "current")
    # Only step 3's file is collected: a one-step run imports no other step's tests.
    result.stdout.fnmatch_lines(["kata: step 3 of fake", "collected 3 items", "step 3 *todo*"])


def test_step_current_starts_at_step_1_without_a_history(fake_kata):
    fake_kata.run("--step", "current").stdout.fnmatch_lines(["kata: step 1 of fake"])


def test_a_step_without_any_result_is_not_run_and_skipped_only_when_a_test_was():
    result = StepResult()
    assert result.status == NOT_RUN
    result.record("tests/test_capstone.py::test_one", NOT_RUN)
    assert result.status == NOT_RUN
    result.record("tests/test_capstone.py::test_two", DONE)
    assert result.status == NOT_RUN  # one test of the step did not run: not done
    skipped = StepResult()
    skipped.record("tests/test_capstone.py::test_one", SKIPPED)
    assert skipped.status == SKIPPED


# ---------------------------------------------------------------- kata hint


def run_hint(pytester, *args):
    return pytester.run(sys.executable, "-m", "kata.loop.hints", *args)


def test_each_hint_request_shows_one_more_hint_up_to_the_last(pytester):
    hints = HINTS["5"]
    for asked in range(1, len(hints) + 2):
        result = run_hint(pytester, "5")
        assert result.ret == 0
        shown = min(asked, len(hints))
        result.stdout.fnmatch_lines([f"hint {n}/{len(hints)} for step 5: {hints[n - 1]}"
                                     for n in range(1, shown + 1)])
        assert f"hint {shown + 1}/" not in result.stdout.str()
    result.stdout.fnmatch_lines(["That is every hint for this step*"])


def test_hints_are_counted_per_step(pytester):
    run_hint(pytester, "2")
    run_hint(pytester, "2")
    result = run_hint(pytester, "3")
    assert "hint 1/" in result.stdout.str() and "hint 2/" not in result.stdout.str()


def test_without_a_step_the_hint_is_for_the_current_step(pytester):
    history = {"exercises": {"1": "done", "2": "done", "3": "failing"}}
    (pytester.path / ".kata").mkdir()
    (pytester.path / ".kata" / "progress.json").write_text(json.dumps(history))
    run_hint(pytester).stdout.fnmatch_lines([f"hint 1/*for step 3: {HINTS['3'][0]}"])


def test_an_unknown_step_gets_a_clear_error(pytester):
    result = run_hint(pytester, "10")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["no step 10: choose one of 1, 2, 3, 4, 5, 6, 7, 8, capstone, 9"])


def test_a_broken_hints_file_gives_a_note_instead_of_a_hint(tmp_path):
    broken = tmp_path / "hints.toml"
    broken.write_text('[step1]\nhints = ["unclosed\n')
    note = first_hint("1", broken)
    assert note.startswith("none: hints.toml does not parse (") and "\n" not in note


def test_every_step_has_three_or_more_distinct_hints():
    for step, hints in HINTS.items():
        assert len(hints) >= 3, f"step {step} has {len(hints)} hints"
        assert len(set(hints)) == len(hints), f"step {step} repeats a hint"


# ---------------------------------------------------------------- make watch


def wait_for_runs(log: Path, runs: int, seconds: float = 60) -> str:
    """The watch's output once it has finished `runs` runs (it says so after each)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.read_text().count(READY) >= runs:
            return log.read_text()
        time.sleep(0.1)
    pytest.fail(f"the watch did not finish {runs} run(s); its output:\n{log.read_text()}")


def test_watch_reruns_the_current_step_when_a_file_is_saved(fake_kata):
    """Catches: a watch that misses a save, runs every step, or keeps a module it imported
    before the save (the warm runner must import the learner's code afresh)."""
    log = fake_kata.path / "watch.log"
    command = [sys.executable, "-m", "kata", "watch", "-p", "no:cacheprovider"]
    with open(log, "w") as out:
        watcher = subprocess.Popen(command, cwd=fake_kata.path, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "KATA_IMPL": "fake"})
    try:
        assert "step 1    todo" in wait_for_runs(log, 1)  # the first run, at once
        fake_kata.write({1: WRITTEN})  # the learner saves step 1
        output = wait_for_runs(log, 2)
        assert "now 1/8: step 1 now done" in output
        assert "step 2 " not in output  # only the current step ran; the next run moves on
        fake_kata.write({1: WRITTEN, 2: WRONG})  # step 2, written wrong
        output = wait_for_runs(log, 3).rsplit(READY, 2)[1]
        assert "step 2" in output and "failing" in output, output
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


# ---------------------------------------------------------------- make test, warm


# The learner's step, once it runs: it says so, then never returns.
SAYS_IT_RUNS_THEN_HANGS = ("def answer():\n    open('hanging', 'w').close()\n"
                           "    while True:\n        pass\n")


def kata_test_command() -> list[str]:
    return [sys.executable, "-m", "kata", "test", "1", "--impl", "fake", "-p", "no:cacheprovider"]


def warm_env(warm: str) -> dict[str, str]:
    return {**os.environ, "KATA_WARM": warm, "KATA_WARM_IDLE_S": "120"}


def kata_test(kata: Path, warm: str = "1", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(kata_test_command(), cwd=kata, capture_output=True, text=True,
                          timeout=timeout, env=warm_env(warm))


def the_board(output: str) -> list[str]:
    """The run's output without what differs from one run to the next: times, the history."""
    return [re.sub(r" in [0-9.]+s$", "", line) for line in output.splitlines()
            if not line.startswith(("last run:", "kata test:"))]


def wait_for_log(kata: Path, text: str, seconds: float = 60) -> str:
    log = kata / ".kata" / "warm.log"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text():
            return log.read_text()
        time.sleep(0.1)
    pytest.fail(f"the warm server never logged {text!r}; its log:\n"
                f"{log.read_text() if log.exists() else '(none)'}")


def test_repeated_kata_test_runs_warm_fresh_and_the_same_as_cold(fake_kata):
    """Catches: a second `kata test` that pays the imports again (no warm server), a warm run
    that keeps the learner's module from before a save or prints another board than a cold
    run, a hang that takes the server down with it instead of only its own run, and a Ctrl-C
    that stops the client but not its run."""
    kata = fake_kata.path
    fake_kata.write({1: WRITTEN})
    first = kata_test(kata)  # cold, and it leaves the server behind
    assert "step 1    done" in first.stdout, first.stdout + first.stderr
    server = int(re.search(r"server (\d+) on", wait_for_log(kata, "server ")).group(1))
    try:
        fake_kata.write({1: WRONG})  # the learner saves: the warm run must see it
        warm = kata_test(kata)
        assert "pytest --impl fake --step 1" in wait_for_log(kata, "exit 1"), \
            "the second run did not go to the warm server"
        cold = kata_test(kata, warm="0")
        assert warm.returncode == cold.returncode == 1
        assert the_board(warm.stdout) == the_board(cold.stdout), warm.stdout
        assert "step 1    failing" in warm.stdout

        fake_kata.write({1: HANGS})
        with pytest.raises(subprocess.TimeoutExpired):  # the client is killed at the timeout
            kata_test(kata, timeout=8)
        wait_for_log(kata, "the client left: stopped")  # and its run with it

        # Ctrl-C reaches the client only (the server has a session of its own): the client
        # passes it on, and the run ends as an interrupted cold pytest does.
        fake_kata.write({1: SAYS_IT_RUNS_THEN_HANGS})
        client = subprocess.Popen(
            kata_test_command(), cwd=kata, env=warm_env("1"), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a shell
        try:
            deadline = time.monotonic() + 60
            while not (kata / "hanging").exists():
                assert time.monotonic() < deadline, "the warm run never reached the step"
                time.sleep(0.05)
            client.send_signal(signal.SIGINT)
            output, _ = client.communicate(timeout=30)
        except (AssertionError, subprocess.TimeoutExpired) as error:
            client.kill()
            log = (kata / ".kata" / "warm.log").read_text()
            pytest.fail(f"Ctrl-C did not end the warm run ({error}); the server's log:\n{log}")
        assert client.returncode == 2 and "KeyboardInterrupt" in output, output
        fake_kata.write({1: WRITTEN})
        assert "step 1    done" in kata_test(kata).stdout  # the server still answers
        assert wait_for_log(kata, "pytest").count("exit 0") == 1
    finally:
        os.kill(server, signal.SIGTERM)
