"""Step 3: creating a PyTorch neural network.

A convolutional network reads the 28x28 image with small filters that slide over it, pools
to halve the picture twice, and ends in linear layers that score each of the ten digits.
It is small on purpose (about 106,000 parameters): it trains to 99% in two epochs on a
laptop CPU.
The scores are raw logits: the loss function of step 4 turns them into probabilities.
"""

from torch import nn


class DigitClassifier(nn.Module):
    """A small CNN: images (N, 1, 28, 28) -> logits (N, 10)."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),  # 16 x 28 x 28
            nn.ReLU(),
            nn.MaxPool2d(2),  # 16 x 14 x 14: pooling early keeps the next layer cheap
            nn.Conv2d(16, 32, kernel_size=3, padding=1),  # 32 x 14 x 14
            nn.ReLU(),
            nn.MaxPool2d(2),  # 32 x 7 x 7
            nn.Flatten(),  # keeps the batch dimension, whatever its size
            nn.Linear(32 * 7 * 7, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.layers(x)
