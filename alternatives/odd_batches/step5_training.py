"""Step 5 that counts samples batch by batch: a batch of any size (7, 13, a short last one)
weighs what it holds."""

import torch
from tqdm import tqdm


def train_step(model, images, labels, loss_fn, optimizer):
    optimizer.zero_grad()
    output = model(images)
    loss = loss_fn(output, labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    losses = []
    sizes = []
    for images, labels in loader:
        images = images.to(device)
        labels = labels.to(device)
        losses.append(train_step(model, images, labels, loss_fn, optimizer))
        sizes.append(images.size(0))
    # each batch's mean loss counts once per sample it holds
    weighted = torch.tensor(losses, dtype=torch.float64) @ torch.tensor(sizes, dtype=torch.float64)
    return (weighted / sum(sizes)).item()


def fit(model, loader, loss_fn, optimizer, device, epochs=1, progress=False):
    history = []
    for _ in tqdm(range(epochs), desc="training", disable=not progress):
        history.append(train_epoch(model, loader, loss_fn, optimizer, device))
    return history
