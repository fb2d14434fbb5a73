"""Step 5: the training flow.

Training repeats one small move many times: predict a batch, measure the loss, work out
the gradients, and let the optimizer nudge every parameter to lower the loss. One pass over
the training data is an epoch. The tutorial printed the loss at every batch; here you return
the mean loss per epoch instead, so that you (and step 8's plot) can see it fall.

Done when: `kata test 5` (or `make test STEP=5`) passes.
"""

from tqdm.auto import tqdm  # noqa: F401 -- you will need it in fit

from kata import KataTodo


def train_step(model, images, labels, loss_fn, optimizer) -> float:
    """One update of `model` on one batch; returns that batch's loss.

    Inputs: images (N, 1, 28, 28) float32 and labels (N,) int64, already on the model's
    device; `loss_fn` and `optimizer` from step 4. In order: clear the old gradients,
    forward, loss, backward, optimizer step. Return the loss as a Python float.
    Look up: `optimizer.zero_grad`, `loss.backward`, `optimizer.step`, `loss.item()`.
    Hint: gradients add up in `.grad` until cleared, so forgetting `zero_grad` mixes every
    earlier batch into this update.
    """
    raise KataTodo("Step 5: clear the gradients, compute the loss, backpropagate, step; return it.")


def train_epoch(model, loader, loss_fn, optimizer, device) -> float:
    """One pass over `loader`; returns the mean loss per sample, as a float.

    Put the model in training mode, move each batch's images and labels to `device`, and
    update on it with `train_step`. Average over samples: weight each batch's loss by its
    number of samples and divide by the total count.
    Look up: `model.train()`, `tensor.to(device)`.
    Hint: a plain mean of batch losses is wrong when the last batch is short; weight each
    batch's loss by `len(labels)` so it counts for what it holds. Count the samples as you
    go rather than asking `loader.dataset`: `fit` may hand you a progress bar instead.
    """
    raise KataTodo("Step 5: train on every batch of `loader` and return the mean loss per sample.")


def fit(
    model, loader, loss_fn, optimizer, device, epochs: int = 1, progress: bool = False
) -> list[float]:
    """Train for `epochs` epochs; returns a list of floats, one mean loss per epoch.

    With `progress=True`, show a progress bar over the batches of each epoch; with False,
    print nothing at all.
    Look up: `tqdm(iterable, desc=..., disable=...)`.
    Hint: a tqdm bar wraps the loader and is itself iterable, so it can go straight into
    `train_epoch`; use `disable=not progress` instead of two code paths.
    """
    raise KataTodo("Step 5: run train_epoch `epochs` times and return the list of losses.")
