"""Step 5: the training flow.

Training repeats one small move many times: predict a batch, measure the loss, compute the
gradients, and let the optimizer nudge every parameter downhill. One pass over the whole
training set is an epoch.
"""

from tqdm.auto import tqdm


def train_step(model, images, labels, loss_fn, optimizer) -> float:
    """One update on one batch; returns the batch loss as a Python float."""
    optimizer.zero_grad()  # gradients add up in .grad until they are cleared
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_epoch(model, loader, loss_fn, optimizer, device) -> float:
    """One pass over `loader`; returns the mean loss per sample."""
    model.train()  # dropout and batch norm behave differently while training
    total_loss, sample_count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        batch_loss = train_step(model, images, labels, loss_fn, optimizer)
        # Weight by batch size so that a short last batch counts for what it holds.
        total_loss += batch_loss * len(labels)
        sample_count += len(labels)
    return total_loss / sample_count


def fit(
    model, loader, loss_fn, optimizer, device, epochs: int = 1, progress: bool = False
) -> list[float]:
    """Train for `epochs` epochs; returns the mean loss of each."""
    losses = []
    for epoch in range(1, epochs + 1):
        batches = tqdm(loader, desc=f"epoch {epoch}/{epochs}", unit="batch", disable=not progress)
        losses.append(train_epoch(model, batches, loss_fn, optimizer, device))
    return losses
