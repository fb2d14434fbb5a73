"""Step 5: the training flow -- one update, one epoch, and several epochs.

Every model, dataset, loss and optimizer here is built by the test (LinearNet, PixelReader,
learnable_digits, plain SGD and cross-entropy), never by steps 2-4, so only step 5 is on trial.
SGD with lr=0 leaves the model fixed, which lets a test work out the expected loss by itself.
"""

import copy
import functools
import re

import pytest
import torch
import torch.nn.functional as F
from grader_checks import graders_check_test_for
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import DataLoader, Subset, default_collate

from kata.testing import (
    LinearNet,
    PixelReader,
    TensorDigits,
    UnmovedTensor,
    as_number,
    image_predicted_as,
    learnable_digits,
    observe,
    record_margin,
    unmoved,
)

# Per-sample weighting: 10 samples in batches of 4, 4 and 2. PixelReader gets the first 8 right
# with a tiny loss and the last 2 (the short batch) wrong with a loss near 9. The mean per
# sample is about 1.8; a plain mean of the three batch losses would be about 3.
WEIGHTING_PREDICTED = list(range(10))
WEIGHTING_LABELS = [0, 1, 2, 3, 4, 5, 6, 7, 0, 0]
WEIGHTING_BATCH_SIZE = 4

# A tqdm bar always shows the elapsed time, e.g. "[00:00<00:00, 512.3it/s]".
PROGRESS_BAR = re.compile(r"\d+:\d\d")


def sgd(model: nn.Module, lr: float) -> torch.optim.SGD:
    """Plain SGD (no momentum), so that one update is exactly -lr * gradient."""
    return torch.optim.SGD(model.parameters(), lr=lr)


def digits_loader(count: int, batch_size: int, seed: int = 0) -> DataLoader:
    """A loader over `count` learnable digits, in a fixed order."""
    return DataLoader(learnable_digits(count, seed=seed), batch_size=batch_size)


@functools.cache
def sixty_four_digits() -> TensorDigits:
    """Learnable digits made once, so that hypothesis can take slices of them quickly."""
    return learnable_digits(64)


