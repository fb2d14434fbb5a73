"""`make flaky N=20`: run the whole suite N times under seeds 0..N-1 (KATA_SEED), for the
reference and the tutorial's network, and report the pass rate and how close each measured
threshold came to failing.

    kata flaky --runs 20
    kata flaky --runs 5 --impl solutions --alternative batchnorm_dropout

The tests that train or measure (the capstone's accuracy, step 5's falling loss, step 3's
nonlinearity) record what they measured, their limit and the margin between the two in the
JUnit report (kata.testing.record_margin); the closest margin over all runs is the one to
watch. Needs the real MNIST (MNIST_ROOT): the capstone is the test most likely to be flaky.
"""

import argparse
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from kata import data
from kata.proofs.runner import Job, PytestRun, run_jobs
from kata.proofs.variants import build_alternative

MARGIN_SUFFIX = "_margin"


def margins(run: PytestRun) -> dict[str, tuple[float, float, float]]:
    """check name -> (margin, measured, limit), for every threshold recorded in one run."""
    found = {}
    for case in run.cases:
        for key, value in case.properties.items():
            if key.endswith(MARGIN_SUFFIX):
                name = key.removesuffix(MARGIN_SUFFIX)
                found[name] = (float(value), float(case.properties[name]),
                               float(case.properties[f"{name}_limit"]))
    return found


def report(package: str, seeds: list[int], runs: list[PytestRun]) -> list[str]:
    passed = [seed for seed, run in zip(seeds, runs) if run.returncode == 0]
    lines = [f"{package}: {len(passed)}/{len(runs)} runs passed"]
    for seed, run in zip(seeds, runs):
        if run.returncode != 0:
            failed = [case.nodeid for case in run.cases if case.outcome == "failed"]
            lines.append(f"  seed {seed} FAILED: {', '.join(failed) or run.tail()}")
    by_check = defaultdict(list)
    for seed, run in zip(seeds, runs):
        for name, (margin, measured, limit) in margins(run).items():
            by_check[name].append((margin, seed, measured, limit))
    for name, values in sorted(by_check.items()):
        margin, seed, measured, limit = min(values)
        measured_values = [value[2] for value in values]
        lines.append(
            f"  {name:<13} limit {limit:g}: closest margin {margin:+.4f} (seed {seed}, measured "
            f"{measured:.4f}); measured min {min(measured_values):.4f} "
            f"mean {statistics.mean(measured_values):.4f} max {max(measured_values):.4f}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="seeds 0..RUNS-1")
    parser.add_argument("--impl", action="append", default=[], help="a package (repeatable)")
    parser.add_argument("--alternative", action="append", default=[],
                        help="an alternatives/ folder (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if not args.impl and not args.alternative:
        args.impl, args.alternative = ["solutions"], ["tutorial_network"]
    if data.missing_files(data.mnist_root()):
        raise SystemExit(data.how_to_get(data.mnist_root()))

    packages = args.impl + args.alternative
    seeds = list(range(args.runs))
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.alternative:
            build_alternative(Path(workdir), name)
        jobs = [Job(["--impl", package, "--require-data", "--device", args.device],
                    pythonpath=Path(workdir), env={"KATA_SEED": str(seed)})
                for package in packages for seed in seeds]
        print(f"{len(jobs)} runs of the whole suite: {', '.join(packages)} x seeds "
              f"0..{args.runs - 1}, {args.jobs} at a time", flush=True)
        runs = run_jobs(jobs, args.jobs, on_done=lambda index, run: print(
            f"  {jobs[index].env['KATA_SEED']:>3} {jobs[index].args[1]}: "
            f"{'passed' if run.returncode == 0 else 'FAILED'} ({run.seconds:.0f} s)", flush=True))
    lines = []
    for position, package in enumerate(packages):
        lines += report(package, seeds, runs[position * len(seeds):(position + 1) * len(seeds)])
    print("\n".join(lines))
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
