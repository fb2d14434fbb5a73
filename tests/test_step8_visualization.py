"""Step 8: prediction with image visualisation.

The tests use PixelReader, a test-local model whose prediction for each image they choose, and
a small TensorDigits dataset whose labels they choose separately. So they know exactly which
title must say what, and which must be green or red, whatever your network from step 3 does.
"""

import struct
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from grader_checks import graders_check_test_for
from matplotlib.figure import Figure

from kata.testing import (
    PixelReader,
    TensorDigits,
    colour_name,
    image_predicted_as,
    observe,
    panels,
    shows_ticks,
    title_number,
)

# What PixelReader predicts for each sample, and each sample's true label: some agree, some not.
PREDICTED = [3, 0, 5, 7, 1, 9, 2, 8, 4, 6, 2, 5, 0, 8]
LABELS = [3, 2, 5, 1, 1, 0, 2, 4, 4, 9, 7, 5, 6, 8]
DEFAULT_COUNT = 12

# Twenty epochs of a loss that falls with small bumps, so that sorting it changes it.
BUMPY_LOSSES = [3 / (1 + epoch) + epoch % 3 / 10 for epoch in range(20)]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def the_digits() -> TensorDigits:
    images = torch.stack([image_predicted_as(digit, seed=i) for i, digit in enumerate(PREDICTED)])
    return TensorDigits(images, torch.tensor(LABELS))


@pytest.fixture
def digits() -> TensorDigits:
    return the_digits()


@pytest.fixture
def reader(device) -> PixelReader:
    return PixelReader().to(device)


@pytest.fixture(scope="module")
def default_figure(step8, device):
    """plot_predictions with its defaults (12 images in 6 columns), drawn once for the tests
    that only read it: each axes costs tens of milliseconds to build."""
    return step8.plot_predictions(PixelReader().to(device), the_digits(), device)


def shown_image(ax) -> np.ndarray:
    """The one image an axes shows, as a numpy array with size-1 dimensions dropped."""
    assert len(ax.images) == 1, (
        f"plot_predictions: an axes holds {len(ax.images)} images instead of one -- "
        "call imshow once on each axes"
    )
    return np.asarray(ax.images[0].get_array()).squeeze()


def shown_digit(ax) -> int:
    """The prediction PixelReader makes for the image an axes shows."""
    return int(shown_image(ax)[0].argmax())


def png_size(path: Path) -> tuple[int, int]:
    """Width and height in pixels, from the PNG header."""
    return struct.unpack(">II", path.read_bytes()[16:24])


# ---------------------------------------------------------------- plot_predictions


def test_plot_predictions_returns_figure(default_figure):
    """plot_predictions returns a matplotlib Figure.

    Catches (as every test that draws the grid): imshow given a digit as the dataset holds it,
    (1, 28, 28), which matplotlib refuses ("Invalid shape (1, 28, 28) for image data")."""
    assert isinstance(default_figure, Figure), (
        f"plot_predictions returned {type(default_figure).__name__} -- return the Figure, e.g. "
        "from plt.subplots(...)"
    )


@pytest.mark.parametrize(("count", "cols"), [(DEFAULT_COUNT, 6), (5, 6), (7, 3)])
def test_plot_predictions_draws_one_axes_per_image(step8, reader, digits, device, count, cols,
                                                    request):
    """Catches: showing a fixed number of images, or leaving empty grid cells in the figure."""
    if count == DEFAULT_COUNT:
        fig = request.getfixturevalue("default_figure")  # the defaults: 12 images, 6 columns
    else:
        fig = step8.plot_predictions(reader, digits, device, count=count, cols=cols)
    observe(axes=len(fig.axes), count=count, cols=cols)
    assert len(fig.axes) == count, (
        f"plot_predictions(count={count}, cols={cols}): the figure has {len(fig.axes)} axes, "
        f"expected {count} -- one per image; remove the unused cells of the last row "
        "(ax.remove()) or create only as many axes as images"
    )


@pytest.mark.parametrize(("count", "cols"), [(DEFAULT_COUNT, 6), (7, 3), (4, 6)])
def test_plot_predictions_lays_images_out_in_cols_columns(step8, reader, digits, device, count,
                                                          cols):
    """Catches: ignoring `cols` when building the grid."""
    fig = step8.plot_predictions(reader, digits, device, count=count, cols=cols)
    columns = {round(ax.get_position().x0, 2) for ax in fig.axes}
    expected = min(count, cols)
    assert len(columns) == expected, (
        f"plot_predictions(count={count}, cols={cols}): the images sit in {len(columns)} "
        f"columns, expected {expected} -- build the grid with `cols` columns and as many rows "
        "as needed (math.ceil(count / cols))"
    )


