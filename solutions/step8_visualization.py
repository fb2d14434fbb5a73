"""Step 8: prediction with image visualisation.

A grid of test digits, each titled with what the network predicted and what the truth is,
shows at a glance where the network is right (green) and where it is wrong (red).
"""

import math
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .step7_batch_prediction import predict_batch


def plot_predictions(
    model, dataset, device, indices=None, count: int = 12, cols: int = 6
) -> Figure:
    """A grid of digits titled `pred: P` and `true: T`, green where they agree, red where not."""
    indices = list(range(count)) if indices is None else list(indices)
    samples = [dataset[i] for i in indices]
    images = torch.stack([image for image, _ in samples])
    labels = [int(label) for _, label in samples]
    predictions = predict_batch(model, images, device).tolist()

    cols = min(cols, len(indices))
    rows = math.ceil(len(indices) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.5 * cols, 2.0 * rows), squeeze=False, layout="constrained"
    )
    for ax, image, predicted, true in zip(axes.flat, images, predictions, labels):
        ax.imshow(image.squeeze(0).numpy(), cmap="gray")
        colour = "green" if predicted == true else "red"
        ax.set_title(f"pred: {predicted}\ntrue: {true}", color=colour, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(indices) :]:
        ax.remove()  # one axes per image: drop the empty cells of the last row
    return fig


def plot_losses(losses) -> Figure:
    """The training loss against the epoch."""
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.plot(range(1, len(losses) + 1), losses, marker="o")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    ax.set_title("Training loss")
    return fig


def save_figure(fig, path) -> Path:
    """Write `fig` to `path`, creating its folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No bbox_inches="tight": these figures lay themselves out (layout="constrained"), and
    # cropping them would draw each one twice.
    fig.savefig(path, dpi=120)
    return path
