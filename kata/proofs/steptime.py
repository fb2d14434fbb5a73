"""`kata steptime`: where one training step of the demo goes, layer by layer.

    kata steptime                              # the reference, batches of 128, float32
    kata steptime --impl exercises --batch-size 256
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 kata steptime   # as on an AVX2-only CPU
    kata steptime --kernels                    # and the native kernels of one step

Trains the package's network on random images as the demo does on a CPU (channels-last
weights, the package's loss and optimizer, fused where it can be, glibc keeping freed memory)
and times each layer's forward and backward pass, the loss and the optimizer's update: the
median over the steps, in milliseconds. The backward time of a layer runs from the moment
autograd reaches it to the moment it reaches the layer before.

`--kernels` then runs one more step with the verbose output of oneDNN (the convolutions) and
of MKL (the Linear layers' matrix products) switched on, and lists what each ran: the
name of oneDNN's kernel says which vector units it uses (`brg_conv_fwd:avx2`), and MKL's
first line which processors' code it runs.
"""

import argparse
import ctypes
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack

import torch
from torch import nn

from kata.demo.measure import Clock
from kata.demo.speed import channels_last, fuse, keep_freed_memory
from kata.steps import load_step

MKL_CALL = re.compile(r"MKL_VERBOSE (\w+)\(([^)]*)\) ([\d.]+)(ns|us|ms|s)\b")
MILLISECONDS_PER = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1000.0}


def timed_step(model: nn.Sequential, loss_fn, optimizer, images, labels,
               reached: list[float]) -> dict[str, float]:
    """One update; the wall seconds of each of its parts. The model's backward pre-hooks
    append to `reached` the moment autograd reaches each layer (all but the last)."""
    clock = Clock()
    with clock.phase("zero_grad"):
        optimizer.zero_grad()
    activations = images
    for name, layer in model.named_children():
        with clock.phase(f"forward  {name}: {type(layer).__name__}"):
            activations = layer(activations)
    with clock.phase("loss"):
        loss = loss_fn(activations, labels)
    reached.clear()
    began = time.perf_counter()
    loss.backward()
    edges = [began, *reached, time.perf_counter()]  # last layer first
    names = [name for name, _ in reversed(list(model.named_children()))]
    for name, start, end in zip(names, edges, edges[1:]):
        clock.phases[f"backward {name}"] = end - start
    with clock.phase("optimizer step"):
        optimizer.step()
    return clock.phases


def native_output(run) -> str:
    """What native code (oneDNN, MKL) printed to the process's standard output during run()."""
    libc = ctypes.CDLL(None)  # the C library's stdio buffers what they print
    sys.stdout.flush()
    kept = os.dup(1)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            run()
        finally:
            libc.fflush(None)
            os.dup2(kept, 1)
            os.close(kept)
        sink.seek(0)
        return sink.read().decode(errors="replace")


def kernel_line(what: str, milliseconds: float, implementation: str, problem: str) -> str:
    return f"  {what:<30} {milliseconds:7.3f} ms  {implementation:<36} {problem}"


def kernel_lines(output: str) -> list[str]:
    """One line per oneDNN primitive or MKL call in their verbose output, with its time.

    oneDNN: `onednn_verbose,...,exec,cpu,convolution,brg_conv_fwd:avx2,forward_training,
    <memory formats>,<attributes>,<algorithm>,mb128_ic1oc32_ih28oh14kh5sh2...,0.41`.
    MKL: `MKL_VERBOSE SGEMM(T,N,128,128,1568,...) 885.26us CNR:OFF ... NThr:2`, after a
    line naming its version and the processors whose code it runs.
    """
    lines, reorders = [], []
    for line in output.splitlines():
        fields = line.split(",")
        if fields[0] in ("onednn_verbose", "dnnl_verbose") and "exec" in fields:
            at = fields.index("exec")
            kind, implementation, propagation = fields[at + 2 : at + 5]
            milliseconds = float(fields[-1])
            if kind == "reorder":  # layout changes of weights and activations: summed
                reorders.append(milliseconds)
            else:
                lines.append(kernel_line(f"{kind} {propagation}", milliseconds,
                                         implementation, fields[-2]))
        elif call := MKL_CALL.match(line):
            name, arguments, took, unit = call.groups()
            milliseconds = float(took) * MILLISECONDS_PER[unit]
            sizes = ",".join(arguments.split(",")[:5])  # the transposes, then M, N and K
            lines.append(kernel_line("matrix product", milliseconds, f"MKL {name}", sizes))
        elif line.startswith("MKL_VERBOSE "):  # its first line: the version, and the
            lines.append(f"  MKL: {line.removeprefix('MKL_VERBOSE ')}")  # processors it serves
    if reorders:
        lines.append(f"  {len(reorders)} reorders (layout changes), {sum(reorders):.3f} ms")
    return lines