@pytest.mark.parametrize("count", [DEFAULT_COUNT, 5])
def test_plot_predictions_shows_first_count_samples_in_order(step8, reader, digits, device,
                                                             count):
    """Catches: showing other samples than the first `count`, or the same image in every cell."""
    fig = step8.plot_predictions(reader, digits, device, count=count)
    shown = [shown_digit(ax) for ax in panels(fig)]
    assert shown == PREDICTED[:count], (
        "plot_predictions: the images shown are not dataset[0], dataset[1], ... in that order "
        "-- with indices=None show the first `count` samples, each in its own axes"
    )


def test_plot_predictions_shows_chosen_indices_in_order(step8, reader, digits, device):
    """Catches: ignoring `indices`, or sorting them."""
    indices = [3, 0, 5]
    fig = step8.plot_predictions(reader, digits, device, indices=indices)
    shown = [shown_digit(ax) for ax in panels(fig)]
    assert shown == [PREDICTED[i] for i in indices], (
        "plot_predictions(indices=[3, 0, 5]): the figure should show exactly dataset[3], "
        "dataset[0] and dataset[5], in that order -- when indices is given, show those samples"
    )


def test_plot_predictions_shows_28x28_grayscale_images(step8, reader, digits, device):
    """Catches: drawing the image with the default colour map (viridis) instead of grayscale."""
    fig = step8.plot_predictions(reader, digits, device, count=3)
    for ax in fig.axes:
        image = shown_image(ax)
        assert image.shape == (28, 28), (
            f"plot_predictions: an image of shape {image.shape} is shown -- pass imshow the "
            "28x28 digit, e.g. image.squeeze() to drop the channel dimension"
        )
        # Any grey colour map will do (gray, Greys, binary, ...): all its colours have R == G == B.
        colour_map = ax.images[0].get_cmap()
        red, green, blue, _ = colour_map(np.linspace(0, 1, 16)).T
        assert np.allclose(red, green) and np.allclose(green, blue), (
            f"plot_predictions: the digits are drawn with the {colour_map.name!r} colour map -- "
            "pass cmap='gray' to imshow"
        )


def test_plot_predictions_turns_ticks_off(step8, reader, digits, device):
    """Catches: leaving the axis ticks and their numbers around every digit."""
    fig = step8.plot_predictions(reader, digits, device, count=3)
    for ax in fig.axes:
        assert not shows_ticks(ax), (
            "plot_predictions: the axes still show ticks -- turn them off with "
            "ax.set_xticks([]) and ax.set_yticks([]), or ax.axis('off')"
        )


def test_plot_predictions_titles_show_the_prediction(default_figure):
    """Catches: titles with only the true label, or a prediction made for the wrong image."""
    predicted = [title_number(ax, "pred") for ax in panels(default_figure)]
    assert predicted == PREDICTED[:DEFAULT_COUNT], (
        f"plot_predictions: the titles say pred {predicted}, but the model predicts "
        f"{PREDICTED[:DEFAULT_COUNT]} -- predict every image and put each image's own "
        "prediction after `pred:` (not the label, not another image's prediction)"
    )


def test_plot_predictions_titles_show_the_true_label(default_figure):
    """Catches: the prediction and the true label swapped in the title, or a title without
    the true label."""
    true = [title_number(ax, "true") for ax in panels(default_figure)]
    observe(shows_predictions=true == PREDICTED[:DEFAULT_COUNT] != LABELS[:DEFAULT_COUNT])
    assert true == LABELS[:DEFAULT_COUNT], (
        f"plot_predictions: the titles say true {true}, but the labels are "
        f"{LABELS[:DEFAULT_COUNT]} -- put the dataset's label after `true:` and the "
        "prediction after `pred:`"
    )


def test_plot_predictions_colours_titles_green_if_right_red_if_wrong(default_figure):
    """Catches: the title colours swapped, or every title in the same colour."""
    colours = [colour_name(ax.title.get_color()) for ax in panels(default_figure)]
    expected = ["green" if predicted == label else "red"
                for predicted, label in zip(PREDICTED, LABELS)][:DEFAULT_COUNT]
    swapped = ["red" if colour == "green" else "green" for colour in expected]
    observe(colours_swapped=colours == swapped, one_colour=colours[0] if len(set(colours)) == 1
            else None)
    assert colours == expected, (
        f"plot_predictions: the title colours are {colours}, expected {expected} -- "
        "pass color='green' to set_title when pred == true, and color='red' when not"
    )


