"""Small, fast stand-ins for the tests: MNIST-format files and test-local models.

The step tests use these instead of the learner's other steps and the real MNIST, so a bug
in one step fails only that step's tests, and the suite runs in seconds and offline.
"""

import math
import re
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

IMAGE_SIZE = 28
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # written out: a learner's wrong constant cannot leak in
IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC = 2051, 2049

# What the running test observed (numbers, names, a crash), for the board to tell which
# mistake it was (kata/loop/diagnoses.py). conftest empties it before each test and moves it
# onto the report of a test that fails. A test's message must still say everything on its own.
OBSERVED: dict = {}


def observe(**facts) -> None:
    """Record what this test saw, e.g. observe(black=-1.0): plain numbers, strings, tuples."""
    OBSERVED.update(facts)


def as_number(value) -> float | None:
    """`value` as a float where it is one number (an int, a float, a one-element tensor), for
    observe(); None for anything else, so that the test's own assertion reports it."""
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def crash_facts(error: BaseException) -> dict:
    """An exception as evidence: its type, first message line, and the innermost frame in a
    step module of the package under test (e.g. "DigitClassifier.forward"), so that failures
    sharing one crash can be told from failures that only look alike."""
    from kata.steps import STEPS

    modules = {step.module for step in STEPS}
    where, traceback = "", error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if traceback.tb_frame.f_globals.get("__name__", "").rsplit(".", 1)[-1] in modules:
            where = getattr(code, "co_qualname", code.co_name)
        traceback = traceback.tb_next
    message = str(error).strip().splitlines()
    return {"crash": type(error).__name__, "crash_message": message[0] if message else "",
            "crash_where": where}


def write_idx_images(path: Path, images: torch.Tensor) -> None:
    """uint8 images (N, 28, 28) in the IDX format of the MNIST files."""
    count, rows, cols = images.shape
    path.write_bytes(struct.pack(">4I", IDX_IMAGES_MAGIC, count, rows, cols)
                     + images.to(torch.uint8).numpy().tobytes())


def write_idx_labels(path: Path, labels: torch.Tensor) -> None:
    """Labels (N,) in the IDX format of the MNIST files."""
    path.write_bytes(struct.pack(">2I", IDX_LABELS_MAGIC, len(labels))
                     + labels.to(torch.uint8).numpy().tobytes())


def digit_images(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """uint8 images (N, 28, 28) that a network can learn: a bright bar whose row is the label."""
    images = torch.randint(0, 40, (len(labels), IMAGE_SIZE, IMAGE_SIZE), generator=generator)
    for image, label in zip(images, labels.tolist()):
        row = 4 + 2 * label
        image[row : row + 2, 4:24] = 255
    return images.to(torch.uint8)


def write_fake_mnist(root: Path, train_count: int = 64, test_count: int = 32,
                     seed: int = 0) -> Path:
    """Write a tiny MNIST in torchvision's layout (root/MNIST/raw) and return root."""
    generator = torch.Generator().manual_seed(seed)
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train_count), ("t10k", test_count)):
        labels = torch.arange(count) % 10
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", digit_images(labels, generator))
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return Path(root)


class TensorDigits(Dataset):
    """A dataset of given images (N, 1, 28, 28) and labels (N,), like a transformed MNIST."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])


def learnable_digits(count: int, seed: int = 0) -> TensorDigits:
    """Normalised-looking images with labels a small model can learn in a few steps."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = digit_images(labels, generator).float().div(255).sub(MNIST_MEAN).div(MNIST_STD)
    return TensorDigits(images.unsqueeze(1), labels)


