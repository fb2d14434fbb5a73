"""Step 2: downloading the dataset -- the transform, loading MNIST, and the DataLoader."""

import math

import pytest
import torch
from grader_checks import graders_check_test_for
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets

from kata import KataTodo
from kata.testing import (
    TensorDigits,
    observe,
    says_how_to_get_mnist,
    write_fake_mnist,
    write_idx_images,
)

# The training set's pixel statistics, written out here so that a wrong constant cannot hide.
MEAN, STD = 0.1307, 0.3081
TRAIN_COUNT, TEST_COUNT = 20, 12  # different sizes, so a mixed-up `train` shows
TOLERANCE = 1e-4


def normalised(pixels: torch.Tensor) -> torch.Tensor:
    """What the transform must make of uint8 pixels: scaled to [0, 1], then normalised."""
    return (pixels.double() / 255 - MEAN) / STD


def pixel_ramp(offset: int = 0) -> torch.Tensor:
    """A uint8 image (28, 28) holding every value 0..255, counting up from `offset`."""
    return ((torch.arange(28 * 28) + offset) % 256).to(torch.uint8).reshape(28, 28)


def transformed(step2, pixels: torch.Tensor) -> torch.Tensor:
    """build_transform() applied to a PIL image of the uint8 pixels (28, 28)."""
    return step2.build_transform()(Image.fromarray(pixels.numpy()))


def transformed_value(step2, pixel: int) -> float:
    """What build_transform() makes of an image whose pixels all equal `pixel`."""
    image = transformed(step2, torch.full((28, 28), pixel, dtype=torch.uint8))
    return image.flatten()[0].item()


# ---------------------------------------------------------------- constants and build_transform


def test_mnist_mean_and_std_are_the_training_set_values(step2):
    """MNIST_MEAN and MNIST_STD are 0.1307 and 0.3081, the usual MNIST statistics."""
    assert (step2.MNIST_MEAN, step2.MNIST_STD) == (MEAN, STD), (
        f"MNIST_MEAN, MNIST_STD are {step2.MNIST_MEAN}, {step2.MNIST_STD}; expected {MEAN}, {STD}")


def test_build_transform_gives_a_float32_tensor_with_one_channel(step2):
    """Catches: a tensor without the channel dimension, (28, 28) instead of (1, 28, 28), and
    Normalize before ToTensor (or without it), which then gets the PIL image and raises
    "img should be Tensor Image"."""
    image = transformed(step2, pixel_ramp())
    assert isinstance(image, torch.Tensor), (
        f"build_transform() made a {type(image).__name__}; start it with transforms.ToTensor()")
    assert image.dtype == torch.float32, f"build_transform() made {image.dtype}, not float32"
    assert image.shape == (1, 28, 28), (
        f"build_transform() made shape {tuple(image.shape)}; expected (1, 28, 28): one channel "
        "first, as ToTensor() gives it -- do not squeeze it away")


def test_build_transform_maps_black_to_minus_0_4242(step2):
    """Catches: not normalising, or normalising with other constants than MNIST's (the
    tutorial's ToTensor() alone leaves black at 0; CIFAR's 0.5 and 0.5 make it -1)."""
    black, white = transformed_value(step2, 0), transformed_value(step2, 255)
    # Normalize maps x in [0, 1] to (x - mean) / std: black and white give both constants.
    std = 1 / (white - black) if white != black else float("nan")
    observe(black=black, white=white, mean=-black * std, std=std)
    assert black == pytest.approx(-0.4242, abs=TOLERANCE), (
        f"build_transform() made a black pixel {black:.4f}; expected -0.4242 = (0 - 0.1307) / "
        "0.3081 -- after ToTensor(), normalise with transforms.Normalize((MNIST_MEAN,), "
        "(MNIST_STD,))")


