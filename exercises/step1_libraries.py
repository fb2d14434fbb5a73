"""Step 1: importing libraries.

The tutorial starts by importing its three tools: PyTorch to build and train the network,
torchvision for the MNIST dataset and its image transforms, and matplotlib to draw results.
Here you also choose the device the rest of the kata computes on (GPU when there is one) and
make runs repeatable by seeding the random number generators. Every later step takes a
`device` from `get_device`, and the training scripts call `set_seed` first.

Done when: `kata test 1` (or `make test STEP=1`) passes.
"""

import random  # noqa: F401 -- you will need it in set_seed

import matplotlib  # noqa: F401 -- you will need it in library_versions
import torch
import torchvision  # noqa: F401 -- you will need it in library_versions

from kata import KataTodo

# The device types this kata knows how to check for.
KNOWN_DEVICE_TYPES = ("cpu", "cuda", "mps")


def get_device(preferred: str | None = None) -> torch.device:
    """The `torch.device` that every later step computes on.

    `None` or `"auto"` picks the fastest available: cuda, then mps, then cpu. A name such as
    `"cpu"`, `"cuda"`, `"cuda:1"` or `"mps"` is honoured as asked. An unknown name, or a device
    this machine does not have, raises `ValueError` with the name in its message.
    Look up: `torch.device`, `torch.cuda.is_available`, `torch.cuda.device_count`,
    `torch.backends.mps.is_available`, `KNOWN_DEVICE_TYPES` above.
    Hint: `torch.device(name)` checks only the spelling: it accepts `"cuda"` on a machine with
    no GPU, and raises `RuntimeError` (not `ValueError`) for `"banana"`. Check and convert.
    """
    raise KataTodo("Step 1: return the device named by `preferred`, or the best available one.")


def set_seed(seed: int) -> None:
    """Seed every random number generator the kata uses, so a run can be repeated exactly.

    After `set_seed(s)`, `torch.rand(...)` and a freshly built model give the same numbers
    every time for the same `s`. Seed Python's `random` module and torch (on every device).
    Look up: `random.seed`, `torch.manual_seed`.
    Hint: `torch.manual_seed` already seeds the CPU and all GPUs; do not forget `random` too.
    """
    raise KataTodo("Step 1: seed Python's `random` and torch with `seed`.")


def library_versions() -> dict[str, str]:
    """The installed versions of the three libraries, handy when reporting a problem.

    Returns a dict with the keys `"torch"`, `"torchvision"` and `"matplotlib"`, each mapped
    to that library's version string.
    Look up: the `__version__` attribute of a module.
    Hint: the values must be strings like `"2.4.0"`, not the modules themselves.
    """
    raise KataTodo("Step 1: return the versions of torch, torchvision and matplotlib in a dict.")
