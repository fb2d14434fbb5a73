"""Step 6 written out by hand: the shape checks, the softmax and the best digit in plain loops."""

import math

import torch


def predict_image(model, image, device):
    shape = list(image.shape)
    while len(shape) > 2 and shape[0] == 1:  # drop the channel and batch dimensions of size 1
        shape = shape[1:]
    if shape != [28, 28] or image.dim() > 4:
        raise ValueError(f"predict_image wants one 28x28 image, but got shape {list(image.shape)}")

    model.eval()
    with torch.no_grad():
        scores = model(image.view(1, 1, 28, 28).to(device))[0].tolist()

    best = 0
    for digit in range(1, len(scores)):
        if scores[digit] > scores[best]:
            best = digit
    # softmax of the best score, shifted by it so that exp() cannot overflow
    total = sum(math.exp(score - scores[best]) for score in scores)
    return best, 1.0 / total


def check_single(model, dataset, index, device):
    image, label = dataset[index]
    label = int(label)
    prediction, _ = predict_image(model, image, device)
    return prediction, label, prediction == label
