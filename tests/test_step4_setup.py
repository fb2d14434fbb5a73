"""Step 4: the model, the loss and the optimizer.

build_model is the one place where step 4 uses your step 3 network. The loss is checked on
random logits against PyTorch's own cross-entropy, and the optimizer on a tiny test-local
network, so a bug in your DigitClassifier does not fail those tests.
"""

import pytest
import torch
import torch.nn.functional as F
from grader_checks import graders_check_test_for
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kata import KataTodo
from kata.testing import observe

META = torch.device("meta")  # shapes without data: cheap, and a device every machine has
TEST_LR = 0.0123  # an unusual value, so a hard-coded learning rate cannot match it by chance


class SmallConvNet(nn.Module):
    """A tiny stand-in for DigitClassifier: `self.layers` with a conv layer and a linear layer."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10)
        )

    def forward(self, x):
        return self.layers(x)


def random_batch(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random logits (count, 10) and integer labels (count,); the same seed gives the same."""
    generator = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(count, 10, generator=generator)
    return logits, torch.randint(0, 10, (count,), generator=generator)


def placed_elsewhere(model: nn.Module, device: torch.device) -> list[str]:
    """Names of the parameters and buffers of `model` that are not on `device`."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    return [f"{name} (on {tensor.device})" for name, tensor in tensors
            if tensor.device.type != device.type
            or (device.index is not None and tensor.device.index != device.index)]


def loss_of(loss_fn, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """loss_fn(logits, labels), with a crash turned into a failure that says where to look."""
    try:
        return loss_fn(logits, labels)
    except KataTodo:
        raise  # a stub's KataTodo is a RuntimeError too: let it through so the test counts as todo
    except (RuntimeError, ValueError) as error:
        crash = error  # failed outside the except block, so the report shows the error only once
    pytest.fail(f"build_loss: the loss crashed on raw logits {tuple(logits.shape)} and integer "
                f"labels {tuple(labels.shape)}:\n  {crash}\nUse nn.CrossEntropyLoss(): it takes "
                "raw logits and class numbers, while e.g. nn.MSELoss wants targets shaped like "
                "the outputs.", pytrace=False)


def test_build_model_returns_a_digit_classifier_on_the_device(step3, step4, device):
    """build_model gives your step 3 DigitClassifier with every parameter on the test device."""
    model = step4.build_model(device)
    assert isinstance(model, step3.DigitClassifier), (
        f"build_model returned a {type(model).__name__}: return a DigitClassifier()"
    )
    misplaced = placed_elsewhere(model, device)
    assert not misplaced, (
        f"build_model({device!r}) left these elsewhere: {misplaced[:3]}: return "
        "DigitClassifier().to(device)"
    )


def test_build_model_moves_the_model_to_the_device(step4):
    """Catches: forgetting .to(device), which leaves the model on the CPU.

    The "meta" device holds shapes but no data, so every machine can check this without a GPU.
    """
    misplaced = placed_elsewhere(step4.build_model(META), META)
    assert not misplaced, (
        f"build_model(device) left these on another device: {misplaced[:3]}: return "
        "DigitClassifier().to(device), so the model runs where the data will be"
    )


def test_build_model_builds_a_fresh_model_each_call(step4):
    """Catches: returning one shared model (e.g. a module-level global) instead of a new one."""
    first, second = step4.build_model(META), step4.build_model(META)
    shared = {id(p) for p in first.parameters()} & {id(p) for p in second.parameters()}
    assert not shared, (
        "build_model returned the same parameters twice: create a new DigitClassifier() inside "
        "build_model on every call, so that each training run starts from scratch"
    )


def test_build_loss_returns_a_module(step4):
    """build_loss returns an nn.Module, such as nn.CrossEntropyLoss()."""
    loss_fn = step4.build_loss()
    assert isinstance(loss_fn, nn.Module), (
        f"build_loss returned a {type(loss_fn).__name__}: return a loss module such as "
        "nn.CrossEntropyLoss() (an object, not the function F.cross_entropy)"
    )


@given(count=st.integers(min_value=1, max_value=64), seed=st.integers(0, 1000))
def test_build_loss_is_cross_entropy_on_logits(step4, count, seed):
    """The loss equals F.cross_entropy on raw logits and integer labels, for any batch size."""
    logits, labels = random_batch(count, seed)
    loss = loss_of(step4.build_loss(), logits, labels)
    expected = F.cross_entropy(logits, labels)
    assert loss.shape == () and torch.allclose(loss, expected, atol=1e-5), (
        f"build_loss gave {loss.tolist()} for a batch of {count}, but cross-entropy is "
        f"{expected.item():.5f}: return nn.CrossEntropyLoss() with its default settings"
    )


def test_build_loss_takes_raw_logits(step4):
    """Catches: nn.NLLLoss on raw logits; it expects log-probabilities.

    Cross-entropy only cares about the differences between the logits of an image, so adding
    the same number to all of them leaves the loss unchanged; NLLLoss on raw logits changes.
    """
    loss_fn = step4.build_loss()
    logits, labels = random_batch(8)
    before, after = loss_of(loss_fn, logits, labels), loss_of(loss_fn, logits + 5, labels)
    assert torch.allclose(before, after, atol=1e-5), (
        "build_loss: adding 5 to every logit changed the loss, so it does not apply log_softmax "
        "to the logits. nn.NLLLoss expects log-probabilities: use nn.CrossEntropyLoss(), "
        "which takes the raw logits"
    )


def test_build_loss_averages_over_the_batch(step4):
    """Catches: reduction="sum" (or "none"), so the loss grows with the batch size."""
    loss_fn = step4.build_loss()
    logits, labels = random_batch(8)
    single = loss_of(loss_fn, logits, labels)
    observe(loss_shape=tuple(single.shape))
    assert single.shape == (), (
        f"build_loss gave shape {tuple(single.shape)} for a batch, not one number: keep the "
        "default reduction='mean'"
    )
    doubled = loss_of(loss_fn, logits.repeat(2, 1), labels.repeat(2))
    assert torch.allclose(single, doubled, atol=1e-5), (
        "build_loss: the same batch twice over gave a different loss, so the loss sums over "
        "the batch: keep the default reduction='mean', so that the learning rate does not "
        "depend on the batch size"
    )


def test_build_optimizer_returns_an_optimizer(step4):
    """build_optimizer returns a torch.optim.Optimizer.

    Catches: the optimizer given model.parameters without its brackets, the method rather
    than the parameters it returns (Adam then raises "'method' object is not iterable")."""
    optimizer = step4.build_optimizer(SmallConvNet())
    assert isinstance(optimizer, torch.optim.Optimizer), (
        f"build_optimizer returned a {type(optimizer).__name__}: return an optimizer such as "
        "torch.optim.Adam(model.parameters(), lr=lr)"
    )


def test_build_optimizer_covers_every_parameter(step4):
    """Catches: an optimizer over only some parameters, e.g. model.layers[0].parameters(), or
    over none of them, e.g. the parameters of a new DigitClassifier() instead of `model`'s."""
    model = SmallConvNet()
    optimizer = step4.build_optimizer(model, lr=TEST_LR)
    covered = {id(p) for group in optimizer.param_groups for p in group["params"]}
    parameters = dict(model.named_parameters())
    left_out = [name for name, p in parameters.items() if id(p) not in covered]
    observe(left_out=len(left_out), parameters=len(parameters))
    assert not left_out, (
        f"build_optimizer leaves out {left_out}: give the optimizer model.parameters(), all "
        "of them, so that every layer learns"
    )


