"""Step 3: the DigitClassifier network.

The tests feed random images (not MNIST) to an untrained network: they check its structure,
the shape and kind of its output, that it is not a linear function, and that every parameter
can learn. Batches stay small so that larger networks, like the tutorial's, run quickly too.
"""

import pytest
import torch
import torch.nn.functional as F
from grader_checks import graders_check_test_for
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from kata import KataTodo
from kata.testing import (
    crash_facts,
    looks_like_log_probabilities,
    looks_like_probabilities,
    observe,
    record_margin,
)

FORWARD_HINT = (
    "If it says the shapes cannot be multiplied, check two things in your network: the first "
    "nn.Linear's in_features must equal channels x height x width after the last conv/pool "
    "layer (e.g. 32 * 7 * 7), and the flatten must keep the batch dimension "
    "(nn.Flatten() or torch.flatten(x, 1), not view(64, -1))."
)


def images(count: int, seed: int = 0) -> torch.Tensor:
    """`count` random float images (count, 1, 28, 28); the same seed gives the same images."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 1, 28, 28, generator=generator)


def forward(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """model(batch), with a crash, or an answer that is no tensor (a forward without `return`),
    turned into a failure that says where to look."""
    try:
        output = model(batch)
    except KataTodo:
        raise  # a stub's KataTodo is a RuntimeError too: let it through so the test counts as todo
    except RuntimeError as error:
        crash = error  # failed outside the except block, so the report shows the error only once
        observe(**crash_facts(crash))
    else:
        if isinstance(output, torch.Tensor):
            return output
        observe(forward_returned=type(output).__name__)
        pytest.fail(f"DigitClassifier.forward returned {output!r:.60}, not a tensor of logits: "
                    "end it with `return self.layers(x)`", pytrace=False)
    pytest.fail(f"DigitClassifier.forward crashed on images of shape {tuple(batch.shape)}:\n"
                f"  {crash}\n{FORWARD_HINT}", pytrace=False)


def logits_of(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """The model's output for `batch`, in eval mode (dropout off) and without gradients."""
    model.eval()
    with torch.no_grad():
        return forward(model, batch)


def test_digit_classifier_is_a_module_built_without_arguments(step3):
    """DigitClassifier() needs no arguments and is an nn.Module.

    Catches: an __init__ without super().__init__(), which fails at its first layer with
    "cannot assign module before Module.__init__() call"."""
    model = step3.DigitClassifier()
    assert isinstance(model, nn.Module), (
        "DigitClassifier must subclass nn.Module: class DigitClassifier(nn.Module), and call "
        "super().__init__() first in __init__"
    )


def test_digit_classifier_layers_are_a_sequential_with_conv_and_linear(step3):
    """self.layers is an nn.Sequential holding at least one nn.Conv2d and one nn.Linear."""
    model = step3.DigitClassifier()
    layers = getattr(model, "layers", None)
    found = "missing" if layers is None else f"a {type(layers).__name__}"
    assert isinstance(layers, nn.Sequential), (
        f"DigitClassifier.layers is {found}, not an nn.Sequential: in __init__, build the "
        "layers as self.layers = nn.Sequential(...)"
    )
    kinds = {type(module) for module in layers.modules()}  # nested Sequentials count too
    assert nn.Conv2d in kinds, "DigitClassifier.layers holds no nn.Conv2d: add a convolution layer"
    assert nn.Linear in kinds, "DigitClassifier.layers holds no nn.Linear: end with a linear layer"


def test_digit_classifier_registers_every_layer(step3):
    """Catches: layers kept in a plain Python list, so PyTorch never sees their parameters."""
    model = step3.DigitClassifier()
    assert list(model.parameters()), (
        "DigitClassifier has no parameters: PyTorch cannot see its layers. Put them in "
        "nn.Sequential (self.layers = nn.Sequential(...)), not in a plain Python list"
    )
    # A copy that loads the state_dict holds the same weights, unless some layer is not registered.
    copy = step3.DigitClassifier()
    copy.load_state_dict(model.state_dict())
    batch = images(4)
    observe(same_model_repeats=torch.allclose(logits_of(model, batch), logits_of(model, batch)))
    assert torch.allclose(logits_of(model, batch), logits_of(copy, batch)), (
        "two DigitClassifiers with the same state_dict give different outputs: some layers are "
        "hidden from PyTorch (in a plain Python list or dict?). Keep every layer in nn.Sequential "
        "or nn.ModuleList, so that model.parameters(), .to(device) and saving see it"
    )


@settings(max_examples=10)  # big batches through the tutorial's network are slow; 10 sizes do
@given(count=st.integers(min_value=1, max_value=64))
def test_forward_returns_float_logits_of_shape_n_by_10(step3, device, count):
    """forward maps float images (N, 1, 28, 28) to float logits (N, 10) on the test device.

    Catches (as every test that runs forward): a forward without `return`, which gives None."""
    model = step3.DigitClassifier().to(device)
    logits = logits_of(model, images(count, seed=count).to(device))
    assert logits.shape == (count, 10), (
        f"DigitClassifier.forward gave shape {tuple(logits.shape)} for a batch of {count}, "
        f"expected ({count}, 10): one row per image, one score per digit"
    )
    assert logits.dtype == torch.float32, (
        f"DigitClassifier.forward gave {logits.dtype}, expected torch.float32 logits"
    )


