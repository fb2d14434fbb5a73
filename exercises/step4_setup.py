"""Step 4: an instance of the network, the loss and the optimizer.

Before training you need three things: the network from step 3, placed on the device that
will run it; a loss function that says how wrong its scores are; and an optimizer that uses
the gradients to improve the parameters. Step 5 uses all three.

Done when: `kata test 4` (or `make test STEP=4`) passes.
"""

import torch
from torch import nn

from kata import KataTodo

from .step3_network import DigitClassifier


def build_model(device) -> DigitClassifier:
    """A freshly initialised DigitClassifier (your step 3) with its parameters on `device`.

    `device` is a `torch.device` (or a name such as `"cpu"`). Every parameter of the returned
    model must live on that device.
    Look up: `nn.Module.to`.
    Hint: a model left on the CPU still works on the CPU, so forgetting `.to(device)` shows
    up only on a GPU, as a "tensors on different devices" error in step 5.
    """
    raise KataTodo("Step 4: create a DigitClassifier and move it to `device`.")


def build_loss() -> nn.Module:
    """The loss that compares the logits with the true digits.

    Called as `loss_fn(logits, labels)` with float logits (N, 10) and int64 labels (N,); it
    returns a scalar tensor: the cross-entropy averaged over the batch (the default).
    Look up: `nn.CrossEntropyLoss`.
    Hint: it expects raw logits and applies log-softmax itself; `nn.NLLLoss` would need
    log-probabilities instead.
    """
    raise KataTodo("Step 4: return a cross-entropy loss for raw logits.")


def build_optimizer(model: nn.Module, lr: float = 1e-3) -> torch.optim.Optimizer:
    """The optimizer that updates every parameter of `model` with learning rate `lr`.

    Adam is a good default: at the default lr of 1e-3 it learns a lot in one short epoch, which
    the capstone asks for. SGD with momentum or AdamW pass this step's tests too.
    Look up: `torch.optim.Adam`, `model.parameters()`.
    Hint: pass `lr` on instead of a number of your own, and give it all of
    `model.parameters()`, so no layer is left out of training.
    """
    raise KataTodo("Step 4: return an optimizer over all of `model`'s parameters with `lr`.")
