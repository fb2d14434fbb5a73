"""What the demo changes around the package's steps to train and finish faster; the numbers
stay the same, only how the machine computes them changes (docs/speed.md, "Why it is fast").
"""

import contextlib
import ctypes
import io
import os
import pickle
import sys
import traceback
import warnings
from collections.abc import Callable

import torch
from torch import nn

from kata.startup import flush_output

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 2**20  # the largest glibc accepts on a 64-bit system
TRIM_THRESHOLD = 512 * 2**20


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep the memory of freed tensors for the next batch.

    By default every tensor of more than a few MB (a batch's activations and their gradients)
    gets fresh pages from the system, and the system zeroes each page at its first touch:
    on a 2-core CPU the float32 demo made 3 to 5 million page faults and trained at 7,900 to
    9,200 images/s; with this, 220,000 and 12,200 images/s. Taking large blocks from the
    heap and not handing freed ones back ends that. Linux with glibc only; elsewhere
    nothing changes.
    Returns whether the setting took.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def fuse(optimizer: torch.optim.Optimizer, device: torch.device) -> bool:
    """Switch the package's optimizer to its fused implementation, where it has one.

    Adam, AdamW, SGD and Adagrad can update every parameter in one kernel instead of a few
    per tensor: the same arithmetic, fewer passes over memory (about 9% of a step of the
    reference here). It is a setting of the optimizer's parameter groups, read at each
    step; an optimizer without it is left alone. Returns whether it was switched.
    """
    if device.type not in ("cpu", "cuda"):
        return False
    groups = optimizer.param_groups
    if not all("fused" in group and not group.get("differentiable") for group in groups):
        return False
    if any(param.dtype not in (torch.float32, torch.float16, torch.bfloat16) or
           param.device.type != device.type for group in groups for param in group["params"]):
        return False
    for group in groups:
        group["fused"], group["foreach"] = True, False
    return True


def channels_last(network: nn.Module) -> bool:
    """Turn the network's weights channels-last, on the CPU, where its forward pass allows.

    oneDNN's CPU convolutions run faster on channels-last weights (measured here: 1.4x to 2x);
    the numbers are the same, only their order in memory changes. The convolutions' outputs
    come out channels-last too, and a forward pass that flattens them with
    `x.view(x.size(0), -1)` cannot view those (reshape copies them, view raises): the
    network is tried on two blank images first, and left as it is where that fails.
    Returns whether the weights were turned.
    """
    network.to(memory_format=torch.channels_last)
    was_training = network.training
    network.eval()  # no batch statistics are updated by the trial
    try:
        with torch.no_grad():
            network(torch.zeros(2, 1, 28, 28, device=next(network.parameters()).device))
    except RuntimeError:
        network.to(memory_format=torch.contiguous_format)
        return False
    finally:
        network.train(was_training)
    for module in network.modules():
        if isinstance(module, nn.Flatten):
            module.register_forward_pre_hook(_gradient_back_to_channels_last)
    return True


def _gradient_back_to_channels_last(flatten: nn.Flatten, inputs: tuple) -> None:
    """nn.Flatten copies a channels-last map into rows, and the gradient comes back through it
    in the other order. The layer before it (a ReLU) then read its gradient and its own
    output in two orders at once: 0.29 ms for the 24 x 7 x 7 maps of a batch of 128 on AVX2,
    against 0.02 ms in one order and 0.04 ms to reorder the gradient first (about 4% of a
    training step). So the gradient is reordered on its way back; the numbers are the same.
    """
    maps = inputs[0]
    if maps.requires_grad and maps.dim() == 4:
        maps.register_hook(_in_channels_last_order)


def _in_channels_last_order(gradient: torch.Tensor) -> torch.Tensor:
    return gradient.contiguous(memory_format=torch.channels_last)


def side_by_side(here: Callable[[], list], there: Callable[[], list],
                 device: torch.device) -> list:
    """here() in this process and there() in a forked copy of it, at the same time; returns
    here()'s results followed by there()'s.

    After training both cores are free, but matplotlib draws a figure in Python, on one
    core: the demo draws its four figures two and two. What there() prints is printed here,
    after here() is done, and what it raises is raised here (what it returns and raises
    must pickle). Only on Linux, outside a notebook, with the model on the CPU: macOS's
    system libraries, a Jupyter kernel's output and a GPU's context do not survive a fork,
    and Windows has none; elsewhere they run one after the other.
    """
    if device.type != "cpu" or not sys.platform.startswith("linux") or \
            "ipykernel" in sys.modules:
        return here() + there()
    flush_output()
    reader, writer = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 and later warn that a process with threads (OpenMP's) may deadlock in
        # a fork; the copy runs PyTorch on one thread, as DataLoader's forked workers do.
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:
        os.close(reader)
        _run_in_copy(there, writer)
    os.close(writer)
    try:
        mine = here()
    except BaseException:
        # What the copy printed is printed, but this half's error is the one to show.
        with contextlib.suppress(Exception):
            _outcome_of_copy(reader, child)
        raise
    succeeded, result, where = _outcome_of_copy(reader, child)
    if not succeeded:
        # As concurrent.futures does: the copy's traceback, which holds the lines of the
        # learner's code that raised, is shown as the cause of the error raised here.
        result.__cause__ = ForkedTraceback(where)
        raise result
    return mine + result


def _outcome_of_copy(reader: int, child: int) -> tuple:
    """Wait for side_by_side's copy; print what it printed, and return whether it succeeded,
    what it returned or raised, and where it raised."""
    with os.fdopen(reader, "rb") as pipe:
        report = pipe.read()
    _, status = os.waitpid(child, 0)
    if not report:
        raise RuntimeError(f"the process drawing the other figures ended with status {status} "
                           "and no result")
    succeeded, result, printed, where = pickle.loads(report)
    print(printed, end="")
    return succeeded, result, where


class ForkedTraceback(Exception):
    """Where an error raised in side_by_side's forked copy came from, as text."""

    def __str__(self) -> str:
        return f"raised in the copy of this process that drew the other figures:\n{self.args[0]}"


def _run_in_copy(there: Callable[[], list], writer: int) -> None:
    """side_by_side's forked copy: run there() and send back its outcome, then end at once
    (this process's exit handlers belong to the original)."""
    printed, where = io.StringIO(), ""
    try:
        torch.set_num_threads(1)  # the other core is the original's
        with contextlib.redirect_stdout(printed):
            succeeded, result = True, there()
    except BaseException as error:  # everything goes back, to be raised there
        succeeded, result, where = False, error, traceback.format_exc()
    try:
        report = pickle.dumps((succeeded, result, printed.getvalue(), where))
    except Exception as error:  # an exception that does not pickle goes back as words
        report = pickle.dumps((False, RuntimeError(f"{result!r} ({error})"),
                               printed.getvalue(), where))
    with os.fdopen(writer, "wb") as pipe:
        pipe.write(report)
    flush_output()
    os._exit(0)
