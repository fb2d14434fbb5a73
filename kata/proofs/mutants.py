"""`make mutants`: plant each learner mistake of the catalogue (kata/mistakes.py) in a copy of
solutions/, run that step's tests on it, and show which test catches it.

    kata mutants                   # every mistake, two at a time
    kata mutants --only 5 no-gray  # step 5's mistakes and the one named no-gray
    kata mutants --list            # the catalogue

solutions/ itself is never edited. Each run runs the step's tests as a learner's `kata test N`
does, and reads the board it draws: a mistake counts as caught when a test fails AND the
board's headline names it (kata/loop/diagnoses.py); caught but not named is "NOT NAMED". The
table shows the first failing test. A mistake with `capstone=True` also runs the capstone on
the real MNIST (MNIST_ROOT). The exit status is 1 when a mistake survives, is not named, does
not apply, or its run breaks.
"""

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kata import data
from kata.proofs.mistakes import MISTAKES, DoesNotApply, Mistake, apply_edits
from kata.proofs.runner import Job, PytestRun, run_jobs
from kata.proofs.variants import build_package, solutions_dir
from kata.steps import STEPS

CAUGHT, SURVIVED, NOT_APPLIED, BROKEN = "caught", "SURVIVED", "DOES NOT APPLY", "ERROR"
NOT_NAMED = "NOT NAMED"  # a test fails, but the board's headline does not name the mistake


@dataclass
class MutantResult:
    mistake: Mistake
    verdict: str
    detail: str  # the catching test, or what went wrong
    seconds: float = 0.0
    named: str = ""  # the mistake(s) the board's headline named

    @property
    def ok(self) -> bool:
        return self.verdict == CAUGHT


def module_file(step: int) -> str:
    return f"{STEPS[step - 1].module}.py"


def mutated_source(mistake: Mistake) -> str:
    """The step module of solutions/ with the mistake's edits made; raises DoesNotApply."""
    source = (solutions_dir() / module_file(mistake.step)).read_text()
    mutated = apply_edits(source, mistake.edits)
    compile(mutated, module_file(mistake.step), "exec")  # a SyntaxError is the catalogue's bug
    return mutated


def tests_for(mistake: Mistake) -> list[str]:
    """The step's test file, and the capstone on the real MNIST when the mistake needs it."""
    files = [f"tests/test_{STEPS[mistake.step - 1].module}.py"]
    return [*files, "tests/test_capstone.py", "--require-data"] if mistake.capstone else files


def board_file(workdir: Path, package: str) -> Path:
    return workdir / f"{package}.board.json"


def named_by_board(job: Job) -> list[str]:
    """The mistakes the headlines of the run's board named, one per failing step."""
    if "--board-json" not in job.args:
        return []
    path = Path(job.args[job.args.index("--board-json") + 1])
    board = json.loads(path.read_text()) if path.exists() else {}
    return list(board.get("diagnoses", {}).values())


def verdict_of(mistake: Mistake, run: PytestRun) -> MutantResult:
    failure = run.first_failure()
    if run.returncode == 0:
        return MutantResult(mistake, SURVIVED, f"{run.counts()}: no test failed", run.seconds)
    if run.returncode == 1 and failure:
        named = named_by_board(run.job)
        verdict = CAUGHT if any(mistake.name in names.split("/") for names in named) \
            else NOT_NAMED
        return MutantResult(mistake, verdict, failure.nodeid.removeprefix("tests/"),
                            run.seconds, ", ".join(named) or "-")
    return MutantResult(mistake, BROKEN, f"pytest exit {run.returncode}: {run.tail()}",
                        run.seconds)


def prepare(mistake: Mistake, workdir: Path, package: str) -> Job | MutantResult:
    """The pytest run for a mistake, with its mutant package built; or why there is none."""
    try:
        source = mutated_source(mistake)
    except DoesNotApply as error:
        return MutantResult(mistake, NOT_APPLIED, f"{module_file(mistake.step)}: {error}")
    except SyntaxError as error:
        return MutantResult(mistake, BROKEN, f"the edit breaks the syntax: {error}")
    build_package(workdir, package, sources={module_file(mistake.step): source})
    return Job([*tests_for(mistake), "--impl", package, "--board-json",
                str(board_file(workdir, package))], pythonpath=workdir, timeout=300)


