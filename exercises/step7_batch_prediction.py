"""Step 7: testing the prediction of many images.

Asking the network about a whole batch at once is far faster than one image at a time.
Counting the right answers over the whole test set gives the accuracy: the number that says
how well the network does on digits it has never seen (the tutorial never measured it).
Step 8 uses `predict_batch` to label its pictures.

Done when: `kata test 7` (or `make test STEP=7`) passes.
"""

import torch

from kata import KataTodo


def predict_batch(model, images, device) -> torch.Tensor:
    """The digit `model` predicts for each image of a batch.

    `images`: float32 (N, 1, 28, 28), on any device. Returns an int64 tensor (N,) of digits
    0..9, on the CPU. Run the model on `device`, in eval mode, with gradients off.
    Look up: `model.eval()`, `torch.no_grad`, `tensor.argmax(dim=1)`, `tensor.cpu()`.
    Hint: take the argmax over dim 1 (the ten scores of each image), not dim 0 (which would
    pick an image per digit).
    """
    raise KataTodo("Step 7: return the predicted digit of every image, as int64 on the CPU.")


def accuracy(predictions, labels) -> float:
    """The fraction of `predictions` that equal `labels`, as a Python float in [0, 1].

    Both are sequences of the same length N of digits: tensors (N,) or lists of ints.
    Look up: `torch.as_tensor`, `==` on tensors, `tensor.float().mean()`, `.item()`.
    Hint: `(a == b)` is a bool tensor, and `.mean()` of a bool tensor fails: call `.float()`
    first.
    """
    raise KataTodo("Step 7: return the fraction of predictions that equal the labels.")


def evaluate(model, loader, device) -> float:
    """The accuracy of `model` over every sample that `loader` serves, as a float in [0, 1].

    Predict each batch with `predict_batch`, count the correct predictions and the samples,
    and divide the totals at the end.
    Look up: `tensor.sum().item()`, `len(labels)`.
    Hint: do not average per-batch accuracies; a short last batch would count as much as a
    full one. Count samples, not batches.
    """
    raise KataTodo("Step 7: return correct predictions over all samples of `loader`.")
