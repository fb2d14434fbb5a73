"""`kata steptime`: where one training step of the demo goes, layer by layer.

    kata steptime                              # the reference, batches of 128, float32
    kata steptime --impl exercises --batch-size 256
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 kata steptime   # as on an AVX2-only CPU

Trains the package's network on random images as the demo does on a CPU (channels-last
weights, the package's loss and optimizer, fused where it can be, glibc keeping freed memory)
and times each layer's forward and backward pass, the loss and the optimizer's update: the
median over the steps, in milliseconds. The backward time of a layer runs from the moment
autograd reaches it to the moment it reaches the layer before.
"""

import argparse
import statistics
import sys
import time
from collections import defaultdict

import torch
from torch import nn

from kata.demo.measure import Clock
from kata.demo.speed import fuse, keep_freed_memory
from kata.steps import load_step


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kata steptime", description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="solutions")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)

    keep_freed_memory()
    torch.manual_seed(0)
    device = torch.device("cpu")
    step4 = load_step(args.impl, 4)
    model = step4.build_model(device).to(memory_format=torch.channels_last)
    layers = getattr(model, "layers", None)
    if not isinstance(layers, nn.Sequential):
        print("kata steptime: the network keeps no nn.Sequential in self.layers", file=sys.stderr)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