def test_build_transform_maps_white_to_2_8215(step2):
    """Catches: normalising the raw pixels 0..255 instead of first scaling them to [0, 1]."""
    white = transformed_value(step2, 255)
    observe(white=white)
    assert white == pytest.approx((1 - MEAN) / STD, abs=TOLERANCE), (
        f"build_transform() made a white pixel {white:.4f}; expected 2.8215 = (1 - 0.1307) / "
        "0.3081 -- scale the pixels to [0, 1] (ToTensor() does that), then normalise them with "
        "MNIST_MEAN and MNIST_STD")


def test_build_transform_uses_mnist_mean_and_std(step2):
    """Catches: normalising with other numbers, such as 0.5 and 0.5, or std and mean swapped."""
    pixels = pixel_ramp()
    image = transformed(step2, pixels).reshape(28, 28).double()
    errors = (image - normalised(pixels)).abs()
    worst = errors.argmax()
    value, got = pixels.flatten()[worst].item(), image.flatten()[worst].item()
    assert errors.max() < TOLERANCE, (
        f"build_transform() made pixel value {value} into {got:.4f}; expected "
        f"{normalised(torch.tensor(value)).item():.4f} = ({value} / 255 - 0.1307) / 0.3081 -- "
        "use transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)): the mean first, then the std")


# ---------------------------------------------------------------- load_mnist


@pytest.fixture
def mnist_folder(tmp_path):
    """A tiny MNIST in torchvision's layout (<root>/MNIST/raw), its labels 0, 1, ..., 9, 0, ..."""
    return write_fake_mnist(tmp_path, train_count=TRAIN_COUNT, test_count=TEST_COUNT)


@pytest.mark.parametrize(
    ("arguments", "count"),
    [({}, TRAIN_COUNT), ({"train": True}, TRAIN_COUNT), ({"train": False}, TEST_COUNT)],
    ids=["default", "train", "test"],
)
def test_load_mnist_returns_the_asked_for_torchvision_mnist(step2, mnist_folder, arguments, count):
    """Catches: ignoring `train`, so that the test set is the training set, or the reverse."""
    dataset = step2.load_mnist(mnist_folder, **arguments)
    assert isinstance(dataset, datasets.MNIST), (
        f"load_mnist returned a {type(dataset).__name__}; return torchvision.datasets.MNIST(...)")
    assert len(dataset) == count, (
        f"load_mnist(root, **{arguments}) holds {len(dataset)} images; this folder's "
        f"{'test' if count == TEST_COUNT else 'training'} set has {count}: pass `train` on "
        "to datasets.MNIST")


def test_load_mnist_items_are_image_tensors_and_int_labels(step2, mnist_folder):
    """Catches: leaving out transform=build_transform(), so that items are PIL images."""
    dataset = step2.load_mnist(mnist_folder)
    for index in range(TRAIN_COUNT):
        image, label = dataset[index]
        assert isinstance(image, torch.Tensor), (
            f"load_mnist(...)[{index}] holds a {type(image).__name__}, not a tensor; "
            "pass transform=build_transform() to datasets.MNIST")
        assert (image.dtype, tuple(image.shape)) == (torch.float32, (1, 28, 28)), (
            f"load_mnist(...)[{index}] holds a {image.dtype} image of shape {tuple(image.shape)}; "
            "expected float32 (1, 28, 28), as build_transform() makes it")
        assert isinstance(label, int) and label == index % 10, (
            f"load_mnist(...)[{index}] has label {label!r}; expected the int {index % 10}")


def test_load_mnist_applies_build_transform(step2, mnist_folder):
    """Catches: some other transform on the dataset, e.g. the tutorial's ToTensor() alone."""
    images = torch.stack([pixel_ramp(offset) for offset in range(TRAIN_COUNT)])
    write_idx_images(mnist_folder / "MNIST" / "raw" / "train-images-idx3-ubyte", images)
    image, _ = step2.load_mnist(mnist_folder)[3]
    error = (image.reshape(28, 28).double() - normalised(images[3])).abs().max().item()
    assert error < TOLERANCE, (
        f"load_mnist(...)[3] is off from the normalised pixels in the file by up to {error:.4f}; "
        "pass transform=build_transform() to datasets.MNIST (and if build_transform's own tests "
        "fail, fix those first)")


