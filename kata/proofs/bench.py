"""`make bench`: the demo against the pytorch/examples recipe, timed side by side.

    make bench                          # the demo (in float32 and, where the CPU computes
                                        # bfloat16 natively, in bfloat16) and the baseline 3
                                        # times, then one step's feedback, cold and warm
    kata bench --repeats 0 --suite      # only the learner's feedback times
    kata bench --device cuda            # on a GPU

Each run is a fresh process, timed from its launch (imports included) to the end of the
first epoch whose test accuracy reaches 99.0%, and to its exit. Runs of the two programs
alternate, so a busy moment of the machine hurts both alike. Prints the median and the range
of each figure and the speed-ups (median against median): the demo's 99% against the
baseline's, and the demo's whole run (figures and exit included) against the baseline's 99%.

To see what a CPU without AVX-512 gets on one that has it, limit PyTorch's kernels and oneDNN
to AVX2: `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 make bench`; the CPU line says so.
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

from kata.steps import STEPS

TARGET = 0.99


def timed_run(command: list[str], metrics_path: Path) -> dict:
    """Run one program to the end; its metrics.json with the launch-to-target time added:
    from the launch to the moment its clock read the target (its exit not counted)."""
    launched, launched_unix = time.perf_counter(), time.time()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads(metrics_path.read_text())
    startup = metrics["clock_started_unix"] - launched_unix  # interpreter and imports
    reached = metrics["seconds_to_target"]
    metrics["wall_seconds"] = time.perf_counter() - launched
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
            spread([run["wall_seconds"] for run in runs], ".1f") + " s",
            spread([100 * run["test_accuracy"] for run in runs], ".2f") + " %",
            spread([run["train_images_per_second"] for run in runs], ",.0f"),
            spread([run["peak_rss_mb"] for run in runs if run["peak_rss_mb"]], ",.0f") + " MB"]


def print_table(rows: list[list[str]]) -> None:
    header = ["program", "reached 99%", "launch to 99.0%", "launch to end", "final test accuracy",
              "train images/s", "peak RSS"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def time_suite(python: str) -> None:
    """The learner's feedback time: the whole solutions suite, then each step alone, and the
    time to grade the reference (make grade: the same suite, run trusted)."""
    print("\nfeedback time, wall seconds from launch (pytest --impl solutions):")
    targets = [("whole suite", [])] + [(f"step {step.number}", ["--step", str(step.number)])
                                       for step in STEPS]
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


# Settings that keep PyTorch's own kernels and oneDNN's below what the CPU has.
ISA_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")

# /proc/cpuinfo's flags for the vector units that decide the demo's speed, by name.
VECTOR_UNITS = (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX512-BF16"),
                ("amx_bf16", "AMX-BF16"))


def cpu_description(cpuinfo: str | None = None, environ=os.environ) -> str:
    """The CPU a figure comes from: its model, cores, its vector units (AVX2, AVX-512, AMX)
    and whether it computes bfloat16 natively (which decides the demo's --precision auto);
    and the limits set in `environ` on the units PyTorch may use, if any."""
    model, flags = "unknown CPU", []
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = value.split()
    units = ", ".join(name for flag, name in VECTOR_UNITS if flag in flags)
    native = "native" if "avx512_bf16" in flags or "amx_bf16" in flags else "not native"
    limits = ", ".join(f"{name}={environ[name]}" for name in ISA_LIMITS if environ.get(name))
    return (f"{model}, {os.cpu_count()} cores, vector units: "
            f"{units or 'none of AVX2, AVX-512, AMX'}; bfloat16 {native}"
            + (f"; PyTorch limited by {limits}" if limits else ""))


def python_description(environ=os.environ) -> str:
    """The Python a figure comes from, and whether it writes .pyc files: where it does not
    (PYTHONDONTWRITEBYTECODE, set in some containers) and none were written before, every run
    compiles the kata's modules and pytest rewrites Hypothesis's anew, which a learner's
    machine does once."""
    written = ("not written (PYTHONDONTWRITEBYTECODE is set)"
               if environ.get("PYTHONDONTWRITEBYTECODE") else "written")
    return f"{sys.version.split()[0]}, .pyc files {written}"


def kata_test(python: str, root: Path, step: int, warm: bool) -> float:
    """Wall seconds of `kata test STEP --impl solutions`, as a learner runs it: cold (a fresh
    pytest, the imports every time) or forked from the warm server."""
    launched = time.perf_counter()
    subprocess.run([python, "-m", "kata", "test", str(step), "--impl", "solutions",
                    "-p", "no:cacheprovider"], cwd=root, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=os.environ | {"KATA_WARM": "1" if warm else "0"})
    return time.perf_counter() - launched


def time_feedback(python: str, repeats: int = 3) -> None:
    """One step's feedback, cold against warm: `kata test N` from launch to its board, without
    and with the warm server (kata/loop/server.py) that a first run in a terminal leaves."""
    from kata.loop import server

    root = Path(__file__).resolve().parents[2]
    print("\none step's feedback, wall seconds of `kata test N --impl solutions` (median of "
          f"{repeats}):", flush=True)
    os.chdir(root)  # the server's socket lies in the kata's .kata/
    started = time.perf_counter()
    server.start()
    kata_test(python, root, 1, warm=True)  # answered once the server has imported everything
    print(f"  warm server start (imports, once) and a first run: "
          f"{time.perf_counter() - started:.1f} s")
    print(f"  {'step':<10} {'cold':>6} {'warm':>6}")
    try:
        for step in (step.number for step in STEPS):
            cold, warm = [], []
            for _ in range(repeats):
                cold.append(kata_test(python, root, step, warm=False))
                warm.append(kata_test(python, root, step, warm=True))
            print(f"  step {step:<5} {statistics.median(cold):5.1f}s "
                  f"{statistics.median(warm):5.1f}s", flush=True)
    finally:
        server.stop()


def demo_programs(device: str, demo_args: str) -> list[tuple[str, list[str]]]:
    """The demo's runs to time: on a CPU that computes bfloat16 natively, both precisions
    (float32 is what a CPU without it gets); elsewhere the demo as it picks."""
    import torch

    from kata.device import bfloat16_pays

    if device == "cpu" and "--precision" not in demo_args and \
            bfloat16_pays(torch.device("cpu")):
        return [(f"kata demo ({device}, {precision})", ["--precision", precision])
                for precision in ("float32", "bfloat16")]
    return [(f"kata demo ({device})", [])]


def compare(args: argparse.Namespace) -> None:
    """Run the demo and the baseline args.repeats times each, alternating; print the table."""
    python = sys.executable
    programs = demo_programs(args.device, args.demo_args)
    runs: dict[str, list[dict]] = {name: [] for name, _ in programs}
    baseline = f"pytorch/examples ({args.device})"
    if not args.no_baseline:
        runs[baseline] = []
    print(f"{args.repeats} runs of each on {args.device}, {os.cpu_count()} CPUs; "
          f"MNIST_ROOT={os.environ.get('MNIST_ROOT', 'data')}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kata-bench-") as scratch:
        for repeat in range(args.repeats):
            for index, (name, extra) in enumerate(programs):
                out = Path(scratch) / f"demo-{repeat}-{index}"
                runs[name].append(timed_run(
                    [python, "-m", "kata", "demo", "--quiet", "--device", args.device,
                     "--seed", str(repeat), "--out", str(out), *extra,
                     *args.demo_args.split()],
                    out / "metrics.json"))
            metrics = Path(scratch) / f"baseline-{repeat}.json"
            if baseline in runs:
                runs[baseline].append(timed_run(
                    [python, "-m", "kata.proofs.baseline", "--device", args.device,
                     "--seed", str(repeat + 1), "--stop-at", str(TARGET), "--out", str(metrics)],
                    metrics))
            print(f"run {repeat + 1}: " + ", ".join(
                f"{name} {done[-1]['wall_seconds']:.1f} s" for name, done in runs.items()),
                flush=True)

    print()
    print_table([summary_row(name, done) for name, done in runs.items()])
    if baseline not in runs:
        return
    baseline_times = [run["launch_to_target"] for run in runs[baseline]]
    print()
    for name, _ in programs:
        demo_times = [run["launch_to_target"] for run in runs[name]]
        if None in demo_times or None in baseline_times:
            print(f"speed-up of {name}: not every run reached 99.0%; see the table")
        else:
            ratio = statistics.median(baseline_times) / statistics.median(demo_times)
            print(f"speed-up of {name} to {TARGET:.1%}: {ratio:.1f}x (median launch-to-target "
                  "time)")
            whole = statistics.median(baseline_times) / statistics.median(
                run["wall_seconds"] for run in runs[name])
            print(f"  its whole run, figures and exit included, against the baseline's "
                  f"{TARGET:.1%}: {whole:.1f}x")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each program (0: none, e.g. with --suite)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: cpu)")
    parser.add_argument("--demo-args", default="", help="extra options for the demo")
    parser.add_argument("--no-baseline", action="store_true",
                        help="time the demo alone (the baseline takes minutes a run on a CPU)")
    parser.add_argument("--suite", action="store_true",
                        help="also time the solutions' test suite and each step's tests")
    parser.add_argument("--no-feedback", action="store_true",
                        help="leave out the cold and warm one-step feedback times")
    args = parser.parse_args(argv)

    print(f"CPU: {cpu_description()}", flush=True)
    print(f"Python: {python_description()}", flush=True)
    if args.repeats > 0:
        compare(args)
    if not args.no_feedback:
        time_feedback(sys.executable)
    if args.suite:
        time_suite(sys.executable)
    return 0


if __name__ == "__main__":
    sys.exit(main())
