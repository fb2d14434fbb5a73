"""What the demo changes around the package's steps to train faster; the numbers stay the
same, only how the machine computes them changes (README, "Why it is fast").
"""

import ctypes
import sys

import torch

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
