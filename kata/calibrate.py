"""Calibrate the capstone threshold: run the capstone pipeline over many seeds.

    python -m kata.calibrate --seeds 20 --device cpu
    python -m kata.calibrate --seeds 20 --device cuda --alternative tutorial_network
    python -m kata.calibrate --seeds 20 --device cpu --setting gpu   # the GPU threshold, slowly

Prints each run's accuracy and, per package, the minimum, the mean and the margin between the
minimum and the threshold the capstone test uses on that device.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from . import data
from .capstone import CPU_SETTING, GPU_SETTING, run_pipeline, setting_for
from .device import resolve_device
from .variants import build_alternative


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", action="append", default=[], help="a package to run (repeatable)")
    parser.add_argument("--alternative", action="append", default=[],
                        help="an alternatives/ folder to run (repeatable)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--setting", choices=("cpu", "gpu"),
                        help="whose threshold to calibrate (default: the device's)")
    parser.add_argument("--root", type=Path, default=data.mnist_root(),
                        help="MNIST folder (default: $MNIST_ROOT or data)")
    args = parser.parse_args(argv)
    if not args.impl and not args.alternative:  # the two networks the thresholds rest on
        args.impl, args.alternative = ["solutions"], ["tutorial_network"]

    device = resolve_device(args.device)
    setting = {"cpu": CPU_SETTING, "gpu": GPU_SETTING}.get(args.setting) or setting_for(device)
    print(f"device {device}: {setting}")
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.alternative:
            build_alternative(Path(workdir), name)
        sys.path.insert(0, workdir)
        for package in args.impl + args.alternative:
            accuracies = []
            for seed in range(args.seeds):
                started = time.perf_counter()
                result = run_pipeline(package, args.root, device, setting, seed=seed)
                accuracies.append(result.accuracy)
                print(f"{package} seed {seed:2d}: accuracy {result.accuracy:.4f} "
                      f"({time.perf_counter() - started:.1f} s)", flush=True)
            low = min(accuracies)
            print(f"{package}: min {low:.4f}  mean {statistics.mean(accuracies):.4f}  "
                  f"max {max(accuracies):.4f}  threshold {setting.min_accuracy:.2f}  "
                  f"margin {low - setting.min_accuracy:+.4f}  over {args.seeds} seeds", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
