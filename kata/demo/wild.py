"""The demo's last figure: MNIST test digits made "wild" and what the network reads in them.

Each digit is enlarged, drawn dark on a white page and moved off-centre, as a digit written
on paper would be. The top row is the page squeezed to 28x28 as it is; the bottom row is the
same page prepared by the package's step 9 `to_mnist`. The titles say what the trained
network reads in each (green when right). Only a package whose step 9 is written gets it.
"""

import numpy as np
import torch

from kata import KataTodo
from kata.demo import described
from kata.testing import IMAGE_SIZE, brightness, make_wild, plain_resize

SHOWN = 8
GAP = 0.12  # between two digits, in digit widths


class ToMnistFailed(Exception):
    """The package's to_mnist, written but wrong on a wild page; says what it did."""


def prepared(step9, page) -> torch.Tensor:
    """The package's to_mnist of one page, checked to be one MNIST image (1, 1, 28, 28).

    Raises ToMnistFailed saying what it raised or returned instead, so that the demo can tell
    the learner after training, in words about their to_mnist, rather than stop on an error
    from deep inside the network. A stub's KataTodo goes through as it is.
    """
    try:
        image = step9.to_mnist(page)
    except KataTodo:
        raise
    except Exception as error:
        raise ToMnistFailed(f"your to_mnist raised {type(error).__name__} on a digit written "
                            f"large, dark on white: {error}") from error
    expected = (1, 1, IMAGE_SIZE, IMAGE_SIZE)
    if not isinstance(image, torch.Tensor):
        raise ToMnistFailed(f"your to_mnist returned {described(image)}, not a "
                            f"torch.Tensor of shape {expected}")
    if tuple(image.shape) != expected:
        raise ToMnistFailed(f"your to_mnist returned a tensor of shape {tuple(image.shape)}, "
                            f"not {expected}")
    return image.float()


def wild_digits(step9, model, digits: torch.Tensor, labels: torch.Tensor, device, seed: int = 0):
    """The figure for the first SHOWN `digits` (uint8, N x 28 x 28) and their `labels`."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rng = np.random.default_rng(seed)
    pages = [make_wild(digit, rng) for digit in digits[:SHOWN].numpy()]
    rows = {"after a plain resize": torch.cat([plain_resize(p) for p in pages]),
            "after your to_mnist": torch.cat([prepared(step9, page) for page in pages])}
    model.eval()
    with torch.no_grad():
        read = {name: model(images.to(device)).argmax(dim=1).cpu().tolist()
                for name, images in rows.items()}
    truth = labels[:SHOWN].tolist()
    tiles = [[np.asarray(page) / 255 for page in pages],
             *[[brightness(image) for image in images] for images in rows.values()]]
    titles = [[(f"true: {label}", "black") for label in truth],
              *[[(f"reads {p}", "green" if p == t else "red") for p, t in zip(read[name], truth)]
                for name in rows]]
    # One axes per row, its digits side by side: a grid of 24 axes took twice as long to draw.
    fig, axes = plt.subplots(3, 1, figsize=(1.3 * SHOWN, 4.6), layout="constrained")
    for ax, row_tiles, row_titles, name in zip(axes, tiles, titles, ["the page", *rows]):
        for column, (tile, (title, colour)) in enumerate(zip(row_tiles, row_titles)):
            left = column * (1 + GAP)
            ax.imshow(tile, cmap="gray", vmin=0, vmax=1, extent=(left, left + 1, 1, 0))
            ax.add_patch(Rectangle((left, 0), 1, 1, fill=False, linewidth=0.8))
            ax.text(left + 0.5, -0.04, title, ha="center", va="bottom", fontsize=9, color=colour)
        # A y label, not a text beside the axes: the layout makes room for labels, and the
        # figure is saved without cropping (step 8's save_figure).
        ax.set_ylabel(name, fontsize=8)
        ax.set_xlim(-GAP / 2, SHOWN * (1 + GAP) - GAP / 2)
        ax.set_ylim(1.02, -0.2)  # y grows downwards, as in an image; room above for titles
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[:].set_visible(False)
    right = {name: sum(p == t for p, t in zip(read[name], truth)) for name in rows}
    fig.suptitle("Digits written large, dark on white, off-centre: read right "
                 + ", ".join(f"{n}/{len(truth)} {name}" for name, n in right.items()),
                 fontsize=10)
    return fig
