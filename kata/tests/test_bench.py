"""kata.proofs.bench: how a run is timed and how the table reads (the runs themselves are
too slow)."""

import json
import os
import platform
import sys

import pytest
import torch

from kata.proofs.bench import spread, summary_row, timed_run

FAKE_PROGRAM = """
import json, sys, time
time.sleep(0.2)  # start-up that the program's own clock does not see
json.dump({"seconds": {"total": 0.5}, "seconds_to_target": 0.3,
           "clock_started_unix": time.time()}, open(sys.argv[1], "w"))
time.sleep(0.5)  # its exit, after the target, which is not counted
"""


def test_launch_to_target_adds_the_start_up_and_leaves_out_the_exit(tmp_path):
    """Catches: a time to 99% that forgets the imports before the program's clock starts,
    or that counts the program's exit (a second of Python's teardown after torch)."""
    metrics_path = tmp_path / "metrics.json"
    metrics = timed_run([sys.executable, "-c", FAKE_PROGRAM, str(metrics_path)], metrics_path)
    assert metrics["launch_to_target"] >= 0.2 + 0.3
    assert metrics["launch_to_target"] <= metrics["wall_seconds"] - 0.5 + 0.3


def test_a_run_that_never_reaches_the_target_has_no_time(tmp_path):
    metrics_path = tmp_path / "metrics.json"
    metrics_path.write_text(json.dumps({"seconds": {"total": 0.0}, "seconds_to_target": None,
                                        "clock_started_unix": 0.0}))
    metrics = timed_run([sys.executable, "-c", "pass"], metrics_path)
    assert metrics["launch_to_target"] is None


def test_spread_gives_the_median_and_the_range():
    assert spread([3.0, 1.0, 2.0], ".1f") == "2.0 (1.0-3.0)"
    assert spread([1234.0], ",.0f") == "1,234"
    assert spread([], ".1f") == "-"


def test_a_row_counts_the_runs_that_reached_the_target():
    """Catches: a table that hides the runs that never reached 99%, or that leaves out the
    whole run (figures and exit), which is what a learner waits for."""
    run = {"launch_to_target": 10.0, "wall_seconds": 11.5, "test_accuracy": 0.991,
           "train_images_per_second": 5000.0, "peak_rss_mb": 900.0}
    row = summary_row("demo", [run, {**run, "launch_to_target": None, "wall_seconds": 20.5}])
    assert row[:4] == ["demo", "1/2", "10.0 s", "16.0 (11.5-20.5) s"]
    assert row[4] == "99.10 (99.10-99.10) %"


