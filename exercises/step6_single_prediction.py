"""Step 6: testing the prediction of a single image.

With a trained network you can ask it about one test image: which digit is it, and how sure
is the network? The network only takes batches, so the single image gets a batch dimension
of 1. The softmax of the logits gives probabilities; the largest one is the prediction.

Done when: `kata test 6` (or `make test STEP=6`) passes.
"""

import torch  # noqa: F401 -- you will need it in predict_image

from kata import KataTodo

# The shapes one MNIST image may come in: bare, with its channel, or as a batch of one.
IMAGE_SHAPES = ((28, 28), (1, 28, 28), (1, 1, 28, 28))


def predict_image(model, image, device) -> tuple[int, float]:
    """The digit `model` predicts for one image, and the probability it gives that digit.

    `image` is a float tensor of shape (28, 28), (1, 28, 28) or (1, 1, 28, 28); any other
    shape raises `ValueError` whose message shows that shape. Reshape it to (1, 1, 28, 28),
    move it to `device`, and run the model in eval mode with gradients off. Return
    `(digit, probability)` as a Python int in 0..9 and a Python float in [0, 1].
    Look up: `model.eval()`, `torch.no_grad`, `tensor.reshape`, `torch.softmax(..., dim=1)`,
    `tensor.max(dim=1)`, `.item()`.
    Hint: without `model.eval()`, dropout stays on and the same image can get different
    answers from one call to the next.
    """
    raise KataTodo("Step 6: check the shape, then return the predicted digit and its probability.")


def check_single(model, dataset, index, device) -> tuple[int, int, bool]:
    """Predict `dataset[index]` and compare with its true label.

    `dataset[index]` is `(image, label)`, image (1, 28, 28). Return
    `(predicted, true, agree)`: two Python ints and a Python bool.
    Look up: your `predict_image` above.
    Hint: the label may be an int or a 0-d tensor; convert it with `int(...)` so the result
    holds plain Python values.
    """
    raise KataTodo("Step 6: predict dataset[index] and return (predicted, true, agree).")