def forward_is_layers(model: nn.Module, layers: nn.Sequential) -> bool:
    """Whether the network's forward pass is its Sequential's, which the timing runs alone."""
    images = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        try:
            return torch.equal(model.eval()(images), layers(images))
        except RuntimeError:  # shapes that only forward's own code fits together
            return False
        finally:
            model.train()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata steptime", description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="solutions")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--kernels", action="store_true",
                        help="then list the oneDNN and MKL kernels of one more step")
    args = parser.parse_args(argv)

    keep_freed_memory()
    torch.manual_seed(0)
    device = torch.device("cpu")
    step4 = load_step(args.impl, 4)
    model = step4.build_model(device)
    channels_last(model)
    layers = getattr(model, "layers", None)
    if not isinstance(layers, nn.Sequential):
        print("kata steptime: the network keeps no nn.Sequential in self.layers", file=sys.stderr)
        return 1
    if not forward_is_layers(model, layers):
        print(f"kata steptime: {args.impl}'s forward does more than run self.layers (it "
              "reshapes between them, say), so they cannot be timed one after the other",
              file=sys.stderr)
        return 1
    loss_fn, optimizer = step4.build_loss(), step4.build_optimizer(model)
    fuse(optimizer, device)
    reached: list[float] = []

    def mark(*_):  # autograd has reached this layer: the layer after it is done
        reached.append(time.perf_counter())

    # The last layer needs no mark: its backward starts with the loss's.
    for layer in list(layers.children())[:-1]:
        layer.register_full_backward_pre_hook(mark)
    images = torch.randn(args.batch_size, 1, 28, 28)
    labels = torch.randint(0, 10, (args.batch_size,))
    for _ in range(10):  # warm-up: oneDNN picks its kernels, malloc settles
        timed_step(layers, loss_fn, optimizer, images, labels, reached)
    times: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    for _ in range(args.steps):
        for part, seconds in timed_step(layers, loss_fn, optimizer, images, labels,
                                        reached).items():
            times[part].append(seconds)
    elapsed = time.perf_counter() - started

    print(f"{args.impl}: {args.steps} steps of {args.batch_size} images on "
          f"{torch.get_num_threads()} CPU threads, torch's kernels "
          f"{torch.backends.cpu.get_cpu_capability()}: "
          f"{args.steps * args.batch_size / elapsed:,.0f} images/s "
          f"({1000 * elapsed / args.steps:.2f} ms a step, timing included)")
    medians = {part: 1000 * statistics.median(values) for part, values in times.items()}
    total = sum(medians.values())
    for part, milliseconds in medians.items():
        print(f"  {part:<36} {milliseconds:7.3f} ms  {milliseconds / total:6.1%}")
    print(f"  {'sum of the medians':<36} {total:7.3f} ms")
    if args.kernels:
        print_kernels(lambda: timed_step(layers, loss_fn, optimizer, images, labels, reached))
    return 0


def print_kernels(step) -> None:
    """The native kernels of one step, as oneDNN and MKL name them."""
    if os.name == "nt":  # no C library to flush by that name
        print("kernels: --kernels reads oneDNN's and MKL's output on Linux and macOS only")
        return
    with ExitStack() as verbose:  # each library that this PyTorch build has (no MKL on ARM)
        for library in (torch.backends.mkldnn, torch.backends.mkl):
            if library.is_available():
                verbose.enter_context(library.verbose(library.VERBOSE_ON))
        output = native_output(step)
    lines = kernel_lines(output)
    print("kernels of one step (oneDNN: the convolutions; MKL: the Linear layers' matrix "
          "products), in the order they ran:")
    print("\n".join(lines) if lines else "  none reported: this PyTorch build runs them "
          "without oneDNN or MKL")


if __name__ == "__main__":
    sys.exit(main())
