"""Step 3: creating a PyTorch neural network.

The network is a class that inherits from `nn.Module`. Convolutional layers slide small
filters over the image to find strokes and shapes; linear layers at the end turn what they
found into ten scores, one per digit. Any architecture you like works (the tutorial's three
convolutions, or pooling, dropout, batch norm) as long as it meets the contract below.
Step 4 builds this network, and every later step trains or asks it.

Done when: `kata test 3` (or `make test STEP=3`) passes.
"""

from torch import nn

from kata import KataTodo


class DigitClassifier(nn.Module):
    """A convolutional network: float images (N, 1, 28, 28) -> raw logits (N, 10)."""

    def __init__(self):
        """Build the layers, stored as `self.layers`.

        `self.layers` must be an `nn.Sequential` that holds at least one `nn.Conv2d` and one
        `nn.Linear`; the constructor takes no arguments. A sound start: two Conv2d + ReLU +
        MaxPool2d blocks, then `nn.Flatten()` and Linear layers ending in 10 outputs. The
        first Linear takes channels x height x width of what reaches it (32 x 7 x 7 for 32
        channels after two halvings, by a pooling or a convolution with stride=2).
        Look up: `nn.Sequential`, `nn.Conv2d`, `nn.ReLU`, `nn.MaxPool2d`, `nn.Flatten`,
        `nn.Linear`.
        Hint: call `super().__init__()` first; without it, assigning a layer to `self` fails.
        """
        raise KataTodo("Step 3: call super().__init__() and build `self.layers` as nn.Sequential.")

    def forward(self, x):
        """Score the ten digits for each image of the batch.

        Input `x`: float32 images (N, 1, 28, 28), for any N >= 1, so never hard-code the
        batch size. Output: float32 logits (N, 10), one row of ten scores per image.
        Look up: calling an `nn.Sequential` like a function; `nn.Flatten` keeps dimension 0.
        Hint: return raw logits, no softmax: `nn.CrossEntropyLoss` in step 4 applies it
        itself, and a second softmax slows learning.
        """
        raise KataTodo("Step 3: pass `x` through `self.layers` and return the logits.")
