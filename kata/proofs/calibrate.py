"""Calibrate the capstone threshold: run the capstone pipeline over many seeds.

    kata calibrate --seeds 20 --device cpu
    kata calibrate --seeds 20 --device cuda --alternative tutorial_network

Without --impl or --alternative it runs the packages the thresholds rest on: the reference,
the tutorial's network and SGD with momentum (the slowest learner of the alternatives).
Prints each run's accuracy and, per package, the minimum, the mean and the margin between the
minimum and the capstone's threshold.
"""

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from kata import data
from kata.capstone import SETTING, CapstoneSetting, run_pipeline
from kata.device import resolve_device
from kata.paths import given_path
from kata.proofs.variants import build_alternative

THRESHOLD_PACKAGES = (["solutions"], ["tutorial_network", "sgd_momentum"])


def accuracy_of(package: str, root: Path, device_name: str, setting: CapstoneSetting,
                seed: int) -> tuple[float, float]:
    """One capstone run in a worker process: its accuracy and how long it took."""
    started = time.perf_counter()
    result = run_pipeline(package, root, resolve_device(device_name), setting, seed=seed)
    return result.accuracy, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", action="append", default=[], help="a package to run (repeatable)")
    parser.add_argument("--alternative", action="append", default=[],
                        help="an alternatives/ folder to run (repeatable)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side (processes)")
    parser.add_argument("--root", type=given_path, default=data.mnist_root(),
                        help="MNIST folder (default: $MNIST_ROOT or data)")
    args = parser.parse_args(argv)
    if not args.impl and not args.alternative:
        args.impl, args.alternative = THRESHOLD_PACKAGES

    device = resolve_device(args.device)
    print(f"device {device}: {SETTING}", flush=True)
    packages = args.impl + args.alternative
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.alternative:
            build_alternative(Path(workdir), name)
        sys.path.insert(0, workdir)  # the workers start with the same sys.path
        runs = [(package, seed) for package in packages for seed in range(args.seeds)]
        spawn = multiprocessing.get_context("spawn")  # a fresh process: safe with CUDA too
        with ProcessPoolExecutor(args.jobs, mp_context=spawn) as pool:
            futures = [pool.submit(accuracy_of, package, args.root, args.device, SETTING, seed)
                       for package, seed in runs]
            accuracies: dict[str, list[float]] = {package: [] for package in packages}
            for (package, seed), future in zip(runs, futures):
                accuracy, seconds = future.result()
                accuracies[package].append(accuracy)
                print(f"{package} seed {seed:2d}: accuracy {accuracy:.4f} ({seconds:.1f} s)",
                      flush=True)
    for package, values in accuracies.items():
        low = min(values)
        print(f"{package}: min {low:.4f}  mean {statistics.mean(values):.4f}  "
              f"max {max(values):.4f}  threshold {SETTING.min_accuracy:.2f}  "
              f"margin {low - SETTING.min_accuracy:+.4f}  over {args.seeds} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
