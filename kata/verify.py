"""`make verify`: the full proof that the tests can be trusted.

1. every mistake of the catalogue (kata/mistakes.py) is caught by some test (`make mutants`);
2. every correct alternative (alternatives/) passes the whole suite, capstone included;
3. the reference gives the same outcome for every test in file order, in random order
   (pytest-randomly) and in parallel (pytest-xdist, -n 2).

All runs share two workers (OMP_NUM_THREADS=1 each), longest first. Needs the real MNIST
(MNIST_ROOT). The exit status is 1 when anything above does not hold.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from . import data
from .mistakes import MISTAKES
from .mutants import format_table, run_mutants, summary
from .runner import Job, PytestRun
from .variants import alternative_names, build_alternative

WHOLE_SUITE = ["--require-data", "--expect", "done"]


def orders(seed: int) -> dict[str, list[str]]:
    """The reference's runs; the random order's seed is printed, so a failure can be repeated."""
    return {
        "file order": [],
        "random order": ["-p", "randomly", f"--randomly-seed={seed}"],
        "parallel": ["-n", "2"],
    }


def alternatives_report(names: list[str], runs: list[PytestRun]) -> tuple[list[str], bool]:
    lines, ok = [], True
    for name, run in zip(names, runs):
        passed = run.returncode == 0
        ok &= passed
        failed = [case.nodeid for case in run.cases if case.outcome == "failed"]
        why = "" if passed else f"  FAILED: {', '.join(failed) or run.tail()}"
        lines.append(f"  {name:<20} {'passed' if passed else 'FAILED':<7} {run.counts():<24} "
                     f"{run.seconds:5.1f} s{why}")
    return lines, ok


def orders_report(runs: list[PytestRun], seed: int = 0) -> tuple[list[str], bool]:
    """Each order's counts, and every test whose outcome differs from the file-order run."""
    baseline = runs[0].outcomes()
    lines, ok = [], runs[0].returncode == 0
    for (order, args), run in zip(orders(seed).items(), runs):
        how = " ".join(args)
        differ = sorted(nodeid for nodeid in baseline.keys() | run.outcomes().keys()
                        if baseline.get(nodeid) != run.outcomes().get(nodeid))
        ok &= run.returncode == 0 and not differ
        verdict = "same outcomes" if not differ else f"{len(differ)} DIFFER: {differ[:5]}"
        lines.append(f"  {order:<13} {how:<37} {run.counts():<12} {run.seconds:5.1f} s  "
                     f"{verdict if run is not runs[0] else ''}".rstrip())
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side")
    args = parser.parse_args(argv)
    if data.missing_files(data.mnist_root()):
        raise SystemExit(data.how_to_get(data.mnist_root()))
    started = time.perf_counter()
    names = alternative_names()
    seed = random.randrange(1_000_000)
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            build_alternative(Path(workdir), name)
        suite_jobs = [Job(["--impl", name, *WHOLE_SUITE], pythonpath=Path(workdir))
                      for name in names]
        suite_jobs += [Job(["--impl", "solutions", *WHOLE_SUITE, *order_args])
                       for order_args in orders(seed).values()]
        print(f"verify: {len(MISTAKES)} mistakes, {len(names)} alternatives, the reference in "
              f"{len(orders(seed))} orders; {args.jobs} runs at a time", flush=True)
        results, suite_runs = run_mutants(list(MISTAKES), Path(workdir), args.jobs,
                                          tuple(suite_jobs))

    print("\nmistakes (make mutants):")
    print(format_table(results))
    print(summary(results))
    print("\ncorrect alternatives, whole suite with the capstone:")
    alternative_lines, alternatives_ok = alternatives_report(names, suite_runs[:len(names)])
    print("\n".join(alternative_lines))
    print("\nthe reference in every order:")
    order_lines, orders_ok = orders_report(suite_runs[len(names):], seed)
    print("\n".join(order_lines))

    ok = all(result.ok for result in results) and alternatives_ok and orders_ok
    print(f"\nverify: {'PASSED' if ok else 'FAILED'} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
