"""Run pytest on packages, a few runs side by side, and read every test's outcome from JUnit XML.

Shared by `make mutants`, `make flaky` and `make verify`, which start hundreds of short runs.
Importing torch and its friends takes longer than most of those runs, so this process imports
them once and forks a child per run: each child starts pytest with the libraries already
loaded, in its own process (a crash, a hang or a huge allocation ends that run only), with
one thread for torch, so two runs side by side share a 2-core machine fairly.
"""

import os
import signal
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kata.loop.warm import preload
from kata.startup import flush_output

ROOT = Path(__file__).resolve().parents[2]
FAILED, PASSED, SKIPPED = "failed", "passed", "skipped"


@dataclass
class Job:
    """One pytest run: its arguments, a folder to put on the import path, extra environment."""

    args: list[str]
    pythonpath: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 600


@dataclass
class CaseResult:
    nodeid: str
    outcome: str
    message: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class PytestRun:
    job: Job
    returncode: int
    cases: list[CaseResult]
    output: str
    seconds: float

    def first_failure(self) -> CaseResult | None:
        return next((case for case in self.cases if case.outcome == FAILED), None)

    def outcomes(self) -> dict[str, str]:
        return {case.nodeid: case.outcome for case in self.cases}

    def counts(self) -> str:
        tally: dict[str, int] = {}
        for case in self.cases:
            tally[case.outcome] = tally.get(case.outcome, 0) + 1
        return ", ".join(f"{count} {outcome}" for outcome, count in sorted(tally.items()))

    def tail(self, lines: int = 3) -> str:
        return " | ".join(self.output.strip().splitlines()[-lines:])


def nodeid_of(testcase: ET.Element) -> str:
    """tests/test_x.py::test_y[param], from JUnit's classname "tests.test_x" and name."""
    return f"{testcase.get('classname', '').replace('.', '/')}.py::{testcase.get('name')}"


def read_junit(path: Path) -> list[CaseResult]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    cases = []
    for testcase in ET.parse(path).iter("testcase"):
        outcome, message = PASSED, ""
        for child in testcase:
            if child.tag in ("failure", "error"):
                outcome, message = FAILED, child.get("message", "")
                break
            if child.tag == "skipped":
                outcome, message = SKIPPED, child.get("message", "")
        properties = {prop.get("name"): prop.get("value") for prop in testcase.iter("property")}
        cases.append(CaseResult(nodeid_of(testcase), outcome, message, properties))
    return cases


def run_child(job: Job, workdir: Path) -> None:
    """In the forked child: run pytest with output to a file, then exit with its status."""
    import torch

    status = 3
    try:
        os.chdir(ROOT)
        # torch read OMP_NUM_THREADS when the parent imported it, so the variable alone would
        # leave two threads per run: two runs side by side would then fight over two cores.
        os.environ.update({"OMP_NUM_THREADS": "1", **job.env})
        torch.set_num_threads(1)
        if job.pythonpath:  # for this process, and for any worker it starts (pytest -n)
            sys.path.insert(0, str(job.pythonpath))
            os.environ["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(job.pythonpath), os.environ.get("PYTHONPATH")]))
        output = os.open(workdir / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        import pytest

        status = int(pytest.main(["-p", "no:cacheprovider", "-q",
                                  f"--junitxml={workdir / 'junit.xml'}", *job.args]))
    except BaseException:  # the child must never return into the parent's code
        traceback.print_exc()
    finally:
        flush_output()
        os._exit(status)


def collect(job: Job, workdir: Path, status: int, seconds: float) -> PytestRun:
    output_file = workdir / "output.txt"
    output = output_file.read_text(errors="replace") if output_file.exists() else ""
    if os.WIFSIGNALED(status):
        returncode = -os.WTERMSIG(status)
        output += f"\nkilled by signal {-returncode} after {seconds:.0f} s"
    else:
        returncode = os.WEXITSTATUS(status)
    run = PytestRun(job, returncode, read_junit(workdir / "junit.xml"), output, seconds)
    for leftover in workdir.iterdir():
        leftover.unlink()
    workdir.rmdir()
    return run


def run_jobs(jobs: list[Job], workers: int = 2,
             on_done: Callable[[int, PytestRun], None] | None = None) -> list[PytestRun]:
    """Run every job, `workers` at a time; a run past its timeout is killed (a failed run)."""
    preload()
    results: list[PytestRun | None] = [None] * len(jobs)
    waiting = list(enumerate(jobs))
    running: dict[int, tuple[int, Path, float]] = {}  # pid -> job index, workdir, start
    while waiting or running:
        while waiting and len(running) < workers:
            index, job = waiting.pop(0)
            workdir = Path(tempfile.mkdtemp(prefix="kata-run-"))
            flush_output()
            pid = os.fork()
            if pid == 0:
                run_child(job, workdir)
            running[pid] = (index, workdir, time.perf_counter())
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for child, (index, _, started) in running.items():
                if time.perf_counter() - started > jobs[index].timeout:
                    os.kill(child, signal.SIGKILL)
            time.sleep(0.05)
            continue
        index, workdir, started = running.pop(pid)
        results[index] = collect(jobs[index], workdir, status, time.perf_counter() - started)
        if on_done:
            on_done(index, results[index])
    return results


def run_pytest(args: list[str], pythonpath: Path | None = None,
               env: dict[str, str] | None = None) -> PytestRun:
    """One pytest run in a child process."""
    return run_jobs([Job(args, pythonpath, env or {})], workers=1)[0]
