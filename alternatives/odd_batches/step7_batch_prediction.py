"""Step 7 that evaluates in batches of 50 whatever the loader serves, short last batch included."""

import torch


def predict_batch(model, images, device):
    model.eval()
    with torch.inference_mode():
        return model(images.to(device)).argmax(1).to("cpu")


def accuracy(predictions, labels):
    predictions = torch.as_tensor(predictions)
    labels = torch.as_tensor(labels)
    return torch.eq(predictions, labels).sum().item() / labels.numel()


def evaluate(model, loader, device, chunk=50):
    correct = total = 0
    for images, labels in loader:
        # split big loader batches into chunks of 50 (the last one shorter) to bound memory
        for image_chunk, label_chunk in zip(images.split(chunk), labels.split(chunk)):
            correct += (predict_batch(model, image_chunk, device) == label_chunk).sum().item()
            total += label_chunk.numel()
    return correct / total
