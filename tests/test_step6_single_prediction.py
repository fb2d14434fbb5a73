"""Step 6: predicting the digit of a single image, and checking it against its label.

The models here are test-local: PixelReader predicts digit k for an image whose brightest pixel
in the first row is column k, so each test knows the right answer without a trained network.
"""

import re

import pytest
import torch
from grader_checks import graders_check_test_for
from hypothesis import example, given
from hypothesis import strategies as st

from kata.testing import (
    LinearNet,
    PixelReader,
    TensorDigits,
    UnmovedTensor,
    image_predicted_as,
    observe,
    unmoved,
)

ACCEPTED_SHAPES = [(28, 28), (1, 28, 28), (1, 1, 28, 28)]
REJECTED_SHAPES = [(2, 1, 28, 28), (3, 28, 28), (1, 1, 1, 28, 28), (784,), (28, 27)]

# check_single's dataset: what PixelReader predicts for each image, and each image's label.
PREDICTED = [3, 5, 0, 9]
LABELS = [3, 2, 0, 1]


class StrictPixelReader(PixelReader):
    """A PixelReader that, like a real convolutional network, takes only batches (N, 1, 28, 28)."""

    def forward(self, x):
        shape = tuple(x.shape)
        # What the board names: an image that is no batch, or one that was never moved.
        observe(model_input_shape=shape, model_input_unmoved=isinstance(x, UnmovedTensor))
        assert len(shape) == 4 and shape[1:] == (1, 28, 28), (
            f"the model got a tensor of shape {shape}, but a network takes a batch "
            "(N, 1, 28, 28) -- reshape the image to (1, 1, 28, 28) before calling the model"
        )
        assert x.device == self.scale.device, (
            f"the model got an image on {x.device}, but the model is on "
            f"{self.scale.device} -- move the image with .to(device)"
        )
        return super().forward(x)


def expected_prediction(model, image, device) -> tuple[int, float]:
    """The digit and probability predict_image should return, worked out here from the logits."""
    with torch.no_grad():
        probabilities = torch.softmax(model(image.reshape(1, 1, 28, 28).to(device)), dim=1)[0]
    digit = int(probabilities.argmax())
    return digit, float(probabilities[digit])


# ---------------------------------------------------------------- predict_image


def test_predict_image_returns_python_int_and_float(step6, device):
    """Catches: returning tensors instead of plain Python numbers (forgetting .item())."""
    digit, probability = step6.predict_image(
        StrictPixelReader().to(device), image_predicted_as(4), device
    )
    assert type(digit) is int, (
        f"predict_image: the digit is a {type(digit).__name__}, not an int -- use .item() or int()"
    )
    assert isinstance(probability, float), (
        f"predict_image: the probability is a {type(probability).__name__}, not a float "
        "-- use .item() or float()"
    )


@pytest.mark.parametrize("shape", ACCEPTED_SHAPES, ids=str)
def test_predict_image_accepts_every_single_image_shape(step6, device, shape):
    """Catches: handling only one of the shapes (28, 28), (1, 28, 28) and (1, 1, 28, 28), or
    none: the image handed to the model as it came, without the batch dimension."""
    model = StrictPixelReader().to(device)
    image = image_predicted_as(7)
    answer = step6.predict_image(model, image.reshape(shape), device)
    batch_answer = step6.predict_image(model, image.reshape(1, 1, 28, 28), device)
    assert answer == batch_answer, (
        f"predict_image: the image as shape {shape} gave {answer}, but as (1, 1, 28, 28) it gave "
        f"{batch_answer} -- reshape every accepted shape to (1, 1, 28, 28) before the model"
    )


@pytest.mark.parametrize("shape", REJECTED_SHAPES, ids=str)
def test_predict_image_rejects_other_shapes_naming_them(step6, device, shape):
    """Catches: quietly reshaping a wrong shape (784 pixels, a batch of 2), or not naming it."""
    try:
        step6.predict_image(StrictPixelReader().to(device), torch.rand(shape), device)
    except ValueError as error:
        message = str(error)
    else:
        pytest.fail(
            f"predict_image accepted an image of shape {shape}; raise ValueError for any shape "
            "other than (28, 28), (1, 28, 28) and (1, 1, 28, 28)"
        )
    # Accept any spelling that lists the sizes in order: (2, 1, 28, 28), [2, 1, 28, 28], 2x1x28x28.
    sizes_in_order = r"\D+".join(rf"\b{size}\b" for size in shape)
    assert re.search(sizes_in_order, message), (
        f"predict_image: the ValueError says {message!r}; it should name the shape it got, "
        f"{shape}, so that the caller sees what went wrong"
    )


@given(digit=st.integers(0, 9), seed=st.integers(0, 10_000))
@example(digit=7, seed=0)
def test_predict_image_returns_the_digit_with_the_highest_score(step6, device, digit, seed):
    """Catches: argmax over dim 0 of the (1, 10) logits, which is always 0, instead of dim 1."""
    model = StrictPixelReader().to(device)
    predicted, _ = step6.predict_image(model, image_predicted_as(digit, seed), device)
    assert predicted == digit, (
        f"predict_image: predicted {predicted} but the model scores digit {digit} highest "
        "-- take the argmax over dim 1, the ten digit scores, not dim 0, the batch"
    )


