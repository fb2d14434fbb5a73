"""Step 6: testing the prediction of a single image.

To ask the trained network about one image, switch it to evaluation mode, turn gradient
tracking off, add the batch dimension the network expects, and read the most likely digit
and its probability from the softmax of the logits.
"""

import torch

IMAGE_SHAPES = ((28, 28), (1, 28, 28), (1, 1, 28, 28))


def predict_image(model, image, device) -> tuple[int, float]:
    """The predicted digit of one image and the probability the model gives it."""
    if tuple(image.shape) not in IMAGE_SHAPES:
        raise ValueError(
            f"expected one image of shape (28, 28), (1, 28, 28) or (1, 1, 28, 28), "
            f"got {tuple(image.shape)}"
        )
    model.eval()
    with torch.no_grad():
        logits = model(image.reshape(1, 1, 28, 28).to(device))
        probability, digit = torch.softmax(logits, dim=1).max(dim=1)
    return int(digit.item()), float(probability.item())


def check_single(model, dataset, index, device) -> tuple[int, int, bool]:
    """Predicted label, true label, and whether they agree, for `dataset[index]`."""
    image, label = dataset[index]
    predicted, _ = predict_image(model, image, device)
    return predicted, int(label), predicted == int(label)