class LinearNet(nn.Module):
    """The smallest classifier: flatten and one linear layer. Fast enough for any test."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(IMAGE_SIZE * IMAGE_SIZE, 10))

    def forward(self, x):
        return self.layers(x)


class UnmovedTensor(torch.Tensor):
    """A tensor that has not been moved yet: .to(), .cpu() and .cuda() give back a plain tensor.

    On a CPU-only machine moving changes nothing, so a forgotten `.to(device)` or `.cpu()`
    cannot show up as a device mismatch; this marker shows whether a tensor went through a
    move before it was used.
    """

    MOVES = frozenset({torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.cuda})

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        result = super().__torch_function__(func, types, args, kwargs)
        return result.as_subclass(torch.Tensor) if func in cls.MOVES else result


def unmoved(tensor: torch.Tensor) -> UnmovedTensor:
    """`tensor` marked as not moved yet (see UnmovedTensor)."""
    return tensor.as_subclass(UnmovedTensor)


class PixelReader(nn.Module):
    """Predicts digit k for an image whose brightest pixel in row 0 is column k (k < 10).

    Lets a test choose each image's prediction independently of its label. It also records,
    at every forward, whether it was in training mode and whether gradients were on, and
    counts the inputs that reached it without a move to the device (see UnmovedTensor).
    """

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))  # one parameter, so .to(device) matters
        self.calls: list[tuple[bool, bool]] = []
        self.unmoved_inputs = 0

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        self.unmoved_inputs += isinstance(x, UnmovedTensor)
        observe(ran_in_training_mode=any(training for training, _ in self.calls),
                ran_with_gradients=any(grad for _, grad in self.calls))
        return x.reshape(len(x), -1)[:, :10].as_subclass(torch.Tensor) * self.scale


def image_predicted_as(digit: int, seed: int = 0) -> torch.Tensor:
    """An image (1, 28, 28) that PixelReader predicts as `digit`."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(1, IMAGE_SIZE, IMAGE_SIZE, generator=generator) * 0.1
    image[0, 0, digit] = 1.0
    return image


# Each title field of a prediction plot, how to find it (any order or separator:
# "pred: 3\ntrue: 5", "True=5, Pred=3"), and what it should hold.
TITLE_FIELDS = {
    "pred": (re.compile(r"pred\w*\s*[:=]\s*(\d+)", re.IGNORECASE),
             "the model's prediction for that image"),
    "true": (re.compile(r"true\s*[:=]\s*(\d+)", re.IGNORECASE),
             "the image's label from the dataset"),
}


def panels(fig) -> list:
    """The figure's axes in reading order: row by row from the top, left to right."""
    def place(ax):
        box = ax.get_position()
        return -round(box.y1, 2), round(box.x0, 2)

    return sorted(fig.axes, key=place)


def title_number(ax, field: str) -> int:
    """The number after `pred:` or `true:` (the field) in the title of an axes (or a title)."""
    pattern, meaning = TITLE_FIELDS[field]
    title = ax if isinstance(ax, str) else ax.get_title()
    found = pattern.search(title)
    if not found:
        observe(title_without=field)
    assert found, (
        f"plot_predictions: the title {title!r} has no `{field}: ...` -- "
        f"write `{field}: ` followed by {meaning} in each title"
    )
    return int(found.group(1))


def record_margin(record_property, name: str, measured: float, limit: float,
                  at_least: bool = True) -> None:
    """Record a threshold check in the JUnit report, for `make flaky` to find the closest call.

    The margin is how far `measured` is inside the limit: positive passes, negative fails.
    """
    margin = measured - limit if at_least else limit - measured
    record_property(name, round(measured, 6))
    record_property(f"{name}_limit", limit)
    record_property(f"{name}_margin", round(margin, 6))


# ---------------------------------------------------------------- the grader's checks' stand-ins


def seeded(rng) -> torch.Generator:
    """A torch generator seeded from `rng` (a random.Random): the same rng, the same tensors."""
    return torch.Generator().manual_seed(rng.getrandbits(62))


class CornerNet(nn.Module):
    """A linear classifier of an image's first 16 pixels: small enough to send its weights."""

    PIXELS = 16

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(self.PIXELS, 10)

    def forward(self, x):
        return self.linear(x.reshape(len(x), -1)[:, : self.PIXELS])


class ModeShiftNet(CornerNet):
    """CornerNet whose scores change in training mode, so a loss shows which mode it ran in."""

    def forward(self, x):
        logits = super().forward(x)
        return logits + 3.0 * torch.arange(10.0, device=x.device) if self.training else logits


