"""Step 4 with SGD and momentum, the optimizer of many older MNIST tutorials."""

import torch.nn as nn
import torch.optim as optim

from .step3_network import DigitClassifier


def build_model(device):
    model = DigitClassifier()
    model.to(device)
    return model


def build_loss():
    return nn.CrossEntropyLoss()


def build_optimizer(model, lr=1e-3):
    # momentum carries each step on in the direction of the last ones, so plain SGD speeds up
    return optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
