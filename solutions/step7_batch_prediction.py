"""Step 7: testing the prediction of many images.

Predicting a whole batch at once is much faster than one image at a time. Counting the
correct predictions over the whole test set gives the accuracy: the number that says how
good the network is on digits it has never seen.
"""

import torch


def predict_batch(model, images, device) -> torch.Tensor:
    """The predicted digits of a batch (N, 1, 28, 28), as int64 labels (N,) on the CPU."""
    model.eval()
    with torch.no_grad():
        logits = model(images.to(device))
    return logits.argmax(dim=1).cpu()  # dim 1 holds the ten digit scores


def accuracy(predictions, labels) -> float:
    """The fraction of predictions that agree with the labels."""
    predictions, labels = torch.as_tensor(predictions).cpu(), torch.as_tensor(labels).cpu()
    return (predictions == labels).float().mean().item()


def evaluate(model, loader, device) -> float:
    """Accuracy over every sample of `loader`."""
    correct, total = 0, 0
    for images, labels in loader:
        correct += (predict_batch(model, images, device) == labels).sum().item()
        total += len(labels)
    # Count samples, not batches: a mean of batch accuracies overweights a short last batch.
    return correct / total
