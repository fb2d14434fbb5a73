"""Step 7: predicting many images at once, and measuring accuracy.

The models here are test-local: PixelReader predicts digit k for an image whose brightest pixel
in the first row is column k, so each test chooses the predictions it needs.
"""

import pytest
import torch
from grader_checks import graders_check_test_for
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from kata.testing import (
    LinearNet,
    PixelReader,
    TensorDigits,
    UnmovedTensor,
    as_number,
    image_predicted_as,
    observe,
    unmoved,
)

digit_lists = st.lists(st.integers(0, 9), min_size=1, max_size=64)

# evaluate's dataset: 10 samples in batches of 4, 4 and 2 that are 4/4, 3/4 and 0/2 right.
# Over every sample that is 7/10 = 0.7; the mean of the batch accuracies would be 0.583.
EVALUATE_PREDICTED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
EVALUATE_LABELS = [0, 1, 2, 3, 4, 5, 6, 0, 0, 0]
EVALUATE_BATCH_SIZE = 4


def images_predicted_as(digits, seed: int = 0) -> torch.Tensor:
    """A batch (N, 1, 28, 28) that PixelReader predicts as `digits`, one image each."""
    return torch.stack([image_predicted_as(digit, seed + i) for i, digit in enumerate(digits)])


def predict_digits(step7, device, digits) -> torch.Tensor:
    """predict_batch's answer for images that PixelReader predicts as `digits`."""
    return step7.predict_batch(PixelReader().to(device), images_predicted_as(digits), device)


def model_argmax(model, images, device) -> torch.Tensor:
    """The labels predict_batch should return, worked out here from the logits."""
    with torch.no_grad():
        return model(images.to(device)).argmax(dim=1).cpu()


def assert_ran_for_inference(model: PixelReader, function: str) -> None:
    """Every forward pass of `model` ran in eval mode with gradients off."""
    assert model.calls, f"{function} never called the model"
    assert not any(training for training, _ in model.calls), (
        f"{function}: the model ran in training mode -- call model.eval() before predicting"
    )
    assert not any(grad_enabled for _, grad_enabled in model.calls), (
        f"{function}: gradients were on during inference -- "
        "run the model inside `with torch.no_grad():`"
    )


# ---------------------------------------------------------------- predict_batch


def test_predict_batch_returns_int64_labels_of_shape_n(step7, device):
    """Catches: returning the logits or the probabilities (N, 10) instead of one label per image,
    or the labels as a Python list (.tolist()) instead of a tensor."""
    predictions = predict_digits(step7, device, [3] * 5)
    observe(returned=type(predictions).__name__)
    if isinstance(predictions, torch.Tensor):
        observe(shape=tuple(predictions.shape), dtype=str(predictions.dtype).removeprefix("torch."))
    assert isinstance(predictions, torch.Tensor), (
        f"predict_batch: returned a {type(predictions).__name__}; expected a tensor of labels"
    )
    assert predictions.shape == (5,), (
        f"predict_batch: 5 images gave shape {tuple(predictions.shape)}; expected (5,), one label "
        "per image -- take the argmax of the logits over dim 1"
    )
    assert predictions.dtype == torch.int64, (
        f"predict_batch: the labels have dtype {predictions.dtype}; expected torch.int64 "
        "-- return the argmax (the digit), not the scores"
    )


class ScoresOnTheDevice(PixelReader):
    """A PixelReader whose scores are marked as still on the model's device until .cpu()."""

    def forward(self, x):
        return unmoved(super().forward(x))


def test_predict_batch_returns_labels_on_the_cpu(step7, device):
    """Catches: forgetting .cpu(), so the labels stay on the GPU.

    On a GPU the labels' device shows it. On the CPU every tensor is on the CPU already, so
    the model's scores are marked as not moved, and .cpu() (or .to("cpu")) clears the mark.
    """
    model = ScoresOnTheDevice().to(device)
    predictions = step7.predict_batch(model, images_predicted_as([1, 2]), device)
    assert predictions.device.type == "cpu" and not isinstance(predictions, UnmovedTensor), (
        f"predict_batch: the labels stay on the model's device ({device}); move them with "
        ".cpu() so that they can be compared with the loader's labels and printed"
    )


def test_predict_batch_moves_the_images_to_the_device(step7, device):
    """Catches: forgetting images.to(device), which only a GPU run would otherwise show."""
    model = PixelReader().to(device)
    step7.predict_batch(model, unmoved(images_predicted_as([4, 5, 6])), device)
    assert model.calls, "predict_batch never called the model"
    assert model.unmoved_inputs == 0, (
        "predict_batch: the images reached the model without .to(device) -- on a GPU this "
        "fails with 'Expected all tensors to be on the same device'; write "
        "model(images.to(device))"
    )


def test_predict_batch_runs_in_eval_mode_without_gradients(step7, device):
    """Catches: forgetting model.eval() (dropout, batch norm) or torch.no_grad() (wasted graph)."""
    model = PixelReader().to(device)  # a new module starts in training mode
    step7.predict_batch(model, images_predicted_as([1, 2]), device)
    assert_ran_for_inference(model, "predict_batch")


@given(digits=digit_lists)
def test_predict_batch_reads_the_digit_of_every_image(step7, device, digits):
    """Catches: argmax over dim 0 (the batch) instead of dim 1 (the digits): the wrong shape."""
    predictions = predict_digits(step7, device, digits)
    assert predictions.tolist() == digits, (
        f"predict_batch: {len(digits)} images predicted as {digits} gave {predictions.tolist()} "
        "-- take the argmax over dim 1, the ten digit scores of each image"
    )


