"""The demo's last figure: MNIST test digits made "wild" and what the network reads in them.

Each digit is enlarged, drawn dark on a white page and moved off-centre, as a digit written
on paper would be. The top row is the page squeezed to 28x28 as it is; the bottom row is the
same page prepared by the package's step 9 `to_mnist`. The titles say what the trained
network reads in each (green when right). Only a package whose step 9 is written gets it.
"""

import numpy as np
import torch

from kata.testing import brightness, make_wild, plain_resize

SHOWN = 8


def wild_digits(step9, model, digits: torch.Tensor, labels: torch.Tensor, device, seed: int = 0):
    """The figure for the first SHOWN `digits` (uint8, N x 28 x 28) and their `labels`."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    pages = [make_wild(digit, rng) for digit in digits[:SHOWN].numpy()]
    rows = {"after a plain resize": torch.cat([plain_resize(p) for p in pages]),
            "after your to_mnist": torch.cat([step9.to_mnist(p) for p in pages])}
    model.eval()
    with torch.no_grad():
        read = {name: model(images.to(device)).argmax(dim=1).cpu().tolist()
                for name, images in rows.items()}
    truth = labels[:SHOWN].tolist()
    fig, axes = plt.subplots(3, SHOWN, figsize=(1.3 * SHOWN, 4.6), layout="constrained")
    for column, (page, label) in enumerate(zip(pages, truth)):
        axes[0, column].imshow(np.asarray(page), cmap="gray", vmin=0, vmax=255)
        axes[0, column].set_title(f"true: {label}", fontsize=9)
        for row, (name, images) in enumerate(rows.items(), start=1):
            predicted = read[name][column]
            axes[row, column].imshow(brightness(images[column]), cmap="gray", vmin=0, vmax=1)
            axes[row, column].set_title(f"reads {predicted}", fontsize=9,
                                        color="green" if predicted == label else "red")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, name in enumerate(["the page", *rows], start=0):
        axes[row, 0].set_ylabel(name, fontsize=8)
    right = {name: sum(p == t for p, t in zip(read[name], truth)) for name in rows}
    fig.suptitle("Digits written large, dark on white, off-centre: read right "
                 + ", ".join(f"{n}/{len(truth)} {name}" for name, n in right.items()),
                 fontsize=10)
    return fig
