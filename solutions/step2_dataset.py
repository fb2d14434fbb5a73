"""Step 2: downloading the dataset.

torchvision knows where MNIST lives and how to read it: 60,000 training and 10,000 test
images of handwritten digits, 28x28 pixels in grayscale. Each image becomes a tensor scaled
to [0, 1] and then normalised with the training set's mean and standard deviation, which
helps the network train faster. A DataLoader serves the images in batches.
"""

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import datasets, transforms

# Mean and standard deviation of the training images' pixels, scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def build_transform():
    """PIL image -> float32 tensor (1, 28, 28), scaled to [0, 1], then normalised."""
    return transforms.Compose(
        [
            transforms.ToTensor(),
            transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        ]
    )


def load_mnist(root, train: bool = True, download: bool = False) -> datasets.MNIST:
    """The MNIST training (or test) set under `root`, with `build_transform()` applied."""
    try:
        return datasets.MNIST(root, train=train, download=download, transform=build_transform())
    except RuntimeError as error:
        if download:
            raise
        raise FileNotFoundError(
            f"MNIST was not found in {Path(root) / 'MNIST' / 'raw'}: run `make data` to "
            "download it, or point MNIST_ROOT at a folder that holds MNIST/raw"
        ) from error


def make_loader(
    dataset: Dataset,
    batch_size: int = 64,
    shuffle: bool = False,
    limit: int | None = None,
    seed: int = 0,
) -> DataLoader:
    """Batches of (images, labels); `limit` keeps the first samples, `seed` fixes the shuffle."""
    if limit is not None:
        dataset = Subset(dataset, range(min(limit, len(dataset))))
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