def test_predict_batch_of_ten_images_reads_each_images_own_scores(step7, device):
    """Catches: argmax over dim 0, which for exactly ten images gives the right shape only."""
    digits = [7, 7, 1, 0, 4, 2, 9, 3, 3, 5]
    predictions = predict_digits(step7, device, digits)
    assert predictions.tolist() == digits, (
        f"predict_batch: ten images predicted as {digits} gave {predictions.tolist()} "
        "-- take the argmax over dim 1 (each image's ten scores), not dim 0 (the batch)"
    )


@given(count=st.integers(1, 64), seed=st.integers(0, 10_000))
def test_predict_batch_matches_the_models_own_argmax(step7, device, count, seed):
    """Any model and batch size: the labels are the argmax of the logits, as in predict_image."""
    torch.manual_seed(seed)
    model = LinearNet().to(device)
    images = torch.randn(count, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    predictions = step7.predict_batch(model, images, device)
    expected = model_argmax(model, images, device)
    assert torch.equal(predictions, expected), (
        f"predict_batch: gave {predictions.tolist()}, but the logits' argmax is {expected.tolist()}"
    )


# ---------------------------------------------------------------- accuracy


def test_accuracy_is_the_fraction_that_agree(step7):
    """Catches: returning the number of correct predictions, or a percentage, instead of
    the fraction."""
    result = step7.accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 3, 0]))
    observe(fraction=as_number(result))
    assert result == 0.75, (
        f"accuracy: 3 right out of 4 gave {result}; expected 0.75, the fraction that agree "
        "-- the number that agree divided by the number of predictions, not times 100"
    )


def test_accuracy_returns_a_python_float(step7):
    """Catches: returning a tensor instead of a plain Python float (forgetting .item())."""
    result = step7.accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 3, 0]))
    observe(returned=type(result).__name__)
    assert isinstance(result, float), (
        f"accuracy: returned a {type(result).__name__}; expected a float -- use .item()"
    )


@pytest.mark.parametrize(
    ("labels", "expected"),
    [([5, 6, 7], 1.0), ([0, 0, 0], 0.0)],
    ids=["all right", "none right"],
)
def test_accuracy_of_all_or_none_right(step7, labels, expected):
    """All predictions right gives exactly 1.0, none right gives exactly 0.0."""
    result = step7.accuracy(torch.tensor([5, 6, 7]), torch.tensor(labels))
    assert result == expected, f"accuracy: predictions [5, 6, 7], labels {labels}: got {result}"


@given(pairs=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=64))
def test_accuracy_matches_the_mean_of_matches(step7, pairs):
    """Any predictions and labels: the fraction that agree, in [0, 1]."""
    predictions, labels = (torch.tensor(column) for column in zip(*pairs))
    result = step7.accuracy(predictions, labels)
    expected = (predictions == labels).float().mean().item()
    assert 0.0 <= result <= 1.0, f"accuracy: {result} is not a fraction in [0, 1]"
    assert result == pytest.approx(expected), (
        f"accuracy: predictions {predictions.tolist()} and labels {labels.tolist()} "
        f"gave {result}; expected {expected}"
    )


# ---------------------------------------------------------------- evaluate


def evaluate_loader() -> DataLoader:
    """The 10 samples above, in batches of 4, 4 and 2 (the last batch is short)."""
    dataset = TensorDigits(images_predicted_as(EVALUATE_PREDICTED), torch.tensor(EVALUATE_LABELS))
    return DataLoader(dataset, batch_size=EVALUATE_BATCH_SIZE)


def evaluate_batches() -> list[tuple[int, int]]:
    """(right, samples) of each batch of evaluate_loader()."""
    pairs = list(zip(EVALUATE_PREDICTED, EVALUATE_LABELS))
    batches = [pairs[i:i + EVALUATE_BATCH_SIZE] for i in range(0, len(pairs), EVALUATE_BATCH_SIZE)]
    return [(sum(p == label for p, label in batch), len(batch)) for batch in batches]


def test_evaluate_counts_every_sample_not_every_batch(step7, device):
    """Catches: averaging per-batch accuracies, which overweights the short last batch, or
    dividing the correct predictions by the number of batches instead of samples."""
    result = step7.evaluate(PixelReader().to(device), evaluate_loader(), device)
    batches = evaluate_batches()
    right = sum(count for count, _ in batches)
    observe(returned=as_number(result), batches=len(batches), right=right,
            mean_of_batch_accuracies=sum(count / size for count, size in batches) / len(batches))
    assert result == pytest.approx(0.7), (
        f"evaluate: 7 of 10 samples are right, but it returned {result} -- add up the correct "
        "predictions and the samples over all batches, and divide once at the end "
        "(a mean of batch accuracies gives 0.583 here)"
    )


def test_evaluate_returns_a_python_float(step7, device):
    """Catches: returning a tensor instead of a plain Python float."""
    result = step7.evaluate(PixelReader().to(device), evaluate_loader(), device)
    assert isinstance(result, float), (
        f"evaluate: returned a {type(result).__name__}; expected a float -- use .item() or float()"
    )


def test_evaluate_runs_in_eval_mode_without_gradients(step7, device):
    """Catches: evaluating in training mode or with gradients on (e.g. without predict_batch)."""
    model = PixelReader().to(device)
    step7.evaluate(model, evaluate_loader(), device)
    assert_ran_for_inference(model, "evaluate")


# ---------------------------------------------------------------- the grader's own checks

# Step 7's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(7)