@pytest.mark.parametrize("arguments", [{}, {"download": False}], ids=["default", "download=False"])
def test_load_mnist_without_the_files_says_how_to_get_them(step2, tmp_path, arguments):
    """Catches: torchvision's bare RuntimeError, or a message that does not say what to do."""
    try:
        step2.load_mnist(tmp_path, **arguments)
    except FileNotFoundError as error:
        message = str(error)
    except KataTodo:
        raise
    except RuntimeError as error:
        pytest.fail(f"load_mnist on an empty folder raised {type(error).__name__}: {error} -- "
                    "catch it and raise FileNotFoundError that names the folder and how to "
                    "get the data")
    else:
        pytest.fail("load_mnist on an empty folder returned; it should raise FileNotFoundError")
    assert says_how_to_get_mnist(message, tmp_path), (
        f"load_mnist raised FileNotFoundError({message!r}); say which folder it looked in "
        f"({tmp_path}) and how to get the data: `make data`, download=True or MNIST_ROOT")


# ---------------------------------------------------------------- make_loader

DATASET_SIZE = 30


def numbered_digits(count: int = DATASET_SIZE) -> TensorDigits:
    """Images (1, 28, 28) whose every pixel is the sample's index; the label is the index too."""
    indices = torch.arange(count)
    images = indices.float().reshape(count, 1, 1, 1).expand(count, 1, 28, 28).clone()
    return TensorDigits(images, indices)


def served_labels(loader) -> list[int]:
    """Every label the loader serves in one pass, in order."""
    return [label for _, labels in loader for label in labels.tolist()]


def batch_sizes(loader) -> list[int]:
    """The size of every batch the loader serves in one pass."""
    return [len(labels) for _, labels in loader]


def test_make_loader_serves_image_and_label_batches(step2):
    """make_loader returns a DataLoader of images (B, 1, 28, 28) float32 and labels (B,) int64."""
    loader = step2.make_loader(numbered_digits(), batch_size=8)
    assert isinstance(loader, DataLoader), f"make_loader returned a {type(loader).__name__}"
    images, labels = next(iter(loader))
    assert (images.dtype, tuple(images.shape)) == (torch.float32, (8, 1, 28, 28)), (
        f"the first batch's images are {images.dtype} {tuple(images.shape)}")
    assert (labels.dtype, tuple(labels.shape)) == (torch.int64, (8,)), (
        f"the first batch's labels are {labels.dtype} {tuple(labels.shape)}")


def test_make_loader_batches_64_by_default(step2):
    """Catches: a default batch size other than 64."""
    sizes = batch_sizes(step2.make_loader(numbered_digits(100)))
    observe(sizes=sizes)
    assert sizes == [64, 36], (
        f"100 samples came in batches of {sizes}; the default batch_size should be 64")


def test_make_loader_limit_keeps_the_first_samples(step2):
    """Catches: `limit` keeping the last samples, or a random pick, instead of the first ones."""
    dataset = numbered_digits()
    loader = step2.make_loader(dataset, batch_size=4, limit=10)
    images = torch.cat([images for images, _ in loader])
    labels = served_labels(loader)
    assert labels == list(range(10)), (
        f"make_loader(limit=10) served samples {labels}; keep the first 10, "
        "e.g. Subset(dataset, range(limit))")
    assert torch.equal(images, torch.stack([dataset[index][0] for index in range(10)])), (
        "make_loader(limit=10) served other images than dataset[0] ... dataset[9]")


def test_make_loader_limit_above_the_dataset_size_keeps_everything(step2):
    """Catches: a `limit` larger than the dataset asking for samples that are not there."""
    loader = step2.make_loader(numbered_digits(), limit=DATASET_SIZE + 50)
    try:
        labels = served_labels(loader)
    except IndexError as error:
        observe(limit_error="IndexError")
        pytest.fail(f"make_loader(limit={DATASET_SIZE + 50}) on {DATASET_SIZE} samples failed "
                    f"with IndexError ({error}); keep min(limit, len(dataset)) samples")
    assert labels == list(range(DATASET_SIZE)), (
        f"make_loader(limit={DATASET_SIZE + 50}) served {labels}; expected all the samples")


