"""kata.demo.inmemory: the demo's in-memory MNIST holds exactly what the learner's step 2 gives."""

import types

import pytest
import torch

from kata.demo import DemoError
from kata.demo.inmemory import InMemorySplit, load_split, random_affine
from kata.testing import MNIST_MEAN, MNIST_STD, write_fake_mnist
from solutions import step2_dataset

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    return write_fake_mnist(tmp_path_factory.mktemp("mnist"), train_count=50, test_count=20)


def test_the_split_holds_the_step_2_images_and_labels(fake_root):
    dataset, split = load_split(step2_dataset, fake_root, train=True, device=CPU)
    assert split.images.shape == (50, 1, 28, 28) and split.images.dtype == torch.float32
    for index in range(len(dataset)):
        image, label = dataset[index]
        assert torch.allclose(split.images[index], image, atol=1e-5)
        assert split.labels[index] == label


def test_limit_keeps_the_first_images(fake_root):
    dataset, split = load_split(step2_dataset, fake_root, train=False, device=CPU, limit=7)
    assert len(split) == 7
    assert torch.equal(split.labels, dataset.targets[:7])


def test_a_step_2_with_other_constants_is_refused(fake_root):
    wrong = types.SimpleNamespace(load_mnist=step2_dataset.load_mnist,
                                  MNIST_MEAN=0.5, MNIST_STD=0.5)
    with pytest.raises(DemoError, match="make test STEP=2"):
        load_split(wrong, fake_root, train=True, device=CPU)


@pytest.mark.parametrize("batch_size", [1, 7, 16, 50, 64])
def test_batches_cover_every_sample_once(batch_size):
    split = InMemorySplit(torch.zeros(50, 1, 28, 28), torch.arange(50))
    batches = list(split.batches(batch_size, torch.Generator().manual_seed(0)))
    seen = torch.cat([labels for _, labels in batches])
    assert sorted(seen.tolist()) == list(range(50))
    assert all(len(images) == len(labels) for images, labels in batches)
    assert seen.tolist() != list(range(50)), "a generator should shuffle the order"


@pytest.mark.parametrize("count, batch_size, sizes", [
    (50, 16, [16, 16, 16, 2]), (49, 16, [16, 16, 17]), (48, 16, [16, 16, 16]), (1, 16, [1]),
    (3, 1, [1, 1, 1])])
def test_the_batches_read_like_a_dataloader(count, batch_size, sizes):
    """Catches: batches that a correct train_epoch cannot read as a DataLoader (it may divide
    by len(loader.dataset) or count len(loader) batches), and a last batch of one image,
    which BatchNorm cannot normalise while training (`--limit 2049` stopped the
    batchnorm_dropout alternative with "Expected more than 1 value per channel")."""
    split = InMemorySplit(torch.zeros(count, 1, 28, 28), torch.arange(count))
    batches = split.batches(batch_size, torch.Generator().manual_seed(0))
    served = [len(labels) for _, labels in batches]
    assert served == sizes, f"{count} images in batches of {batch_size} came as {served}"
    assert len(batches) == len(sizes), "len() should count the batches, as a DataLoader's does"
    assert batches.dataset is split and len(batches.dataset) == count
    assert batches.batch_size == batch_size


def shuffled_order(split: InMemorySplit, seed: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return torch.cat([labels for _, labels in split.batches(8, generator)]).tolist()


def test_the_same_seed_gives_the_same_order():
    split = InMemorySplit(torch.zeros(30, 1, 28, 28), torch.arange(30))
    assert shuffled_order(split, 3) == shuffled_order(split, 3)
    assert shuffled_order(split, 3) != shuffled_order(split, 4)


def test_without_a_generator_the_order_is_kept():
    split = InMemorySplit(torch.zeros(10, 1, 28, 28), torch.arange(10))
    assert torch.cat([labels for _, labels in split.batches(4)]).tolist() == list(range(10))


def test_augmentation_moves_the_digit_but_keeps_shape_and_background():
    background = -MNIST_MEAN / MNIST_STD
    images = torch.full((4, 1, 28, 28), background)
    images[:, :, 10:18, 12:16] = (1 - MNIST_MEAN) / MNIST_STD
    moved = random_affine(images, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape
    assert not torch.allclose(moved, images), "the images should change"
    assert torch.allclose(moved[..., 0, 0], torch.tensor(background)), "corners stay background"