def test_forward_keeps_one_row_per_image(step3):
    """Catches: a flatten that only works for one batch size, e.g. x.view(64, -1)."""
    model = step3.DigitClassifier()
    for count in (1, 2, 3, 10):
        shape = tuple(logits_of(model, images(count)).shape)
        observe(count=count, shape=shape)
        assert len(shape) == 2 and shape[0] == count, (
            f"DigitClassifier.forward gave shape {shape} for a batch of {count}, expected one row "
            "per image: flatten with nn.Flatten() or torch.flatten(x, 1), which keep the batch "
            "dimension, not with view(64, -1), reshape(1, -1), or view(-1, size) where size does "
            "not match the layer before it"
        )


def test_forward_scores_ten_digits(step3):
    """Catches: a last nn.Linear with the wrong number of outputs, e.g. nn.Linear(128, 1)."""
    model = step3.DigitClassifier()
    scores = logits_of(model, images(2)).shape[-1]
    assert scores == 10, (
        f"DigitClassifier.forward gave {scores} scores per image, expected 10 (one per digit): "
        "the last nn.Linear needs out_features=10"
    )


def test_forward_returns_raw_logits_not_probabilities(step3):
    """Catches: softmax or log_softmax at the end of forward, before nn.CrossEntropyLoss.

    Raw logits of an untrained network are never all probabilities (or log-probabilities)
    on sixteen different images, so that pattern can only come from a softmax in forward.
    """
    model = step3.DigitClassifier()
    outputs = logits_of(model, images(16))
    observe(probabilities=looks_like_probabilities(outputs),
            log_probabilities=looks_like_log_probabilities(outputs))
    assert not looks_like_probabilities(outputs), (
        "DigitClassifier.forward returns probabilities (every row sums to 1): remove the softmax "
        "at the end of forward and return the raw logits, because nn.CrossEntropyLoss applies "
        "log_softmax itself"
    )
    assert not looks_like_log_probabilities(outputs), (
        "DigitClassifier.forward returns log-probabilities: remove the log_softmax at the end of "
        "forward and return the raw logits, because nn.CrossEntropyLoss applies log_softmax itself"
    )


def test_forward_is_not_a_linear_function(step3, record_property):
    """Catches: no activation (e.g. nn.ReLU) between the layers, so the network is linear.

    Conv2d, Linear, Flatten, Dropout and BatchNorm in eval mode are all affine, and so is any
    stack of them: f(a) + f(b) == f(a + b) + f(0). A network for which that holds can only
    draw straight boundaries between digits, however many layers it has. Max-pooling takes a
    maximum, which is not affine, so a network whose only nonlinearity is pooling passes: it
    can still learn, though a ReLU after each layer is the usual choice.
    """
    model = step3.DigitClassifier()
    a, b = images(4, seed=1), images(4, seed=2)
    outputs = [logits_of(model, batch) for batch in (a, b, a + b, torch.zeros_like(a))]
    f_a, f_b, f_sum, f_zero = outputs
    gap = (f_a + f_b - f_sum - f_zero).abs().max()
    size = max(output.abs().max() for output in outputs)
    # An affine network leaves only rounding error (about 1e-6 of the size); ReLU leaves ~0.1.
    record_margin(record_property, "nonlinearity", (gap / size).item(), 1e-3)
    assert gap > 1e-3 * size, (
        "DigitClassifier is a linear function of its input: add an activation such as nn.ReLU() "
        "after each convolution and hidden linear layer (without one, stacked layers collapse "
        "into a single linear layer)"
    )


def test_gradients_reach_every_parameter(step3, device):
    """Catches: a layer built but never used in forward, or .detach()/.data cutting the graph."""
    model = step3.DigitClassifier().to(device)
    model.train()
    logits = forward(model, images(8).to(device))
    assert logits.shape == (8, 10), (
        f"DigitClassifier.forward gave shape {tuple(logits.shape)} for 8 images: fix the output "
        "shape first (see the tests of forward above)"
    )
    F.cross_entropy(logits, torch.arange(8, device=device)).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, (
            f"DigitClassifier: {name} got no gradient. Is that layer used in forward? Does forward "
            "avoid .detach(), .data, .numpy() and torch.no_grad()?"
        )
        assert parameter.grad.abs().sum() > 0, (
            f"DigitClassifier: {name}'s gradient is all zeros: check that its layer's output "
            "reaches the logits (and is not multiplied by zero or cut off)"
        )


# ---------------------------------------------------------------- the grader's own checks

# Step 3's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(3)
