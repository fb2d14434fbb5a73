"""Step 1: importing libraries.

PyTorch builds and trains the network, torchvision brings the MNIST dataset and its image
transforms, and matplotlib draws the results. This step also picks the device to compute on
and makes runs repeatable by seeding the random number generators.
"""

import random

import matplotlib
import torch
import torchvision

KNOWN_DEVICE_TYPES = ("cpu", "cuda", "mps")


def _is_available(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    if device.type == "mps":
        return torch.backends.mps.is_available()
    return True


def get_device(preferred: str | None = None) -> torch.device:
    """The device to compute on: the fastest available one for None or "auto"."""
    if preferred is None or preferred == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preferred)
    except RuntimeError as error:
        raise ValueError(f"unknown device {preferred!r}: use auto, cpu, cuda or mps") from error
    if device.type not in KNOWN_DEVICE_TYPES:
        raise ValueError(f"unknown device {preferred!r}: use auto, cpu, cuda or mps")
    if not _is_available(device):
        raise ValueError(f"device {preferred!r} is not available on this machine")
    return device


def set_seed(seed: int) -> None:
    """Seed Python and torch (every device), so that a run can be repeated exactly."""
    random.seed(seed)
    torch.manual_seed(seed)


def library_versions() -> dict[str, str]:
    """The versions of the three libraries the kata uses."""
    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "matplotlib": matplotlib.__version__,
    }
