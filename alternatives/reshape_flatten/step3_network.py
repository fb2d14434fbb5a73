"""Step 3 without nn.Flatten: forward reshapes the feature maps itself, as older tutorials did."""

from collections import OrderedDict

import torch.nn as nn


class DigitClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(OrderedDict(
            features=nn.Sequential(
                nn.Conv2d(1, 20, kernel_size=5),  # 20 x 24 x 24
                nn.MaxPool2d(2),  # 20 x 12 x 12
                nn.ReLU(),
                nn.Conv2d(20, 50, kernel_size=5),  # 50 x 8 x 8
                nn.MaxPool2d(2),  # 50 x 4 x 4
                nn.ReLU(),
            ),
            classifier=nn.Sequential(
                nn.Linear(50 * 4 * 4, 500),
                nn.ReLU(),
                nn.Linear(500, 10),
            ),
        ))

    def forward(self, x):
        x = self.layers.features(x)
        x = x.view(x.size(0), -1)  # keep the batch dimension, flatten the rest
        return self.layers.classifier(x)