def test_every_figure_says_which_cpu_it_comes_from():
    """Catches: figures that do not say which vector units the CPU has (AVX2, AVX-512, AMX) and
    whether bfloat16 was native, which decide the demo's speed (--precision auto)."""
    from kata.proofs.bench import cpu_description

    described = cpu_description()
    assert "cores" in described and "bfloat16" in described, described
    avx2_only = "model name : AMD EPYC\nflags : fpu sse2 avx avx2 fma\n"
    assert cpu_description(avx2_only, {}).endswith("vector units: AVX2; bfloat16 not native")
    xeon = "model name : Xeon\nflags : avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
    assert "AVX2, AVX-512, AVX512-BF16, AMX-BF16; bfloat16 native" in cpu_description(xeon)
    limited = cpu_description(xeon, {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert limited.endswith("PyTorch limited by ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2")


def test_every_figure_says_whether_python_writes_pyc_files():
    """Catches: figures taken where Python writes no .pyc files (PYTHONDONTWRITEBYTECODE, as
    in some containers) passed off as a learner's: where none were written before, every run
    compiles the kata's modules and pytest rewrites Hypothesis's anew (a warm `kata test 1`
    took 0.83 s, against 0.40 s once they had been written, on the Xeon of 2026-12-05)."""
    from kata.proofs.bench import python_description

    assert python_description({}).endswith(", .pyc files written")
    assert python_description({"PYTHONDONTWRITEBYTECODE": "1"}).endswith(
        ".pyc files not written (PYTHONDONTWRITEBYTECODE is set)")


def test_steptime_times_every_layer_both_ways(capsys):
    """Catches: a profile that leaves a layer out, or that cannot say where backward goes
    (the figures behind the reference network's design, docs/speed.md)."""
    from kata.proofs.steptime import main

    assert main(["--steps", "2", "--batch-size", "4"]) == 0
    shown = capsys.readouterr().out
    layers = 9  # the reference: conv, pool, relu, conv, relu, flatten, linear, relu, linear
    for index in range(layers):
        assert f"forward  {index}: " in shown and f"backward {index} " in shown, shown
    assert "optimizer step" in shown and "images/s" in shown


def test_steptime_says_why_it_cannot_time_a_forward_that_reshapes(tmp_path, monkeypatch,
                                                                   capsys):
    """Catches: `kata steptime --impl reshape_flatten` ending in a matrix-shape traceback:
    it ran self.layers alone, without the view that forward does between them."""
    from kata.proofs.steptime import main
    from kata.proofs.variants import build_alternative

    build_alternative(tmp_path, "reshape_flatten")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["--impl", "reshape_flatten", "--steps", "1", "--batch-size", "4"]) == 1
    assert "forward does more than run self.layers" in capsys.readouterr().err


@pytest.mark.skipif(os.name == "nt", reason="--kernels reads the C library's output: Linux, macOS")
def test_steptime_lists_the_kernels_of_a_step(capsys):
    """Catches: `kata steptime --kernels` that loses oneDNN's output (printed by C code, not
    by Python) or misreads it: the convolutions' passes must appear, named."""
    import torch

    from kata.proofs.steptime import main

    assert main(["--steps", "1", "--batch-size", "4", "--kernels"]) == 0
    shown = capsys.readouterr().out
    assert "kernels of one step" in shown, shown
    # On x86-64 PyTorch's CPU convolutions are oneDNN's; elsewhere they may be another library's.
    if torch.backends.mkldnn.is_available() and platform.machine() in ("x86_64", "AMD64"):
        kernels = shown.split("kernels of one step", 1)[1]
        for propagation in ("forward_training", "backward_weights"):
            assert f"convolution {propagation}" in kernels, (
                f"no oneDNN convolution {propagation} listed; kata steptime printed:\n{kernels}")


def test_kernel_lines_read_onednn_and_mkl_verbose_output():
    """Catches: a parser that breaks on the verbose formats of oneDNN (v1 and the older
    dnnl_verbose) and MKL, or that lists each layout reorder instead of summing them."""
    from kata.proofs.steptime import kernel_lines

    output = "\n".join([
        "onednn_verbose,v1,info,oneDNN v3.12.0",
        "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32 dst:f32,,,32x1x5x5,"
        "0.005",
        "onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx2,forward_training,"
        "src:f32::blocked:acdb::f0,attr-scratchpad:user,alg:convolution_direct,"
        "mb128_ic1oc32_ih28oh14kh5sh2dh0ph2_iw28ow14kw5sw2dw0pw2,0.417236",
        "dnnl_verbose,exec,cpu,convolution,jit:avx2,backward_weights,src_f32::blocked:acdb:f0,,"
        "alg:convolution_direct,mb128_ic32oc32_ih7oh7kh3sh1dh0ph1_iw7ow7kw3sw1dw0pw1,0.695",
        "MKL_VERBOSE oneMKL 2024.0 Update 2 Product build 20240605 for Intel(R) 64 architecture",
        "MKL_VERBOSE SGEMM(T,N,128,128,1568,0x7ffe,0x55fc,1568,0x55fc,1568,0x7ffe,0x55fc,128) "
        "885.26us CNR:OFF Dyn:1 FastMM:1 TID:0  NThr:2",
        "MKL_VERBOSE SGEMM(N,N,1568,128,128,0x7ffe,0x55fc,1568,0x55fc,128,0x7ffe,0x55fc,1568) "
        "1.5s CNR:OFF Dyn:1 FastMM:1 TID:0  NThr:2",
        "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32 dst:f32,,,32,0.003",
    ])
    lines = kernel_lines(output)
    assert len(lines) == 6, lines
    assert "convolution forward_training" in lines[0] and "brg_conv_fwd:avx2" in lines[0]
    assert "0.417 ms" in lines[0] and "mb128_ic1oc32" in lines[0]
    assert "convolution backward_weights" in lines[1] and "jit:avx2" in lines[1]
    assert "oneMKL 2024.0" in lines[2]
    assert "MKL SGEMM" in lines[3] and "T,N,128,128,1568" in lines[3] and "0.885 ms" in lines[3]
    assert "N,N,1568,128,128" in lines[4] and "1500.000 ms" in lines[4], lines[4]
    assert lines[5] == "  2 reorders (layout changes), 0.008 ms"


def test_the_baseline_reads_the_images_as_the_recipe_does(tmp_path):
    """Catches: a baseline that is not pytorch/examples' recipe on a CPU, where the recipe's
    loaders get no options, so its batches come in the dataset's order: shuffling them there
    changes the epochs the baseline needs to 99%, which every speed-up is measured against.
    On an accelerator the recipe shuffles both loaders with one persistent worker."""
    from torch.utils.data import RandomSampler, SequentialSampler

    from kata.proofs.baseline import recipe_loaders
    from kata.testing import write_fake_mnist

    root = write_fake_mnist(tmp_path)
    for loader, batch_size in zip(recipe_loaders(root, torch.device("cpu")), (64, 1000)):
        assert isinstance(loader.sampler, SequentialSampler), (
            "on a CPU the recipe's DataLoader gets no shuffle=True: the images come in order")
        assert (loader.batch_size, loader.num_workers, loader.pin_memory) == (batch_size, 0,
                                                                               False)
    for loader in recipe_loaders(root, torch.device("cuda")):
        assert isinstance(loader.sampler, RandomSampler)
        assert (loader.num_workers, loader.persistent_workers, loader.pin_memory) == (1, True,
                                                                                      True)


def test_the_baseline_trains_with_the_recipes_loaders_and_writes_what_the_bench_reads(
        tmp_path, monkeypatch):
    """Catches: a baseline that builds loaders of its own beside the recipe's, or whose
    metrics.json lacks what `make bench` times it by (its clock's start, the time it reached
    the target), or whose epoch loss is a sum over a batch instead of the batch's mean."""
    import kata.proofs.baseline as baseline
    from kata.testing import write_fake_mnist

    built = []
    recipe_loaders = baseline.recipe_loaders
    monkeypatch.setattr(baseline, "recipe_loaders",
                        lambda *args: built.append(args) or recipe_loaders(*args))
    root = write_fake_mnist(tmp_path / "mnist", train_count=128, test_count=32)
    out = tmp_path / "baseline.json"
    assert baseline.main(["--root", str(root), "--out", str(out), "--epochs", "2",
                          "--stop-at", "0", "--device", "cpu"]) == 0
    assert built == [(root, torch.device("cpu"))], "main() must train on recipe_loaders'"
    metrics = json.loads(out.read_text())
    assert len(metrics["history"]) == 1, "--stop-at 0 is reached after the first epoch"
    assert metrics["seconds_to_target"] == metrics["history"][0]["seconds"] > 0
    assert metrics["clock_started_unix"] > 0 and metrics["train_images_per_second"] > 0
    # The one loss read, the first batch's, is an untrained network's over 10 classes: ln 10.
    assert 1.5 < metrics["history"][0]["loss"] < 3.5, metrics["history"]