class Tattletale(nn.Module):
    """A classifier whose answer changes when it is run the wrong way.

    Its clean scores are a fixed linear map of the image. In training mode they shift by one
    digit, and with gradients on by two, so a forgotten model.eval() or torch.no_grad() gives
    another digit (with the same probability). Like a real network it takes only batches
    (N, 1, 28, 28).
    """

    def __init__(self, generator: torch.Generator):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(IMAGE_SIZE * IMAGE_SIZE, 10, generator=generator))

    def clean_logits(self, x):
        return x.reshape(len(x), -1) @ self.weight

    def forward(self, x):
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"the model takes a batch (N, 1, 28, 28), not {tuple(x.shape)}")
        shift = (1 if self.training else 0) + (2 if torch.is_grad_enabled() else 0)
        return self.clean_logits(x).roll(shift, dims=1)


def looks_like_probabilities(outputs: torch.Tensor) -> bool:
    """Every row is in [0, 1] and sums to 1, as after softmax."""
    sums = outputs.sum(dim=1)
    in_range = bool(((outputs >= 0) & (outputs <= 1)).all())
    return in_range and torch.allclose(sums, torch.ones_like(sums), atol=1e-4)


def looks_like_log_probabilities(outputs: torch.Tensor) -> bool:
    """Every entry is <= 0 and every row's logsumexp is 0, as after log_softmax."""
    totals = outputs.logsumexp(dim=1)
    at_zero = torch.allclose(totals, torch.zeros_like(totals), atol=1e-4)
    return bool((outputs <= 0).all()) and at_zero


def names_the_device(message: str, name: str) -> bool:
    """Whether an error message names a device: "cuda:1" as written, in any case, or its parts
    in order ("CUDA device 1")."""
    text = str(message).lower()
    parts = [re.escape(part) for part in name.lower().split(":")]
    return name.lower() in text or re.search(r"\D*?".join(parts), text) is not None


# Ways to get MNIST that a message about missing files may name (any one of them will do).
WAYS_TO_GET_MNIST = ("make data", "kata data", "kata.data", "download=true", "download = true",
                     "mnist_root")


def says_how_to_get_mnist(message: str, folder) -> bool:
    """Whether an error message names `folder` and at least one way to get MNIST."""
    text = str(message)
    folders = {str(folder), str(Path(folder).resolve())}
    return (any(name in text for name in folders)
            and any(way in text.lower() for way in WAYS_TO_GET_MNIST))


def colour_name(colour) -> str:
    """'green' or 'red' when that channel dominates, otherwise the colour as given."""
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(colour)
    if green > max(red, blue):
        return "green"
    if red > max(green, blue):
        return "red"
    return str(colour)


def shows_ticks(ax) -> bool:
    """Whether any tick mark or tick label of the axes would be drawn."""
    if not ax.axison:
        return False
    return any(part.get_visible()
               for axis in (ax.xaxis, ax.yaxis) if axis.get_visible()
               for tick in axis.get_major_ticks()
               for part in (tick.tick1line, tick.tick2line, tick.label1, tick.label2))


def panel_facts(fig) -> list[dict]:
    """What a person sees in each axes of a figure, in reading order, as plain data."""
    facts = []
    for ax in panels(fig):
        box = ax.get_position()
        shown = [torch.as_tensor(np.asarray(image.get_array(), dtype=np.float32)).squeeze()
                 for image in ax.images]
        facts.append({"title": ax.get_title(), "colour": colour_name(ax.title.get_color()),
                      "images": shown, "ticks": shows_ticks(ax),
                      "x0": round(box.x0, 2), "y1": round(box.y1, 2)})
    return facts


# ---------------------------------------------------------------- hand-drawn digits (step 9)

BACKGROUND = (0 - MNIST_MEAN) / MNIST_STD  # a black pixel after step 2: -0.4242
FULL_INK = (1 - MNIST_MEAN) / MNIST_STD  # a white one: 2.8215
MNIST_CENTRE = 14.0  # where MNIST's digits have their centre of mass: (14, 14), from 0


