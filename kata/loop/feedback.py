"""What the board adds under the headline of the step to work on, when that step fails: the
shape trace of the learner's network (steps 3 and 4, and the capstone) and a picture a teacher
would sketch (steps 2, 3, 5 and 8), written as PNG files under .kata/feedback/ for the terminal
and shown under the cell in the notebook.

Nothing here runs for a step that passes, and matplotlib is imported only to draw. The
learner's code runs here as it does in the tests; whatever it raises, the board goes on
without the picture.
"""

import contextlib
import math
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from kata.loop.shapes import Trace, trace
from kata.steps import CAPSTONE, load_step

FEEDBACK_DIR = Path(".kata") / "feedback"
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
BLACK, WHITE = (0 - MNIST_MEAN) / MNIST_STD, (1 - MNIST_MEAN) / MNIST_STD


def explain(key: str, package: str, root: Path) -> tuple[list[str], list[Path]]:
    """Board lines and pictures for step `key` of `package`, which fails; ([], []) when there
    is nothing to add or the learner's code does not get that far."""
    folder = Path(root) / FEEDBACK_DIR
    lines, pictures = [], []
    prefix = CAPSTONE if key == CAPSTONE else f"step{key}"
    for old in folder.glob(f"{prefix}-*.png"):  # a picture of an earlier run would mislead
        old.unlink(missing_ok=True)
    threads = torch.get_num_threads()
    for helper in HELPERS.get(key, ()):
        # Tiny tensors: one thread. Several wait on each other when another program keeps
        # a core busy, and 80 small updates then took seconds instead of a tenth of one.
        torch.set_num_threads(1)
        try:
            with time_limit(HELPER_LIMIT_S):
                more, picture = helper(package, folder)
        except Exception:  # the learner's code, half written: no picture this time
            continue
        finally:
            torch.set_num_threads(threads)
        lines += more
        if picture:
            pictures.append(picture)
            shown = picture.relative_to(root) if picture.is_relative_to(root) else picture
            lines.append(f"  picture: {shown}")
    return lines, pictures


# The learner's code runs again here, after the tests, where no pytest-timeout watches it: a
# forward that never returns must not keep the board from the learner.
HELPER_LIMIT_S = 10


