"""Step 8: prediction with image visualisation.

A picture tells you at a glance where the network is right and where it is wrong. Here you
draw a grid of test digits, each titled with the network's prediction and the true label,
green where they agree and red where not (the tutorial showed only the true labels), plus
a plot of the training loss per epoch from step 5, and save figures to files.

Done when: `kata test 8` (or `make test STEP=8`) passes.
"""

import math  # noqa: F401 -- you will need it for the grid's row count
from pathlib import Path

import matplotlib.pyplot as plt  # noqa: F401 -- you will need it for every figure
import torch  # noqa: F401 -- you will need it to stack the images into a batch
from matplotlib.figure import Figure

from kata import KataTodo

from .step7_batch_prediction import predict_batch  # noqa: F401 -- you will need it


def plot_predictions(
    model, dataset, device, indices=None, count: int = 12, cols: int = 6
) -> Figure:
    """A grid of digits from `dataset`, each titled with the prediction and the truth.

    Show `dataset[i]` for every i in `indices`, or the first `count` samples when `indices`
    is None, in rows of at most `cols`. One axes per image (remove the grid's empty cells):
    the 28x28 digit in grayscale, ticks off, title `pred: P` and `true: T` (e.g. on two
    lines), green when P == T, red when not. Predict with your step 7 `predict_batch`.
    Returns the `matplotlib.figure.Figure`.
    Look up: `torch.stack`, `plt.subplots(..., squeeze=False)`, `ax.imshow(..., cmap="gray")`,
    `ax.set_title(..., color=...)`, `ax.set_xticks([])`, `ax.remove()`.
    Hint: `imshow` wants (28, 28), not (1, 28, 28): drop the channel with `squeeze(0)`.
    """
    raise KataTodo("Step 8: draw a grid of digits titled with prediction and truth; return it.")


def plot_losses(losses) -> Figure:
    """A line plot of the training loss against the epoch; returns the Figure.

    `losses` is the list of floats from step 5's `fit`, one per epoch. Draw one line on a
    single axes: the epochs 1, 2, ... on the x axis, the losses in their order on the y
    axis, and label both axes.
    Look up: `plt.subplots`, `ax.plot`, `ax.set_xlabel`, `ax.set_ylabel`.
    Hint: give `ax.plot` the x values too; with the losses alone the epochs start at 0.
    """
    raise KataTodo("Step 8: plot the losses against the epoch, label the axes, return the figure.")


def save_figure(fig, path) -> Path:
    """Write `fig` to the image file `path` (a str or Path) and return it as a `Path`.

    Create the file's parent folders when they do not exist yet.
    Look up: `pathlib.Path.mkdir(parents=True, exist_ok=True)`, `fig.savefig`.
    Hint: call `fig.savefig`, not `plt.savefig`: the latter saves whichever figure was made
    last, which need not be `fig`.
    """
    raise KataTodo("Step 8: save `fig` to `path`, creating its folder, and return the Path.")