@pytest.mark.parametrize("arguments", [{}, {"shuffle": False}], ids=["default", "shuffle=False"])
def test_make_loader_without_shuffle_keeps_file_order(step2, arguments):
    """Catches: shuffling even when `shuffle` is False (the default)."""
    labels = served_labels(step2.make_loader(numbered_digits(), batch_size=8, **arguments))
    observe(served=labels)
    assert labels == list(range(DATASET_SIZE)), (
        f"make_loader(**{arguments}) served {labels}; without shuffle keep the dataset's order")


def test_make_loader_with_shuffle_mixes_the_order(step2):
    """Catches: ignoring `shuffle`, so that training sees the samples in the same order."""
    labels = served_labels(step2.make_loader(numbered_digits(), batch_size=8, shuffle=True))
    observe(in_file_order=labels == list(range(DATASET_SIZE)))
    assert sorted(labels) == list(range(DATASET_SIZE)), (
        f"make_loader(shuffle=True) served {labels}; every sample should come exactly once")
    assert labels != list(range(DATASET_SIZE)), (
        "make_loader(shuffle=True) served the samples in file order; pass shuffle to DataLoader")


def test_make_loader_same_seed_gives_the_same_order(step2):
    """Catches: ignoring `seed`, so the order depends on whatever drew random numbers before."""
    first = served_labels(step2.make_loader(numbered_digits(), shuffle=True, seed=3))
    torch.rand(100)  # other code drawing random numbers must not change the order
    second = served_labels(step2.make_loader(numbered_digits(), shuffle=True, seed=3))
    assert first == second, (
        "two loaders made with seed=3 served different orders; give the DataLoader its own "
        "generator, torch.Generator().manual_seed(seed)")


def test_make_loader_different_seeds_give_different_orders(step2):
    """Catches: a seed that changes nothing, e.g. a torch.Generator() that is never seeded, or
    a loader that never shuffles (shuffle=False whatever it is asked)."""
    orders = [served_labels(step2.make_loader(numbered_digits(), shuffle=True, seed=seed))
              for seed in (0, 1)]
    observe(in_file_order=orders[0] == list(range(DATASET_SIZE)))
    assert orders[0] != orders[1], (
        "seed=0 and seed=1 served the same order; seed the loader's generator with `seed`")


def test_make_loader_serves_a_short_last_batch(step2):
    """Catches: drop_last=True, which quietly skips the samples of a short last batch."""
    sizes = batch_sizes(step2.make_loader(numbered_digits(), batch_size=8))
    assert sizes == [8, 8, 8, 6], (
        f"{DATASET_SIZE} samples in batches of 8 came as {sizes}; expected [8, 8, 8, 6] -- "
        "leave drop_last off, so that every sample is served")


@given(batch_size=st.integers(1, 40), limit=st.none() | st.integers(1, 50), shuffle=st.booleans())
def test_make_loader_serves_every_kept_sample_once(step2, batch_size, limit, shuffle):
    """Catches: losing or repeating samples for some batch_size and limit (drop_last, bad limit)."""
    kept = DATASET_SIZE if limit is None else min(limit, DATASET_SIZE)
    loader = step2.make_loader(numbered_digits(), batch_size=batch_size, shuffle=shuffle,
                               limit=limit)
    sizes, labels = batch_sizes(loader), served_labels(loader)
    arguments = f"make_loader(batch_size={batch_size}, limit={limit}, shuffle={shuffle})"
    assert len(sizes) == math.ceil(kept / batch_size) and sum(sizes) == kept, (
        f"{arguments} on {DATASET_SIZE} samples served batches of {sizes}; expected "
        f"{kept} samples in {math.ceil(kept / batch_size)} batches")
    assert sorted(labels) == list(range(kept)), (
        f"{arguments} served samples {sorted(labels)}; expected the first {kept}, each once")


# ---------------------------------------------------------------- the grader's own checks

# Step 2's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(2)
