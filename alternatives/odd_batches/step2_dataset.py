"""Step 2 with explicit samplers: the loader keeps a short last batch (drop_last=False)."""

import os

import torch
import torchvision
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, Subset

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def build_transform():
    return torchvision.transforms.Compose([
        torchvision.transforms.ToTensor(),  # uint8 0..255 -> float 0..1
        torchvision.transforms.Normalize(mean=[MNIST_MEAN], std=[MNIST_STD]),
    ])


def load_mnist(root, train=True, download=False):
    raw = os.path.join(root, "MNIST", "raw")
    if not download and not os.path.isdir(raw):
        raise FileNotFoundError(f"no MNIST files in {raw}; run `make data` first")
    try:
        return torchvision.datasets.MNIST(root=root, train=train, download=download,
                                          transform=build_transform())
    except RuntimeError as error:
        message = f"MNIST in {raw} is incomplete ({error}); run `make data`"
        raise FileNotFoundError(message) from error


def make_loader(dataset, batch_size=64, shuffle=False, limit=None, seed=0):
    if limit is not None and limit < len(dataset):
        dataset = Subset(dataset, list(range(limit)))
    if shuffle:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    else:
        sampler = SequentialSampler(dataset)
    # drop_last=False keeps the short last batch, so no sample is left out
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=False)
