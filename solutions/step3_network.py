"""Step 3: creating a PyTorch neural network.

A convolutional network reads the 28x28 image with small filters that slide over it, shrinks
the picture to 7x7 while its filters learn strokes and shapes, and ends in linear layers that
score each of the ten digits. It is small on purpose (about 160,000 parameters, most of them
in the first Linear): it trains to 99% in two epochs on a laptop CPU.
The scores are raw logits: the loss function of step 4 turns them into probabilities.
"""

from torch import nn


class DigitClassifier(nn.Module):
    """A small CNN: images (N, 1, 28, 28) -> logits (N, 10)."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            # A 5x5 filter placed on every other pixel (stride 2): 32 x 14 x 14 at once,
            # a quarter of the work of filtering every pixel and then pooling.
            nn.Conv2d(1, 32, kernel_size=5, stride=2, padding=2),
            # Pooling before the ReLU gives the same numbers (the largest of four, then
            # negatives to zero) with the ReLU on a quarter of the values.
            nn.MaxPool2d(2),  # 32 x 7 x 7
            nn.ReLU(),
            # 24 filters, not 32: three quarters of the work of the two layers that cost the
            # most (this one and the first Linear), still 99% in two epochs.
            nn.Conv2d(32, 24, kernel_size=3, padding=1),  # 24 x 7 x 7: padding keeps the size
            nn.ReLU(),
            nn.Flatten(),  # keeps the batch dimension, whatever its size
            nn.Linear(24 * 7 * 7, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.layers(x)