def test_plot_predictions_runs_model_in_eval_mode_without_gradients(step8, reader, digits,
                                                                    device):
    """Catches: calling the model without model.eval() and torch.no_grad()."""
    step8.plot_predictions(reader, digits, device, count=3)
    assert reader.calls, "plot_predictions never called the model -- predict the images first"
    assert not any(training for training, _ in reader.calls), (
        "plot_predictions: the model ran in training mode -- call model.eval() before "
        "predicting (predict_batch from step 7 does this)"
    )
    assert not any(grad for _, grad in reader.calls), (
        "plot_predictions: the model ran with gradients on -- predict inside "
        "`with torch.no_grad():` (predict_batch from step 7 does this)"
    )


# ---------------------------------------------------------------- plot_losses


def loss_axes(step8, losses):
    """The one axes of plot_losses(losses)."""
    fig = step8.plot_losses(losses)
    assert isinstance(fig, Figure), (
        f"plot_losses returned {type(fig).__name__} -- return the Figure, e.g. from "
        "plt.subplots()"
    )
    assert len(fig.axes) == 1, (
        f"plot_losses: the figure has {len(fig.axes)} axes -- draw the losses on one axes of "
        "the figure you return"
    )
    return fig.axes[0]


def test_plot_losses_returns_figure_with_one_axes(step8):
    """plot_losses returns a Figure holding a single axes."""
    loss_axes(step8, [2.3, 0.9, 1.1, 0.4])


@pytest.mark.parametrize("losses", [[0.7], [2.3, 0.9, 1.1, 0.4], BUMPY_LOSSES],
                         ids=["one-epoch", "four-epochs", "twenty-epochs"])
def test_plot_losses_draws_the_losses_in_order(step8, losses):
    """Catches: plotting something other than the losses, in their order, against the epoch."""
    ax = loss_axes(step8, losses)
    lines = [line for line in ax.get_lines()
             if np.allclose(np.asarray(line.get_ydata(), dtype=float), losses)]
    assert lines, (
        f"plot_losses: no line has the {len(losses)} losses given, in their order, as its y "
        "values -- draw them with ax.plot(epochs, losses)"
    )
    epochs = np.asarray(lines[0].get_xdata(), dtype=float)
    assert len(epochs) == len(losses) and np.all(np.diff(epochs) > 0), (
        f"plot_losses: the x values {epochs.tolist()} are not one increasing epoch per loss -- "
        "plot against range(1, len(losses) + 1)"
    )


def test_plot_losses_labels_both_axes(step8):
    """Catches: a loss plot without axis labels, or with one of the two."""
    ax = loss_axes(step8, [2.3, 0.9, 1.1, 0.4])
    unlabelled = [axis for axis, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel()))
                  if not label.strip()]
    observe(unlabelled=" and ".join(unlabelled))
    assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), (
        f"plot_losses: the axis labels are x={ax.get_xlabel()!r}, y={ax.get_ylabel()!r} -- "
        "name them, e.g. ax.set_xlabel('epoch') and ax.set_ylabel('loss')"
    )


# ---------------------------------------------------------------- save_figure


def small_figure(width: float, height: float) -> Figure:
    """A figure of the given size in inches, with one line on it."""
    fig, ax = plt.subplots(figsize=(width, height))
    ax.plot([0, 1], [1, 0])
    return fig


@pytest.mark.parametrize("as_type", [Path, str], ids=["Path", "str"])
def test_save_figure_writes_png_and_creates_folders(step8, tmp_path, as_type):
    """Catches: not creating the missing parent folders, or not returning the path."""
    target = tmp_path / "a" / "b" / "fig.png"
    try:
        returned = step8.save_figure(small_figure(3, 2), as_type(target))
    except FileNotFoundError as error:
        observe(missing_folder=True)
        pytest.fail(f"save_figure: {error} -- create the folders first with "
                    "path.parent.mkdir(parents=True, exist_ok=True)")
    assert isinstance(returned, Path) and returned == target, (
        f"save_figure returned {returned!r} -- return the path as a pathlib.Path (Path(path))"
    )
    content = target.read_bytes() if target.exists() else b""
    assert content.startswith(PNG_SIGNATURE) and len(content) > len(PNG_SIGNATURE), (
        f"save_figure: {target} is not a PNG image -- write it with fig.savefig(path)"
    )


def test_save_figure_saves_the_figure_given(step8, tmp_path):
    """Catches: plt.savefig, which saves the newest figure instead of the one passed in."""
    wide = small_figure(4, 1)
    small_figure(1, 4)  # a tall figure, made last, so it is plt's current one
    target = tmp_path / "wide.png"
    step8.save_figure(wide, target)
    width, height = png_size(target)
    assert width > height, (
        "save_figure saved a tall image for a wide figure -- it saved another figure; "
        "call fig.savefig(path) on the figure you were given, not plt.savefig(path)"
    )


# ---------------------------------------------------------------- the grader's own checks

# Step 8's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(8)
