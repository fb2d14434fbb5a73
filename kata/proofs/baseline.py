"""The baseline of `make bench`: the recipe of pytorch/examples' mnist/main.py, timed.

Its network (two unpadded convolutions, one max-pool, dropout, 9216 -> 128 -> 10 with a
log-softmax), Adadelta at lr 1.0 with StepLR(step_size=1, gamma=0.7), and torchvision's
DataLoader over the PIL dataset with batches of 64 (1,000 for testing), seed 1. As in the
recipe, only on an accelerator are the batches shuffled, by one worker process: on a CPU every
epoch reads the images in the dataset's order. What is ours: it stops after the first epoch
that reaches --stop-at; it prints one line an epoch, with the mean of the training losses it
reads every 10 batches (the recipe prints each), and no test loss (the recipe's costs ten
small sums an epoch); and it writes the same metrics.json fields as the demo, so `make bench`
compares like with like.

    python -m kata.proofs.baseline --out /tmp/baseline.json
"""

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from kata import data
from kata.demo.measure import Clock, peak_memory_mb
from kata.device import resolve_device


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = torch.flatten(x, 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def train(model, device, loader, optimizer, log_interval: int = 10) -> float:
    """One epoch; the mean of the batch losses read every `log_interval` batches, which is as
    often as the recipe reads one from the device to print it (no other work per batch)."""
    model.train()
    read_losses = []
    for batch, (images, labels) in enumerate(loader):
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(images), labels)
        loss.backward()
        optimizer.step()
        if batch % log_interval == 0:
            read_losses.append(loss.item())
    return sum(read_losses) / len(read_losses)


def test(model, device, loader) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            predicted = model(images.to(device)).argmax(dim=1)
            correct += (predicted == labels.to(device)).sum().item()
    return correct / len(loader.dataset)


def recipe_loaders(root, device: torch.device) -> tuple[DataLoader, DataLoader]:
    """The recipe's training and test loaders: on an accelerator with its options, on a CPU
    with none, so that there the images come in the dataset's order, unshuffled."""
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    accelerator_options = {"num_workers": 1, "persistent_workers": True, "pin_memory": True,
                           "shuffle": True} if device.type != "cpu" else {}
    return (DataLoader(datasets.MNIST(root, train=True, transform=transform),
                       batch_size=64, **accelerator_options),
            DataLoader(datasets.MNIST(root, train=False, transform=transform),
                       batch_size=1000, **accelerator_options))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.proofs.baseline",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=14,
                        help="at most this many epochs (14, as in pytorch/examples)")
    parser.add_argument("--stop-at", type=float, default=0.99,
                        help="stop after the first epoch with this test accuracy")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--root", type=Path, default=data.mnist_root())
    parser.add_argument("--out", type=Path, required=True, help="where to write metrics.json")
    args = parser.parse_args(argv)

    clock = Clock()
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    train_loader, test_loader = recipe_loaders(args.root, device)
    model = Net().to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)

    history = []
    for epoch in range(1, args.epochs + 1):
        with clock.phase("train"):
            loss = train(model, device, train_loader, optimizer)
        with clock.phase("evaluate"):
            accuracy = test(model, device, test_loader)
        scheduler.step()
        history.append({"epoch": epoch, "loss": loss, "test_accuracy": accuracy,
                        "seconds": clock.elapsed()})
        print(f"epoch {epoch}: mean loss {loss:.4f}, test accuracy {accuracy:.2%} "
              f"({clock.elapsed():.1f} s)", flush=True)
        if accuracy >= args.stop_at:
            break

    metrics = {
        "program": "pytorch/examples mnist", "device": str(device), "history": history,
        "test_accuracy": history[-1]["test_accuracy"],
        "seconds_to_target": next((r["seconds"] for r in history
                                   if r["test_accuracy"] >= args.stop_at), None),
        "train_images_per_second": len(train_loader.dataset) * len(history)
                                   / clock.phases["train"],
        "seconds": {**clock.phases, "total": clock.elapsed()},
        "clock_started_unix": clock.started_unix,
        "peak_rss_mb": peak_memory_mb(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
