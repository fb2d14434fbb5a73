"""Step 7 with loops that count, instead of vectorised comparisons."""

import torch


def predict_batch(model, images, device):
    model.eval()
    with torch.no_grad():
        outputs = model(images.to(device)).cpu()
    # torch.max gives (values, indices): the index of the best score is the digit
    _, predicted = torch.max(outputs, 1)
    return predicted


def accuracy(predictions, labels):
    right = 0
    for predicted, label in zip(predictions, labels):
        if int(predicted) == int(label):
            right += 1
    return right / len(labels)


def evaluate(model, loader, device):
    right, seen = 0, 0
    for images, labels in loader:
        predicted = predict_batch(model, images, device)
        for i in range(len(labels)):
            if predicted[i] == labels[i]:
                right += 1
            seen += 1
    return right / seen
