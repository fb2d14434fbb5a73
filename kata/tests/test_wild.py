"""kata.demo.wild: the demo's figure of digits written large, and what the network reads."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from kata import KataTodo
from kata.demo.wild import SHOWN, ToMnistFailed, prepared, wild_digits
from kata.testing import make_wild, plain_resize


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


class WrongSteps:
    """Steps 9 that are written but wrong, each in its own way."""

    @staticmethod
    def flat(image):
        return plain_resize(image).reshape(28, 28)

    @staticmethod
    def array(image):
        return plain_resize(image).numpy()

    @staticmethod
    def raises(image):
        raise ValueError("no ink: the image holds no digit")


@pytest.mark.parametrize("to_mnist, said", [
    (WrongSteps.flat, "returned a tensor of shape (28, 28), not (1, 1, 28, 28)"),
    (WrongSteps.array, "returned a numpy.ndarray, not a torch.Tensor of shape (1, 1, 28, 28)"),
    (WrongSteps.raises, "raised ValueError on a digit written large, dark on white: no ink"),
])
def test_a_wrong_to_mnist_is_named_by_what_it_did(to_mnist, said):
    """Catches: a to_mnist that returns another shape or type, or raises, reaching the
    network and stopping the demo with a shape error from inside a convolution, which says
    nothing about to_mnist."""
    page = make_wild(np.full((28, 28), 0, dtype=np.uint8), np.random.default_rng(0))
    with pytest.raises(ToMnistFailed) as failed:
        prepared(SimpleNamespace(to_mnist=to_mnist), page)
    assert said in str(failed.value), str(failed.value)


def test_a_stub_to_mnist_stays_todo():
    """Catches: a step 9 not written yet reported as a wrong one (the demo says "no figure
    until step 9 is written" for a stub)."""
    def stub(image):
        raise KataTodo("step 9")

    with pytest.raises(KataTodo):
        prepared(SimpleNamespace(to_mnist=stub), Image.new("L", (160, 160), 255))
