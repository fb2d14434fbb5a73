"""Step 4: an instance of the network, the loss and the optimizer.

The model is created and moved to the device that will run it. Cross-entropy measures how
far the logits are from the true digit, and Adam turns the gradients into parameter updates.
"""

import torch
from torch import nn

from .step3_network import DigitClassifier


def build_model(device) -> DigitClassifier:
    """A fresh DigitClassifier with its parameters on `device`."""
    return DigitClassifier().to(device)


def build_loss() -> nn.Module:
    """Cross-entropy on raw logits and integer labels, averaged over the batch."""
    return nn.CrossEntropyLoss()


def build_optimizer(model: nn.Module, lr: float = 1e-3) -> torch.optim.Optimizer:
    """Adam over every parameter of `model`."""
    return torch.optim.Adam(model.parameters(), lr=lr)