def test_build_optimizer_uses_the_given_learning_rate(step4):
    """Catches: ignoring `lr`, e.g. a hard-coded lr=1e-3 or lr=0.01."""
    optimizer = step4.build_optimizer(SmallConvNet(), lr=TEST_LR)
    rates = [float(group["lr"]) for group in optimizer.param_groups]
    assert rates == pytest.approx([TEST_LR] * len(rates)), (
        f"build_optimizer(model, lr={TEST_LR}) made an optimizer with lr {rates}: pass lr=lr "
        "to the optimizer instead of a number of your own"
    )


def test_build_optimizer_defaults_to_lr_0_001(step4):
    """Catches: a default learning rate other than the contract's 1e-3."""
    optimizer = step4.build_optimizer(SmallConvNet())
    rates = [float(group["lr"]) for group in optimizer.param_groups]
    assert rates == pytest.approx([1e-3] * len(rates)), (
        f"build_optimizer(model) made an optimizer with lr {rates}: the default must be "
        "lr: float = 1e-3"
    )


def test_build_optimizer_step_changes_every_parameter(step4):
    """One optimizer step after backward() moves every parameter of the model."""
    model = SmallConvNet()
    optimizer = step4.build_optimizer(model, lr=TEST_LR)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    images = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    F.cross_entropy(model(images), torch.arange(8)).backward()
    optimizer.step()
    unchanged = [name for name, p in model.named_parameters() if torch.equal(p, before[name])]
    assert not unchanged, (
        f"build_optimizer: one step left {unchanged} unchanged: build the optimizer over "
        "model.parameters() with lr=lr"
    )


# ---------------------------------------------------------------- the grader's own checks

# Step 4's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(4)