class TooSlow(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise TooSlow in the block after `seconds`, where a timer signal can (POSIX, the main
    thread); elsewhere, no limit."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return

    def too_slow(number, frame):
        raise TooSlow(f"took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def figure(width: float, height: float, **margins):
    """A figure with fixed margins (fractions of its size): a layout engine would double the
    time to draw it, and a picture costs the learner's run what it takes to draw."""
    from matplotlib.figure import Figure  # no pyplot: no window, no global state

    fig = Figure(figsize=(width, height), dpi=100)
    fig.subplots_adjust(**margins)
    return fig


def save(fig, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fig.savefig(path)
    return path


# ---------------------------------------------------------------- step 2: the pixel values


def pixel_picture(package: str, folder: Path) -> tuple[list[str], Path | None]:
    """A histogram of what build_transform makes of every pixel value 0..255, beside what
    MNIST's normalisation makes of them, black and white marked."""
    from PIL import Image

    step2 = load_step(package, 2)
    ramp = (torch.arange(28 * 28) % 256).to(torch.uint8).reshape(28, 28)
    yours = step2.build_transform()(Image.fromarray(ramp.numpy()))
    if not isinstance(yours, torch.Tensor) or yours.numel() != 28 * 28:
        return [], None
    yours = yours.flatten().double()
    expected = (ramp.flatten().double() / 255 - MNIST_MEAN) / MNIST_STD
    low = min(yours.min().item(), expected.min().item())
    high = max(yours.max().item(), expected.max().item())
    fig = figure(9, 3.4, left=0.08, right=0.84, bottom=0.15, top=0.9)
    ax = fig.add_subplot()
    bins = torch.linspace(low, high, 60).numpy()
    ax.hist(expected.numpy(), bins=bins, alpha=0.5, color="tab:green", label="expected")
    ax.hist(yours.numpy(), bins=bins, alpha=0.5, color="tab:red", label="yours")
    for value, colour, text in ((BLACK, "tab:green", "black should be"),
                                (WHITE, "tab:green", "white should be"),
                                (yours[0].item(), "tab:red", "your black"),
                                (yours[255].item(), "tab:red", "your white")):
        ax.axvline(value, color=colour, linestyle="--" if "should" in text else "-")
        height = 0.92 if "should" in text else 0.72
        ax.annotate(f"{text}\n{value:.4f}", (value, ax.get_ylim()[1] * height), color=colour,
                    fontsize=8, ha="center", va="top", backgroundcolor="white")
    margin = 0.12 * (high - low)  # room for the labels of black and white at the ends
    ax.set_xlim(low - margin, high + margin)
    ax.set_xlabel("pixel value after build_transform()")
    ax.set_ylabel("pixels (a ramp of 0..255)")
    ax.set_title("step 2: your pixel values (red) beside MNIST-normalised ones (green)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return [], save(fig, folder, "step2-pixels.png")


# ---------------------------------------------------------------- steps 3, 4: the shape trace


def traced(model: nn.Module) -> Trace | None:
    result = trace(model)
    return None if result.ok else result


def trace_picture(result: Trace, folder: Path, name: str) -> Path:
    """The trace as a table: each layer, its output shape, what changed; the break in red."""
    rows = result.rows()
    fig = figure(9, 0.9 + 0.32 * (len(rows) + len(result.ways_out) + 1), left=0.02,
                 right=0.98, bottom=0.02, top=0.92)
    ax = fig.add_subplot()
    ax.axis("off")
    labels = ["layer", "output shape", "what changed"]
    # Each column as wide as its longest text, so that a long layer is not cut off.
    longest = [max(len(text) for text in column) + 2 for column in zip(labels, *rows)]
    table = ax.table(cellText=[list(row) for row in rows], colLabels=labels,
                     loc="upper center", cellLoc="left",
                     colWidths=[length / sum(longest) for length in longest])
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    for (row, _), cell in table.get_celld().items():
        cell.set_height(1 / (len(rows) + 4))
        if row == len(rows) and (result.broken or not result.ok):
            cell.set_facecolor("#fdd")
    notes = ([result.error] if result.error else
             [f"the output is {rows[-1][1]}; it should be (N, 10)"]) + \
        [f"way out: {way}" for way in result.ways_out]
    ax.set_title("shape trace: N images (N, 1, 28, 28) through your network", loc="left")
    fig.text(0.01, 0.01, "\n".join(wrap(note, 120) for note in notes), fontsize=8,
             color="#a00", va="bottom")
    return save(fig, folder, name)


def wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def network_trace(build: Callable[[str], nn.Module], name: str):
    def helper(package: str, folder: Path) -> tuple[list[str], Path | None]:
        result = traced(build(package))
        if result is None:
            return [], None
        return ([f"  {line}" for line in result.lines()],
                trace_picture(result, folder, name))
    return helper


def step3_model(package: str) -> nn.Module:
    return load_step(package, 3).DigitClassifier()


def step4_model(package: str) -> nn.Module:
    return load_step(package, 4).build_model(torch.device("cpu"))


# ---------------------------------------------------------------- step 5: the loss over steps


def loss_picture(package: str, folder: Path, steps: int = 40) -> tuple[list[str], Path | None]:
    """The loss on the tests' tiny task over a few dozen updates made by the learner's
    train_step, beside the same updates made the usual way (zero_grad, forward, loss,
    backward, step): gradients that pile up, or a step that never happens, show at a glance."""
    from kata.testing import LinearNet, learnable_digits

    step5 = load_step(package, 5)
    digits = learnable_digits(64)
    batches = [(digits.images[i:i + 16], digits.labels[i:i + 16]) for i in range(0, 64, 16)]

    def usual_step(model, images, labels, loss_fn, optimizer):
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()

    curves = {}
    for label, update in (("yours", step5.train_step), ("expected", usual_step)):
        torch.manual_seed(0)
        model = LinearNet()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        losses, gradients = [], []
        for index in range(steps):
            images, labels = batches[index % len(batches)]
            with torch.no_grad():  # measured here, whatever train_step returns
                losses.append(nn.functional.cross_entropy(model(images), labels).item())
            update(model, images, labels, nn.CrossEntropyLoss(), optimizer)
            gradients.append(sum(0.0 if p.grad is None else p.grad.norm().item()
                                 for p in model.parameters()))
        curves[label] = (losses, gradients)
    fig = figure(11, 3.6, left=0.06, right=0.98, bottom=0.15, top=0.8, wspace=0.2)
    loss_axes, gradient_axes = fig.subplots(1, 2)
    for label, colour, name in (("expected", "tab:green", "a correct train_step"),
                                ("yours", "tab:red", "your train_step")):
        losses, gradients = curves[label]
        loss_axes.plot([v if math.isfinite(v) else float("nan") for v in losses],
                       color=colour, label=name)
        gradient_axes.plot(gradients, color=colour, label=name)
    loss_axes.set(xlabel="update (batches of 16 easy digits)", ylabel="loss before the update",
                  title="the loss")
    gradient_axes.set(xlabel="update", ylabel="size of .grad after train_step",
                      title="the gradients (piling up? never computed?)")
    loss_axes.legend()
    fig.suptitle("step 5: your train_step beside a correct one, on the tests' tiny task")
    return [], save(fig, folder, "step5-loss.png")


# ---------------------------------------------------------------- step 8: the figure


# What the pixel reader predicts for each sample, and each sample's label (some agree).
PREDICTED, LABELS = [3, 0, 5, 7, 1, 9, 2, 8], [3, 2, 5, 1, 1, 0, 2, 4]
FIGURE_COLS = 4


def title_numbers(title: str) -> dict[str, int | None]:
    from kata.testing import TITLE_FIELDS

    found = {field: pattern.search(title) for field, (pattern, _) in TITLE_FIELDS.items()}
    return {field: int(match.group(1)) if match else None for field, match in found.items()}


def differences(fig) -> tuple[list[str], set[int]]:
    """What differs between the learner's figure and the expected one, in words, and the
    panels (in reading order) where it does."""
    from kata.testing import panel_facts, panels

    facts, notes, marked = panel_facts(fig), [], set()
    greys = {"gray", "Greys", "binary", "gist_gray", "Greys_r", "gray_r", "binary_r"}
    if len(facts) != len(PREDICTED):
        notes.append(f"{len(facts)} axes for {len(PREDICTED)} images")
    columns = len({fact["x0"] for fact in facts})
    if columns != FIGURE_COLS:
        notes.append(f"{columns} columns where cols={FIGURE_COLS} was asked")
    for index, (ax, fact, predicted, true) in enumerate(zip(panels(fig), facts, PREDICTED,
                                                             LABELS)):
        numbers, colour = title_numbers(fact["title"]), "green" if predicted == true else "red"
        wrong = []
        if numbers != {"pred": predicted, "true": true}:
            title = " / ".join(fact["title"].splitlines())
            wrong.append(f"title '{title}', expected 'pred: {predicted} / true: {true}'")
        if fact["colour"] != colour:
            wrong.append(f"title {fact['colour']}, expected {colour}")
        if fact["ticks"]:
            wrong.append("ticks shown")
        shown = fact["images"][0] if fact["images"] else None
        if shown is None or tuple(shown.shape) != (28, 28):
            wrong.append("no 28x28 image")
        elif ax.images[0].get_cmap().name not in greys:
            wrong.append(f"colour map {ax.images[0].get_cmap().name}, expected cmap='gray'")
        if wrong:
            marked.add(index)
            notes.append(f"image {index + 1}: " + "; ".join(wrong))
    return notes, marked


def expected_figure(images: torch.Tensor):
    rows = math.ceil(len(PREDICTED) / FIGURE_COLS)
    fig = figure(1.5 * FIGURE_COLS, 2.0 * rows, left=0.02, right=0.98, bottom=0.02, top=0.88,
                 hspace=0.45)
    for index, (image, predicted, true) in enumerate(zip(images, PREDICTED, LABELS)):
        ax = fig.add_subplot(rows, FIGURE_COLS, index + 1)
        ax.imshow(image.squeeze(0).numpy(), cmap="gray")
        ax.set_title(f"pred: {predicted}\ntrue: {true}", fontsize=10,
                     color="green" if predicted == true else "red")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def rendered(fig, marked: list | None = None):
    """The figure as an RGBA image, as savefig would draw it, and the pixel boxes (x, y from
    the top, width, height) of the `marked` axes with their titles."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    height = canvas.get_width_height()[1]
    boxes = [ax.get_tightbbox(canvas.get_renderer()) for ax in marked or []]
    return (np.asarray(canvas.buffer_rgba()),
            [(box.x0, height - box.y1, box.width, box.height) for box in boxes])


def figure_picture(package: str, folder: Path) -> tuple[list[str], Path | None]:
    """The learner's plot_predictions beside the expected figure for the same model and
    images, the panels that differ boxed in red and the differences listed."""
    from matplotlib.patches import Rectangle

    from kata.testing import PixelReader, TensorDigits, image_predicted_as, panels

    step8 = load_step(package, 8)
    images = torch.stack([image_predicted_as(digit, seed=i) for i, digit in enumerate(PREDICTED)])
    yours = step8.plot_predictions(PixelReader(), TensorDigits(images, torch.tensor(LABELS)),
                                   torch.device("cpu"), count=len(PREDICTED), cols=FIGURE_COLS)
    notes, marked = differences(yours)
    if not notes:
        return [], None
    axes = panels(yours)
    picture, boxes = rendered(yours, [axes[index] for index in sorted(marked)])
    expected, _ = rendered(expected_figure(images))
    shown = notes[:12] + ([f"... and {len(notes) - 12} more"] if len(notes) > 12 else [])
    fig = figure(12, 4.6 + 0.16 * len(shown), left=0.01, right=0.99, bottom=0.01, top=0.9,
                 wspace=0.04)
    grid = fig.add_gridspec(2, 2, height_ratios=[4.2, 0.2 + 0.16 * len(shown)])
    left, right, text = (fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]),
                         fig.add_subplot(grid[1, :]))
    for ax, image, title in ((left, picture, "your plot_predictions"),
                             (right, expected, "expected")):
        ax.imshow(image)
        ax.set_title(title)
        ax.axis("off")
    for x, y, width, height in boxes:
        left.add_patch(Rectangle((x - 3, y - 3), width + 6, height + 6, fill=False,
                                 edgecolor="red", linewidth=2, clip_on=False))
    text.axis("off")
    text.text(0, 1, "\n".join(shown), fontsize=8, color="#a00", va="top")
    fig.suptitle("step 8: your figure beside the expected one (differences boxed in red)")
    return [], save(fig, folder, "step8-figure.png")


HELPERS: dict[str, tuple] = {
    "2": (pixel_picture,),
    "3": (network_trace(step3_model, "step3-shapes.png"),),
    "4": (network_trace(step4_model, "step4-shapes.png"),),
    "5": (loss_picture,),
    "8": (figure_picture,),
    CAPSTONE: (network_trace(step4_model, "capstone-shapes.png"),),
}
