"""`make verify`: the full proof that the tests can be trusted.

1. every mistake of the catalogue (kata/mistakes.py) is caught by some test (`make mutants`);
2. the reference gives the same outcome for every test in file order, in random order
   (pytest-randomly) and in parallel (pytest-xdist, -n 2);
3. every dishonest submission of kata/cheats.py is stopped on both grading paths, and the
   reference and every correct alternative (alternatives/) earn full marks when graded, which
   takes every test of the suite, capstone and grader's checks included (`make attacks`).

All runs share two workers (OMP_NUM_THREADS=1 each), longest first. Needs the real MNIST
(MNIST_ROOT). The exit status is 1 when anything above does not hold.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from kata import data
from kata.proofs import attacks
from kata.proofs.mistakes import MISTAKES
from kata.proofs.mutants import format_table, run_mutants, summary
from kata.proofs.runner import Job, PytestRun

WHOLE_SUITE = ["--require-data", "--expect", "done"]


def orders(seed: int) -> dict[str, list[str]]:
    """The reference's runs; the random order's seed is printed, so a failure can be repeated."""
    return {
        "file order": [],
        "random order": ["-p", "randomly", f"--randomly-seed={seed}"],
        "parallel": ["-n", "2"],
    }


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
    seed = random.randrange(1_000_000)
    with tempfile.TemporaryDirectory() as workdir:
        suite_jobs = [Job(["--impl", "solutions", *WHOLE_SUITE, *order_args])
                      for order_args in orders(seed).values()]
        print(f"verify: {len(MISTAKES)} mistakes, the reference in {len(orders(seed))} orders; "
              f"{args.jobs} runs at a time", flush=True)
        results, suite_runs = run_mutants(list(MISTAKES), Path(workdir), args.jobs,
                                          tuple(suite_jobs))

    print("\nmistakes (make mutants):")
    print(format_table(results))
    print(summary(results))
    print("\nthe reference in every order:")
    order_lines, orders_ok = orders_report(suite_runs, seed)
    print("\n".join(order_lines))
    print("\ndishonest submissions and correct alternatives, graded (make attacks):", flush=True)
    attacks_ok = attacks.main(["--jobs", str(args.jobs)]) == 0

    ok = all(result.ok for result in results) and orders_ok and attacks_ok
    print(f"\nverify: {'PASSED' if ok else 'FAILED'} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