def digits_batch(count: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of `count` learnable digits, already on `device` as train_step expects."""
    images, labels = next(iter(digits_loader(count, batch_size=count)))
    return images.to(device), labels.to(device)


def parameters_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter, by name."""
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def gradients_of(model, images, labels) -> dict[str, torch.Tensor]:
    """Each parameter's gradient of the batch's mean cross-entropy; leaves .grad untouched."""
    names, parameters = zip(*model.named_parameters())
    loss = F.cross_entropy(model(images), labels)
    return dict(zip(names, torch.autograd.grad(loss, parameters)))


def loss_means(model, loader, device) -> tuple[float, float]:
    """The fixed model's mean loss per sample over `loader`, and the plain mean of batch losses."""
    sample_losses, batch_losses = [], []
    with torch.no_grad():
        for images, labels in loader:
            losses = F.cross_entropy(model(images.to(device)), labels.to(device), reduction="none")
            sample_losses.append(losses.double())
            batch_losses.append(losses.double().mean())
    return torch.cat(sample_losses).mean().item(), torch.stack(batch_losses).mean().item()


def fit_for(step5, device, count: int = 20, **options) -> list[float]:
    """fit's answer for a LinearNet on `count` learnable digits, with `options` passed on."""
    model = LinearNet().to(device)
    return step5.fit(model, digits_loader(count, batch_size=10), nn.CrossEntropyLoss(),
                     sgd(model, lr=0.02), device, **options)


# ---------------------------------------------------------------- train_step


def test_train_step_returns_python_float(step5, device):
    """Catches: returning `loss`, a tensor that keeps the whole graph alive, not loss.item(),
    or loss.item without its brackets, the method (train_epoch then crashes multiplying it)."""
    model = LinearNet().to(device)
    images, labels = digits_batch(8, device)
    loss = step5.train_step(model, images, labels, nn.CrossEntropyLoss(), sgd(model, lr=0.1))
    observe(returned=type(loss).__name__)
    assert type(loss) is float, (
        f"train_step: returned a {type(loss).__name__}; return the batch loss as a Python float "
        "with loss.item()"
    )


def test_train_step_returns_the_loss_before_the_update(step5, device):
    """Catches: returning the loss of a second forward pass made after optimizer.step()."""
    model = LinearNet().to(device)
    images, labels = digits_batch(8, device)
    with torch.no_grad():
        expected = F.cross_entropy(model(images), labels).item()
    loss = step5.train_step(model, images, labels, nn.CrossEntropyLoss(), sgd(model, lr=0.5))
    assert loss == pytest.approx(expected, rel=1e-4), (
        f"train_step: returned {loss:.4f}, but the loss on this batch before the update was "
        f"{expected:.4f} -- return the loss you called backward() on"
    )


def test_train_step_clears_old_gradients(step5, device):
    """Catches: forgetting optimizer.zero_grad(), so gradients pile up across batches.

    With lr=0 the model stays fixed, so two calls on the same batch give the same gradient g.
    Clearing first leaves g in .grad (clearing last leaves nothing); never clearing leaves 2g.
    """
    model = LinearNet().to(device)
    images, labels = digits_batch(8, device)
    one_batch = gradients_of(model, images, labels)
    optimizer = sgd(model, lr=0.0)
    for _ in range(2):
        step5.train_step(model, images, labels, nn.CrossEntropyLoss(), optimizer)
    piled_up = [name for name, parameter in model.named_parameters()
                if parameter.grad is not None
                and torch.allclose(parameter.grad, 2 * one_batch[name], rtol=1e-4, atol=1e-7)]
    assert not piled_up, (
        f"train_step: after two calls on the same batch, the gradients of {piled_up} were twice "
        "one batch's -- they pile up in .grad; call optimizer.zero_grad() before loss.backward()"
    )


def test_train_step_has_the_batch_gradients_when_the_optimizer_steps(step5, device):
    """Catches: forgetting loss.backward(), so optimizer.step() has no gradients to follow.

    Calling backward() after step(), or clearing the gradients between them, does the same.
    """
    model = LinearNet().to(device)
    images, labels = digits_batch(8, device)
    expected = gradients_of(model, images, labels)
    optimizer = sgd(model, lr=0.1)
    backward_passes, gradients_at_step, backward_before_step = [], [], []

    def at_step(optimizer, args, kwargs):
        backward_before_step.append(bool(backward_passes))
        gradients_at_step.append({name: None if parameter.grad is None else parameter.grad.clone()
                                  for name, parameter in model.named_parameters()})

    optimizer.register_step_pre_hook(at_step)
    model.layers[1].weight.register_post_accumulate_grad_hook(backward_passes.append)

    step5.train_step(model, images, labels, nn.CrossEntropyLoss(), optimizer)
    observe(stepped=bool(gradients_at_step), backward_ran=bool(backward_passes),
            backward_before_step=any(backward_before_step[:1]))

    assert gradients_at_step, (
        "train_step: optimizer.step() was never called -- call it after loss.backward()"
    )
    gradients = gradients_at_step[0]
    missing = [name for name, gradient in gradients.items()
               if gradient is None or not gradient.any()]
    assert not missing, (
        f"train_step: when optimizer.step() ran, {missing} had no gradient -- call "
        "loss.backward() after computing the loss and before optimizer.step() (and clear the "
        "old gradients before backward(), not between backward() and step())"
    )
    wrong = [name for name, gradient in gradients.items()
             if not torch.allclose(gradient, expected[name], rtol=1e-4, atol=1e-6)]
    assert not wrong, (
        f"train_step: when optimizer.step() ran, the gradients of {wrong} were not those of "
        "this batch's loss -- compute loss_fn(model(images), labels) and call backward() on it"
    )


def test_train_step_updates_the_parameters(step5, device):
    """Catches: forgetting optimizer.step(), so the model never learns."""
    model = LinearNet().to(device)
    images, labels = digits_batch(8, device)
    before = parameters_of(model)
    step5.train_step(model, images, labels, nn.CrossEntropyLoss(), sgd(model, lr=0.1))
    unchanged = [name for name, parameter in model.named_parameters()
                 if torch.equal(parameter.detach(), before[name])]
    assert not unchanged, (
        f"train_step: {unchanged} did not change -- after loss.backward(), call "
        "optimizer.step() to apply the update"
    )


# ---------------------------------------------------------------- train_epoch


def test_train_epoch_returns_python_float(step5, device):
    """Catches: returning a tensor (or a list of batch losses) instead of one float."""
    model = LinearNet().to(device)
    loss = step5.train_epoch(model, digits_loader(12, batch_size=4), nn.CrossEntropyLoss(),
                             sgd(model, lr=0.1), device)
    assert type(loss) is float, (
        f"train_epoch: returned a {type(loss).__name__}; return the mean loss as a Python float"
    )


def test_train_epoch_puts_the_model_in_training_mode(step5, device):
    """Catches: forgetting model.train(), so dropout and batch norm stay in eval mode."""
    model = PixelReader().to(device).eval()  # as a model is after step 6 or 7 has used it
    step5.train_epoch(model, digits_loader(8, batch_size=4), nn.CrossEntropyLoss(),
                      sgd(model, lr=0.1), device)
    assert model.calls, "train_epoch never called the model"
    assert all(training for training, _ in model.calls), (
        "train_epoch: the model ran in eval mode -- call model.train() at the start of the epoch"
    )


def test_train_epoch_returns_the_mean_loss_per_sample(step5, device):
    """Catches: averaging the batch losses, so a short last batch counts as much as a full one,
    or dividing the samples' summed losses by the number of batches."""
    images = torch.stack([image_predicted_as(digit) for digit in WEIGHTING_PREDICTED])
    loader = DataLoader(TensorDigits(images, torch.tensor(WEIGHTING_LABELS)),
                        batch_size=WEIGHTING_BATCH_SIZE)
    model = PixelReader().to(device)
    per_sample, per_batch = loss_means(model, loader, device)
    loss = step5.train_epoch(model, loader, nn.CrossEntropyLoss(), sgd(model, lr=0.0), device)
    samples, batches = len(loader.dataset), len(loader)
    observe(returned=as_number(loss), mean_of_batch_losses=per_batch, samples=samples,
            batches=batches, summed_over_batches=per_sample * samples / batches)
    assert loss == pytest.approx(per_sample, rel=1e-4), (
        f"train_epoch: returned {loss:.4f}, but the mean loss per sample is {per_sample:.4f} "
        f"(the plain mean of the batch losses would be {per_batch:.4f}) -- add up "
        "batch_loss * len(labels) and divide by the number of samples"
    )


# Each example trains for an epoch: fewer examples, and no deadline on a busy machine.
@settings(max_examples=10, deadline=None)
@given(count=st.integers(1, 64), batch_size=st.integers(1, 20))
def test_train_epoch_mean_is_per_sample_for_any_batch_size(step5, device, count, batch_size):
    """For any dataset size and batch size, a fixed model's epoch loss is its mean per sample."""
    model = LinearNet().to(device)
    loader = DataLoader(Subset(sixty_four_digits(), range(count)), batch_size=batch_size)
    per_sample, per_batch = loss_means(model, loader, device)
    loss = step5.train_epoch(model, loader, nn.CrossEntropyLoss(), sgd(model, lr=0.0), device)
    assert type(loss) is float, f"train_epoch: returned a {type(loss).__name__}, not a float"
    assert loss == pytest.approx(per_sample, rel=1e-4), (
        f"train_epoch: {count} samples in batches of {batch_size} gave {loss:.5f}, but the mean "
        f"loss per sample is {per_sample:.5f} (a plain mean of batch losses: {per_batch:.5f}) "
        "-- weight each batch's loss by len(labels) and divide by the number of samples"
    )


def unmoved_collate(samples):
    """The default batching, with both images and labels marked as not yet moved."""
    return [unmoved(tensor) for tensor in default_collate(samples)]


class InputChecker(LinearNet):
    """LinearNet that counts the batches of images it got straight from the loader."""

    def __init__(self):
        super().__init__()
        self.unmoved_batches = 0

    def forward(self, x):
        self.unmoved_batches += isinstance(x, UnmovedTensor)
        return super().forward(x.to(self.layers[1].weight.device))  # so that the run goes on


def test_train_epoch_moves_each_batch_to_the_device(step5, device):
    """Catches: forgetting images.to(device) / labels.to(device), or not keeping what .to() returns.

    With `--device cuda` the batches also really change device.
    """
    unmoved_labels = []

    def checked_loss(logits, labels):
        unmoved_labels.append(isinstance(labels, UnmovedTensor))
        return F.cross_entropy(logits, labels.to(logits.device))

    model = InputChecker().to(device)
    loader = DataLoader(learnable_digits(10), batch_size=4, collate_fn=unmoved_collate)
    step5.train_epoch(model, loader, checked_loss, sgd(model, lr=0.1), device)
    how = ("write `images, labels = images.to(device), labels.to(device)`; .to() returns a new "
           "tensor, it does not move the old one in place")
    assert model.unmoved_batches == 0, (
        f"train_epoch: {model.unmoved_batches} of {len(loader)} batches of images reached the "
        f"model without .to(device) -- {how}"
    )
    assert not any(unmoved_labels), (
        f"train_epoch: {sum(unmoved_labels)} of {len(loader)} batches of labels reached the loss "
        f"without .to(device) -- {how}"
    )


# ---------------------------------------------------------------- fit


@pytest.mark.parametrize(("options", "epochs"), [({}, 1), ({"epochs": 3}, 3)],
                         ids=["default", "epochs=3"])
def test_fit_returns_one_float_per_epoch(step5, device, options, epochs):
    """Catches: an off-by-one epoch count, or returning only the last epoch's loss."""
    losses = fit_for(step5, device, **options)
    assert isinstance(losses, list), (
        f"fit: returned a {type(losses).__name__}; return a list with one loss per epoch"
    )
    observe(returned=len(losses), epochs=epochs)
    assert len(losses) == epochs, (
        f"fit(epochs={epochs}) returned {len(losses)} losses; expected one per epoch -- "
        "loop with `for epoch in range(epochs)` (epochs defaults to 1)"
    )
    assert all(type(loss) is float for loss in losses), (
        f"fit: returned {losses}; every entry should be a Python float from train_epoch"
    )


def test_fit_trains_every_epoch(step5, device):
    """Catches: training once and repeating that loss, so later epochs do not train."""
    model = LinearNet().to(device)
    twin = copy.deepcopy(model)
    loader = digits_loader(20, batch_size=10)
    losses = step5.fit(model, loader, nn.CrossEntropyLoss(), sgd(model, lr=0.02), device,
                       epochs=3)
    twin_optimizer = sgd(twin, lr=0.02)
    expected = [step5.train_epoch(twin, loader, nn.CrossEntropyLoss(), twin_optimizer, device)
                for _ in range(3)]
    assert losses == pytest.approx(expected, rel=1e-4), (
        f"fit(epochs=3) returned {losses}, but three calls of train_epoch give {expected} -- "
        "call train_epoch once per epoch and keep each result"
    )
    trained = parameters_of(twin)
    assert all(torch.allclose(parameter, trained[name], atol=1e-6)
               for name, parameter in model.named_parameters()), (
        "fit(epochs=3): the model did not end where three epochs of train_epoch take it -- "
        "train in every epoch"
    )


def test_fit_lowers_the_loss_on_easy_digits(step5, device, record_property):
    """Catches: epochs that do not train, e.g. a train_epoch that only measures the loss."""
    losses = fit_for(step5, device, count=40, epochs=3)
    record_margin(record_property, "loss_ratio", losses[-1] / losses[0], 0.5, at_least=False)
    # Over 20 seeds the reference ends at 0.12-0.13 of the first epoch's loss: a wide margin.
    assert losses[-1] < 0.5 * losses[0], (
        f"fit: three epochs on easy digits gave losses {[round(loss, 3) for loss in losses]}; "
        "they should fall clearly -- does train_epoch send every batch through train_step?"
    )


def test_fit_shows_a_progress_bar_when_asked(step5, device, capfd):
    """Catches: ignoring progress=True, so the learner sees no progress bar, whether it never
    shows or shows only when not asked (disable=progress)."""
    fit_for(step5, device, epochs=2, progress=False)
    quiet = capfd.readouterr()
    fit_for(step5, device, epochs=2, progress=True)
    out, err = capfd.readouterr()
    observe(shown_when_asked=bool(PROGRESS_BAR.search(out + err)),
            shown_when_not_asked=bool(PROGRESS_BAR.search(quiet.out + quiet.err)))
    assert PROGRESS_BAR.search(out + err), (
        "fit(progress=True) showed no progress bar -- wrap the loader (or the epochs) in "
        "tqdm(..., disable=not progress)"
    )


def test_fit_is_quiet_without_progress(step5, device, capfd):
    """Catches: showing the progress bar (or printing) when progress=False."""
    fit_for(step5, device, epochs=2, progress=False)
    out, err = capfd.readouterr()
    assert out + err == "", (
        f"fit(progress=False) wrote {(out + err)[:80]!r} -- show the bar only when asked, "
        "e.g. tqdm(..., disable=not progress)"
    )


# ---------------------------------------------------------------- the grader's own checks

# Step 5's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(5)
