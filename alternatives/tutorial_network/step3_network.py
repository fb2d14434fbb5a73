"""Step 3 as the original tutorial wrote it: three convolutions, no pooling, one linear layer."""

from torch import nn


class DigitClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 32, 3),  # 32 x 26 x 26
            nn.ReLU(),
            nn.Conv2d(32, 64, 3),  # 64 x 24 x 24
            nn.ReLU(),
            nn.Conv2d(64, 64, 3),  # 64 x 22 x 22
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 22 * 22, 10),
        )

    def forward(self, x):
        return self.layers(x)
