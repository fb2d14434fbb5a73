"""What the demo reports about a trained model: the confusion matrix and what it tells."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DIGITS = 10


def predict_split(step7, model, split, device, batch_size: int | None = None) -> torch.Tensor:
    """The learner's predict_batch over a whole InMemorySplit: int64 labels on the CPU.

    A CPU predicts fastest in batches that stay in its caches (256 images: 0.27 s for the
    10,000 test images here, 0.5 s in batches of 1,000); a GPU in large ones.
    """
    batch_size = batch_size or (256 if device.type == "cpu" else 1000)
    return torch.cat([step7.predict_batch(model, split.images[start : start + batch_size], device)
                      for start in range(0, len(split), batch_size)])


def predict_and_score(step7, model, split, device) -> tuple[torch.Tensor, float]:
    """Predictions for the whole split (on the CPU) and the learner's accuracy of them."""
    predictions = predict_split(step7, model, split, device)
    return predictions, step7.accuracy(predictions, split.labels.cpu())


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(10, 10) counts: row = true digit, column = predicted digit."""
    pairs = labels.cpu() * DIGITS + predictions.cpu()
    return torch.bincount(pairs, minlength=DIGITS * DIGITS).reshape(DIGITS, DIGITS)


def per_digit_accuracy(confusion: torch.Tensor) -> list[float]:
    """For each true digit, the fraction of its images read right."""
    return (confusion.diag() / confusion.sum(dim=1).clamp(min=1)).tolist()


def most_confused(confusion: torch.Tensor, count: int = 3) -> list[tuple[int, int, int]]:
    """The `count` most frequent mistakes as (true digit, predicted digit, times)."""
    mistakes = confusion.clone()
    mistakes.fill_diagonal_(0)
    times, flat = mistakes.flatten().topk(count)
    return [(index // DIGITS, index % DIGITS, value)
            for index, value in zip(flat.tolist(), times.tolist()) if value > 0]


def plot_confusion(confusion: torch.Tensor) -> Figure:
    """The confusion matrix as a grid of counts; the right answers lie on the diagonal."""
    import matplotlib.pyplot as plt  # here: importing it costs the demo's start 0.3 s

    fig, ax = plt.subplots(figsize=(6, 5.2), layout="constrained")
    # Log scale, so that a handful of mistakes still shows beside a thousand right answers.
    shade = confusion.float().log1p()
    shown = ax.imshow(shade.numpy(), cmap="Blues")
    dark = shade.max().item() / 2  # white text above this shade, black below
    for true in range(DIGITS):
        for predicted in range(DIGITS):
            value = int(confusion[true, predicted])
            if value:
                ax.text(predicted, true, str(value), ha="center", va="center", fontsize=8,
                        color="white" if shade[true, predicted] > dark else "black")
    ax.set_xticks(range(DIGITS))
    ax.set_yticks(range(DIGITS))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title("Test set: true digit against prediction")
    fig.colorbar(shown, ax=ax, label="log(1 + count)")
    return fig