def test_predict_image_probability_is_the_softmax_of_the_predicted_digit(step6, device):
    """Catches: returning the raw logit, or another number in [0, 1] (a sigmoid, a softmax over
    dim 0, another digit's probability) instead of the softmax of the predicted digit."""
    model = LinearNet().to(device)
    image = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(6))
    _, probability = step6.predict_image(model, image, device)
    _, expected = expected_prediction(model, image, device)
    with torch.no_grad():
        largest_logit = float(model(image.reshape(1, 1, 28, 28).to(device)).max())
    observe(probability=float(probability), largest_logit=largest_logit)
    assert 0.0 <= probability <= 1.0, (
        f"predict_image: the probability {probability} is outside [0, 1] -- is it a raw logit? "
        "Turn the logits into probabilities with torch.softmax(logits, dim=1)"
    )
    assert probability == pytest.approx(expected, abs=1e-6), (
        f"predict_image: returned probability {probability}, but the softmax gives the predicted "
        f"digit {expected} -- return softmax(logits, dim=1) at the predicted digit"
    )


def test_predict_image_runs_in_eval_mode_without_gradients(step6, device):
    """Catches: forgetting model.eval() (dropout, batch norm) or torch.no_grad() (wasted graph)."""
    model = StrictPixelReader().to(device)  # a new module starts in training mode
    step6.predict_image(model, image_predicted_as(2), device)
    assert model.calls, "predict_image never called the model"
    assert not any(training for training, _ in model.calls), (
        "predict_image: the model ran in training mode -- call model.eval() before predicting"
    )
    assert not any(grad_enabled for _, grad_enabled in model.calls), (
        "predict_image: gradients were on during inference -- "
        "run the model inside `with torch.no_grad():`"
    )


@pytest.mark.parametrize("shape", ACCEPTED_SHAPES, ids=str)
def test_predict_image_moves_the_image_to_the_device(step6, device, shape):
    """Catches: forgetting image.to(device), which only a GPU run would otherwise show.

    The image is marked as not moved yet; .to(device) gives back an unmarked tensor, so the
    model can tell whether the image went through it, on the CPU too.
    """
    model = StrictPixelReader().to(device)
    step6.predict_image(model, unmoved(image_predicted_as(3).reshape(shape)), device)
    assert model.calls, "predict_image never called the model"
    assert model.unmoved_inputs == 0, (
        "predict_image: the image reached the model without .to(device) -- on a GPU this "
        "fails with 'Expected all tensors to be on the same device'; write "
        "model(image.reshape(1, 1, 28, 28).to(device))"
    )


@given(seed=st.integers(0, 10_000), shape=st.sampled_from(ACCEPTED_SHAPES))
def test_predict_image_matches_the_models_own_softmax(step6, device, seed, shape):
    """Any model and image: the answer is the argmax of the logits and its softmax probability."""
    torch.manual_seed(seed)
    model = LinearNet().to(device)
    image = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    digit, probability = step6.predict_image(model, image, device)
    expected_digit, expected_probability = expected_prediction(model, image, device)
    assert digit == expected_digit, (
        f"predict_image: predicted {digit}, but the logits are highest at {expected_digit}"
    )
    assert probability == pytest.approx(expected_probability, abs=1e-6), (
        f"predict_image: probability {probability}, but softmax gives {expected_probability}"
    )


# ---------------------------------------------------------------- check_single


class TensorLabelDigits(TensorDigits):
    """TensorDigits whose labels come out as 0-d tensors, as some datasets give them."""

    def __getitem__(self, index):
        return self.images[index], self.labels[index]


def digits_dataset(dataset_class=TensorDigits) -> TensorDigits:
    """Images that PixelReader predicts as PREDICTED, labelled LABELS: some agree, some do not."""
    images = torch.stack([image_predicted_as(digit, seed) for seed, digit in enumerate(PREDICTED)])
    return dataset_class(images, torch.tensor(LABELS))


@pytest.mark.parametrize("index", range(len(LABELS)))
def test_check_single_compares_prediction_with_label(step6, device, index):
    """Catches: ignoring `index`, swapping predicted and true label, or a wrong agree flag."""
    predicted, true, agree = step6.check_single(
        StrictPixelReader().to(device), digits_dataset(), index, device
    )
    right_pair = bool(predicted == PREDICTED[index]) and bool(true == LABELS[index])
    observe(swapped=PREDICTED[index] != LABELS[index] and bool(predicted == LABELS[index])
            and bool(true == PREDICTED[index]),
            agree_inverted=right_pair and bool(agree == (PREDICTED[index] != LABELS[index])))
    assert predicted == PREDICTED[index], (
        f"check_single: for dataset[{index}] the predicted label should be {PREDICTED[index]}, "
        f"got {predicted} -- predict the image of dataset[index]"
    )
    assert true == LABELS[index], (
        f"check_single: for dataset[{index}] the true label should be {LABELS[index]}, got {true} "
        "-- return the label that dataset[index] holds, second"
    )
    assert agree == (PREDICTED[index] == LABELS[index]), (
        f"check_single: predicted {predicted} and true {true}, but agree is {agree} "
        "-- agree is whether the two are equal"
    )


@pytest.mark.parametrize(
    "dataset_class", [TensorDigits, TensorLabelDigits], ids=["int labels", "tensor labels"]
)
def test_check_single_returns_int_int_bool(step6, device, dataset_class):
    """Catches: returning tensors instead of int, int, bool: the dataset's 0-d tensor label as
    it came, or whether they agree as a tensor (the prediction compared with that label)."""
    result = step6.check_single(
        StrictPixelReader().to(device), digits_dataset(dataset_class), 1, device
    )
    if isinstance(result, (tuple, list)):
        observe(returned_types=tuple(type(value).__name__ for value in result))
    assert [type(value) for value in result] == [int, int, bool], (
        f"check_single: returned types {[type(value).__name__ for value in result]}; expected "
        "int, int, bool -- convert tensors with .item(), int() or bool()"
    )


# ---------------------------------------------------------------- the grader's own checks

# Step 6's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(6)
