"""kata.demo.wild: the demo's figure of digits written large, and what the network reads."""

import torch
from torch import nn

from kata.demo.wild import SHOWN, wild_digits
from kata.testing import plain_resize


class Reads(nn.Module):
    """A network that reads `digit` in every image."""

    def __init__(self, digit: int):
        super().__init__()
        self.digit = digit

    def forward(self, images):
        return nn.functional.one_hot(torch.full((len(images),), self.digit), 10).float()


class PlainSteps:
    """A step 9 whose to_mnist is the plain resize: the figure's two lower rows agree."""

    to_mnist = staticmethod(plain_resize)


def texts(figure) -> list[tuple[str, str]]:
    """Every text of the figure's axes (titles, labels, texts) with its colour, in the order
    of the axes: one axes per digit or one per row, the figure says the same."""
    return [(text.get_text(), text.get_color()) for ax in figure.axes
            for text in (ax.title, ax.yaxis.label, *ax.texts) if text.get_text()]


def test_each_digit_shows_its_truth_and_what_the_network_read_in_each_row():
    """Catches: a figure that drops a digit, titles a digit with another one's truth, or
    colours a wrong reading green (the learner would think the network read it)."""
    digits = torch.zeros(SHOWN + 2, 28, 28, dtype=torch.uint8)
    digits[:, 8:20, 12:16] = 255  # a stroke, for the page to hold some ink
    labels = torch.tensor([1, 2] * (SHOWN // 2 + 1))
    figure = wild_digits(PlainSteps, Reads(1), digits, labels, torch.device("cpu"))
    shown = texts(figure)
    truths = [text for text, _ in shown if text.startswith("true: ")]
    assert truths == [f"true: {label}" for label in labels[:SHOWN].tolist()], (
        f"the top row should title the first {SHOWN} digits with their labels, in order: {truths}")
    readings = [(text, colour) for text, colour in shown if text.startswith("reads ")]
    expected = [("reads 1", "green" if label == 1 else "red")
                for label in labels[:SHOWN].tolist()] * 2
    assert readings == expected, (
        "each of the two lower rows should say what the network read in each digit, green "
        f"where it is the digit's label and red where not; got {readings}")
    rows = [text for text, _ in shown if text in ("the page", "after a plain resize",
                                                  "after your to_mnist")]
    assert rows == ["the page", "after a plain resize", "after your to_mnist"], rows
    assert figure.get_suptitle().endswith(
        f"read right {SHOWN // 2}/{SHOWN} after a plain resize, "
        f"{SHOWN // 2}/{SHOWN} after your to_mnist"), figure.get_suptitle()
    images = [image for ax in figure.axes for image in ax.images]
    assert len(images) == 3 * SHOWN, f"{len(images)} digits drawn, not 3 rows of {SHOWN}"
