"""Step 5 that asks the loader how many samples it serves, as many tutorials do: the epoch's
summed loss divided by len(loader.dataset)."""

from tqdm.auto import tqdm


def train_step(model, images, labels, loss_fn, optimizer) -> float:
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_epoch(model, loader, loss_fn, optimizer, device) -> float:
    model.train()
    running_loss = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        running_loss += train_step(model, images, labels, loss_fn, optimizer) * images.size(0)
    return running_loss / len(loader.dataset)


def fit(model, loader, loss_fn, optimizer, device, epochs=1, progress=False):
    losses = []
    for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
        losses.append(train_epoch(model, loader, loss_fn, optimizer, device))
    return losses
