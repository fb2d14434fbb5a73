"""Step 2: downloading the dataset.

MNIST holds 60,000 training and 10,000 test images of handwritten digits, 28x28 grayscale,
each with its label 0-9. torchvision reads it for you. Here you turn each image into a
normalised tensor (the tutorial skipped normalising; it helps the network train faster),
load the training or test set from disk, and wrap it in a DataLoader that serves batches.
Steps 5 and 7 train and evaluate on these loaders.

Done when: `kata test 2` (or `make test STEP=2`) passes.
"""

from pathlib import Path  # noqa: F401 -- you will need it for the error message in load_mnist

import torch  # noqa: F401 -- you will need it in make_loader
from torch.utils.data import DataLoader, Dataset, Subset  # noqa: F401 -- Subset: for make_loader
from torchvision import datasets, transforms  # noqa: F401 -- transforms: for build_transform

from kata import KataTodo

# Mean and standard deviation of the training images' pixels, scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def build_transform():
    """The transform applied to every MNIST image as it is loaded.

    Input: a PIL image, 28x28, pixel values 0-255. Output: a float32 tensor of shape
    (1, 28, 28), first scaled to [0, 1], then normalised as (x - MNIST_MEAN) / MNIST_STD,
    so that an all-black pixel becomes about -0.4242. MNIST has one channel, so the mean and
    std go in as one-element sequences: `(MNIST_MEAN,)` and `(MNIST_STD,)`.
    Look up: `transforms.Compose`, `transforms.ToTensor`, `transforms.Normalize`.
    Hint: order matters; `Normalize` works on tensors, so `ToTensor` comes first.
    """
    raise KataTodo("Step 2: return a transform that makes a tensor in [0, 1], then normalises it.")


def load_mnist(root, train: bool = True, download: bool = False) -> datasets.MNIST:
    """The MNIST training set (`train=True`) or test set, read from the folder `root`.

    torchvision expects the files under `<root>/MNIST/raw`. Apply `build_transform()` so that
    `dataset[i]` gives `(image, label)`: a float32 tensor (1, 28, 28) and an int.
    With `download=False` and the files missing, raise `FileNotFoundError` whose message names
    the folder it looked in and says how to get the data: run `kata data` (or set MNIST_ROOT).
    Look up: `torchvision.datasets.MNIST` (its `train`, `download` and `transform` arguments).
    Hint: torchvision reports missing files as a `RuntimeError`; catch it and raise the
    friendlier error `from` it, but only when `download` is False.
    """
    raise KataTodo("Step 2: load MNIST from `root` with build_transform() applied.")


def make_loader(
    dataset: Dataset,
    batch_size: int = 64,
    shuffle: bool = False,
    limit: int | None = None,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader that serves `(images, labels)` batches of `dataset`.

    Each batch holds images (B, 1, 28, 28) float32 and labels (B,) int64, B <= batch_size.
    `limit` (when not None) keeps only the first `limit` samples, or all if there are fewer:
    handy for quick runs. With `shuffle=True` the order is random but the same for the same
    `seed`, whatever ran before.
    Look up: `torch.utils.data.DataLoader` (its `generator` argument), `torch.utils.data.Subset`,
    `torch.Generator().manual_seed`.
    Hint: give the loader its own seeded generator; relying on the global seed makes the order
    depend on everything that drew random numbers earlier.
    """
    raise KataTodo("Step 2: return a DataLoader over `dataset`, honouring `limit` and `seed`.")