def ring(points: int = 48) -> list[tuple[float, float]]:
    return [(0.5 + 0.5 * math.cos(2 * math.pi * k / points),
             0.5 + 0.5 * math.sin(2 * math.pi * k / points)) for k in range(points + 1)]


# Digits as pen strokes, each a polyline in a unit box (x to the right, y down). The "7" has
# most of its ink at the top, so its centre of mass is far from its box's centre.
DIGIT_STROKES = {
    "0": [ring()],
    "1": [[(0.2, 0.2), (0.6, 0.0), (0.6, 1.0)]],
    "4": [[(0.7, 1.0), (0.7, 0.0), (0.0, 0.65), (1.0, 0.65)]],
    "7": [[(0.0, 0.0), (1.0, 0.0), (1.0, 0.08), (0.4, 1.0)], [(0.0, 0.04), (0.9, 0.04)]],
    "bar": [[(0.5, 0.0), (0.5, 1.0)]],  # a plain upright stroke, for its shape alone
}


def draw_digit(digit: str, page: tuple[int, int] = (160, 200),
               box: tuple[float, float, float, float] = (40, 30, 110, 170), width: int = 9,
               ink=0, paper=255, mode: str = "L"):
    """A PIL image `page` (width, height) wide of `digit` drawn with a pen `width` pixels
    wide in the `box` (left, top, right, bottom) of the page: dark on white by default."""
    from PIL import Image, ImageDraw

    image = Image.new(mode, page, paper)
    pen = ImageDraw.Draw(image)
    left, top, right, bottom = box
    for stroke in DIGIT_STROKES[digit]:
        pen.line([(left + x * (right - left), top + y * (bottom - top)) for x, y in stroke],
                 fill=ink, width=width, joint="curve")
    return image


def brightness(image: torch.Tensor) -> np.ndarray:
    """A normalised MNIST image (any shape holding 28x28 values) as 28x28 grey levels in [0, 1]."""
    pixels = np.asarray(image, dtype=np.float64).reshape(IMAGE_SIZE, IMAGE_SIZE)
    return np.clip(pixels * MNIST_STD + MNIST_MEAN, 0, 1)


def ink_box(image: torch.Tensor, level: float = 0.3) -> tuple[int, int]:
    """(height, width) of the box around the pixels at least `level` bright."""
    ink = brightness(image) >= level
    if not ink.any():
        return 0, 0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(image: torch.Tensor) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, each pixel weighted by its brightness."""
    pixels = brightness(image)
    rows, cols = np.indices(pixels.shape)
    total = pixels.sum() or 1.0
    return float((rows * pixels).sum() / total), float((cols * pixels).sum() / total)


def correlation(a, b) -> float:
    """Pearson's correlation of two images' pixels: 1 when they look alike."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1]) if a.std() and b.std() else 0.0


def make_wild(digit: np.ndarray, rng: np.random.Generator, page: int = 160):
    """An MNIST digit (28x28 uint8) made wild: enlarged 2.5 to 3.5 times, dark on a white
    `page` x `page` sheet, off-centre. A PIL image in mode L."""
    from PIL import Image

    size = int(IMAGE_SIZE * rng.uniform(2.5, 3.5))
    enlarged = Image.fromarray(255 - digit).resize((size, size), Image.BILINEAR)
    sheet = Image.new("L", (page, page), 255)
    left, top = (int(rng.integers(0, page - size + 1)) for _ in range(2))
    sheet.paste(enlarged, (left, top))
    return sheet


def plain_resize(image) -> torch.Tensor:
    """What a first try does: the image squeezed to 28x28, normalised, as it is (no
    inversion, no cropping, no centring). A (1, 1, 28, 28) tensor."""
    from PIL import Image

    small = np.asarray(image.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
    pixels = torch.tensor(small, dtype=torch.float32) / 255
    return ((pixels - MNIST_MEAN) / MNIST_STD).reshape(1, 1, IMAGE_SIZE, IMAGE_SIZE)