def run_mutants(mistakes: list[Mistake], workdir: Path, workers: int = 2,
                extra_jobs: tuple[Job, ...] = ()) -> tuple[list[MutantResult], list[PytestRun]]:
    """Every mistake's verdict, printed as each finishes. `extra_jobs` (make verify's longer
    runs) go first on the same workers; their runs come back second."""
    if any(m.capstone for m in mistakes) and data.missing_files(data.mnist_root()):
        raise SystemExit(data.how_to_get(data.mnist_root()) + " (the capstone mistakes need it)")
    prepared = [prepare(m, workdir, f"mutant_{i:02d}") for i, m in enumerate(mistakes)]
    for result in prepared:
        if isinstance(result, MutantResult):
            report(result)
    planted = [(m, job) for m, job in zip(mistakes, prepared) if isinstance(job, Job)]
    extra = len(extra_jobs)

    def done(index: int, run: PytestRun) -> None:
        if index >= extra:
            report(verdict_of(planted[index - extra][0], run))

    runs = run_jobs([*extra_jobs, *(job for _, job in planted)], workers, on_done=done)
    verdicts = iter(verdict_of(m, run) for (m, _), run in zip(planted, runs[extra:]))
    results = [next(verdicts) if isinstance(job, Job) else job for job in prepared]
    return results, runs[:extra]


def format_table(results: list[MutantResult]) -> str:
    rows = [("mistake", "step", "result", "board named", "first failing test / why")]
    rows += [(r.mistake.name, str(r.mistake.step), r.verdict, r.named or "-", r.detail)
             for r in results]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4]
             for row in rows]
    lines.insert(1, "-" * min(100, max(len(line) for line in lines)))
    return "\n".join(line.rstrip() for line in lines)


def named_before(results: list[MutantResult]) -> int:
    """How many mistakes the board named before the diagnoses, generously counted: its
    headline was the first failing test's docstring, which can name a mistake only when that
    test is the first to fail for no other mistake of the catalogue."""
    failing = [r.detail for r in results if r.verdict in (CAUGHT, NOT_NAMED)]
    return sum(failing.count(test) == 1 for test in failing)


def summary(results: list[MutantResult]) -> str:
    caught = sum(result.verdict in (CAUGHT, NOT_NAMED) for result in results)
    named = sum(result.ok for result in results)
    return (f"{caught} of {len(results)} mistakes caught; the board's headline names "
            f"{named} of {len(results)} (by the first failing test's docstring alone, at "
            f"most {named_before(results)})")


def selected(only: list[str]) -> list[Mistake]:
    if not only:
        return list(MISTAKES)
    chosen = [m for m in MISTAKES if m.name in only or str(m.step) in only]
    unknown = set(only) - {m.name for m in MISTAKES} - {str(m.step) for m in MISTAKES}
    if unknown:
        raise SystemExit(f"--only: no mistake or step called {', '.join(sorted(unknown))}")
    return chosen


def report(result: MutantResult) -> None:
    """Print one line as each mutant finishes, so a long run shows progress."""
    print(f"  {result.verdict:<14} {result.mistake.name} ({result.seconds:.1f} s)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME_OR_STEP")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run side by side")
    parser.add_argument("--list", action="store_true", help="print the catalogue and stop")
    args = parser.parse_args(argv)
    mistakes = selected(args.only)
    if args.list:
        for m in mistakes:
            print(f"step {m.step}  {m.name:<28} {m.description}")
        return 0
    print(f"planting {len(mistakes)} mistakes in copies of solutions/, {args.jobs} at a time")
    with tempfile.TemporaryDirectory() as workdir:
        results, _ = run_mutants(mistakes, Path(workdir), args.jobs)
    print(format_table(results))
    print(summary(results))
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
