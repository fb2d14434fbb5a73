"""`make bench`: the demo against the pytorch/examples recipe, timed side by side.

    make bench                          # both programs 3 times, then one step's feedback,
                                        # cold and warm, step by step
    kata bench --repeats 0 --suite      # only the learner's feedback times
    kata bench --device cuda            # on a GPU

Each run is a fresh process, timed from its launch (imports included) to the end of the
first epoch whose test accuracy reaches 99.0%. Runs of the two programs alternate, so a
busy moment of the machine hurts both alike. Prints the median and the range of each figure
and the speed-up (median against median).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.99


def timed_run(command: list[str], metrics_path: Path) -> dict:
    """Run one program to the end; its metrics.json with the launch-to-target time added."""
    launched = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - launched
    metrics = json.loads(metrics_path.read_text())
    startup = wall - metrics["seconds"]["total"]  # interpreter, imports, and exit
    reached = metrics["seconds_to_target"]
    metrics["wall_seconds"] = wall
    metrics["launch_to_target"] = None if reached is None else startup + reached
    return metrics


def spread(values: list[float], fmt: str) -> str:
    """'median (min-max)' of the values, or '-' when there are none."""
    if not values:
        return "-"
    median = format(statistics.median(values), fmt)
    if len(values) == 1:
        return median
    return f"{median} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def summary_row(name: str, runs: list[dict]) -> list[str]:
    times = [run["launch_to_target"] for run in runs if run["launch_to_target"] is not None]
    reached = f"{len(times)}/{len(runs)}"
    return [name, reached,
            spread(times, ".1f") + " s",
            spread([100 * run["test_accuracy"] for run in runs], ".2f") + " %",
            spread([run["train_images_per_second"] for run in runs], ",.0f"),
            spread([run["peak_rss_mb"] for run in runs if run["peak_rss_mb"]], ",.0f") + " MB"]


def print_table(rows: list[list[str]]) -> None:
    header = ["program", "reached 99%", "launch to 99.0%", "final test accuracy",
              "train images/s", "peak RSS"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def time_suite(python: str) -> None:
    """The learner's feedback time: the whole solutions suite, then each step alone, and the
    time to grade the reference (make grade: the same suite, run trusted)."""
    print("\nfeedback time, wall seconds from launch (pytest --impl solutions):")
    targets = [("whole suite", [])] + [(f"step {n}", ["--step", str(n)]) for n in range(1, 9)]
    for label, extra in targets:
        launched = time.perf_counter()
        subprocess.run([python, "-m", "pytest", "--impl", "solutions", "-q",
                        "-p", "no:cacheprovider", *extra],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"  {label:<12} {time.perf_counter() - launched:5.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="kata-bench-") as out:
        launched = time.perf_counter()
        subprocess.run([python, "-m", "kata", "grade", "--impl", "solutions", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"  {'make grade':<12} {time.perf_counter() - launched:5.1f} s "
              "(the reference, graded)", flush=True)


def cpu_description() -> str:
    """The CPU a figure comes from: its model, cores, and whether it computes bfloat16 natively
    (which decides the demo's --precision auto)."""
    model, flags = "unknown CPU", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = value
    except OSError:
        pass
    native = "avx512_bf16" in flags.split() or "amx_bf16" in flags.split()
    return (f"{model}, {os.cpu_count()} cores, bfloat16 "
            f"{'native (avx512_bf16)' if native else 'not native'}")


def time_feedback(python: str, repeats: int = 3) -> None:
    """One step's feedback, cold (a fresh pytest: the imports every time) against warm (a run
    forked from kata.loop.warm's server, as `kata watch` and the notebook run it)."""
    from kata.loop.warm import WarmRunner

    print("\none step's feedback, wall seconds (pytest --impl solutions --step N; median of "
          f"{repeats}):", flush=True)
    runner = WarmRunner()
    started = time.perf_counter()
    runner.start()
    print(f"  warm server start (imports, once): {time.perf_counter() - started:.1f} s")
    print(f"  {'step':<10} {'cold':>6} {'warm':>6}")
    root = Path(__file__).resolve().parents[2]
    for step in range(1, 9):
        args = ["--impl", "solutions", "--step", str(step), "-q", "-p", "no:cacheprovider"]
        cold, warm = [], []
        for _ in range(repeats):
            launched = time.perf_counter()
            subprocess.run([python, "-m", "pytest", *args], cwd=root, check=True,
                           stdout=subprocess.DEVNULL)
            cold.append(time.perf_counter() - launched)
            launched = time.perf_counter()
            code, output = runner.run(args, root)
            warm.append(time.perf_counter() - launched)
            if code != 0:
                raise SystemExit(f"the warm run of step {step} failed:\n{output[-2000:]}")
        print(f"  step {step:<5} {statistics.median(cold):5.1f}s {statistics.median(warm):5.1f}s",
              flush=True)
    runner.close()


def compare(args: argparse.Namespace) -> None:
    """Run the demo and the baseline args.repeats times each, alternating; print the table."""
    python = sys.executable
    runs: dict[str, list[dict]] = {"demo": [], "baseline": []}
    print(f"{args.repeats} runs of each on {args.device}, {os.cpu_count()} CPUs; "
          f"MNIST_ROOT={os.environ.get('MNIST_ROOT', 'data')}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kata-bench-") as scratch:
        for repeat in range(args.repeats):
            out = Path(scratch) / f"demo-{repeat}"
            runs["demo"].append(timed_run(
                [python, "-m", "kata", "demo", "--quiet", "--device", args.device,
                 "--seed", str(repeat), "--out", str(out), *args.demo_args.split()],
                out / "metrics.json"))
            metrics = Path(scratch) / f"baseline-{repeat}.json"
            runs["baseline"].append(timed_run(
                [python, "-m", "kata.proofs.baseline", "--device", args.device,
                 "--seed", str(repeat + 1), "--stop-at", str(TARGET), "--out", str(metrics)],
                metrics))
            print(f"run {repeat + 1}: demo {runs['demo'][-1]['wall_seconds']:.1f} s, "
                  f"baseline {runs['baseline'][-1]['wall_seconds']:.1f} s", flush=True)

    print()
    print_table([summary_row(f"kata demo ({args.device})", runs["demo"]),
                 summary_row(f"pytorch/examples ({args.device})", runs["baseline"])])
    demo_times, baseline_times = ([run["launch_to_target"] for run in runs[name]]
                                  for name in ("demo", "baseline"))
    if None in demo_times or None in baseline_times:
        print("\nspeed-up: not every run reached 99.0%; see the table")
    else:
        ratio = statistics.median(baseline_times) / statistics.median(demo_times)
        print(f"\nspeed-up to {TARGET:.1%}: {ratio:.1f}x (median launch-to-target time)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each program (0: none, e.g. with --suite)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: cpu)")
    parser.add_argument("--demo-args", default="", help="extra options for the demo")
    parser.add_argument("--suite", action="store_true",
                        help="also time the solutions' test suite and each step's tests")
    parser.add_argument("--no-feedback", action="store_true",
                        help="leave out the cold and warm one-step feedback times")
    args = parser.parse_args(argv)

    print(f"CPU: {cpu_description()}", flush=True)
    if args.repeats > 0:
        compare(args)
    if not args.no_feedback:
        time_feedback(sys.executable)
    if args.suite:
        time_suite(sys.executable)
    return 0


if __name__ == "__main__":
    sys.exit(main())
