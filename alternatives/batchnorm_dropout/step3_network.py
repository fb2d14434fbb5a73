"""Step 3 with batch normalisation after each convolution and dropout before the classifier."""

import torch.nn as nn


def conv_block(in_channels, out_channels):
    """conv -> batch norm -> relu -> 2x2 max pool: halves the picture."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),  # BN has its own bias
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class DigitClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            conv_block(1, 16),  # 16 x 14 x 14
            conv_block(16, 32),  # 32 x 7 x 7
            nn.Dropout2d(0.1),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 64),
            nn.BatchNorm1d(64),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.layers(x)
