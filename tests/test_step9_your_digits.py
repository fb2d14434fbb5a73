"""Step 9 (bonus): your own handwriting.

The tests draw their own digits with a pen (PIL), dark on a white page or light on black,
large and off to one side, in every image mode, and look at what your `to_mnist` makes of
them: a black 28x28 frame, the ink's longer side 20 pixels, its centre of mass at the centre,
normalised as in step 2. Then `read_digit` runs a test-local model whose answers they know.
The last test trains a real network (as the capstone does) and measures the lesson itself.
"""

import numpy as np
import pytest
import torch
from grader_checks import graders_check_test_for
from PIL import Image

from kata import KataTodo
from kata.capstone import CapstoneSetting, train
from kata.testing import (
    BACKGROUND,
    FULL_INK,
    IMAGE_SIZE,
    MNIST_CENTRE,
    Tattletale,
    brightness,
    centre_of_mass,
    correlation,
    draw_digit,
    ink_box,
    make_wild,
    observe,
    plain_resize,
)

INK_BOX = 20


def prepared(step9, image) -> torch.Tensor:
    """to_mnist(image), checked to be one float32 image (1, 1, 28, 28)."""
    out = step9.to_mnist(image)
    assert isinstance(out, torch.Tensor), (
        f"to_mnist returned a {type(out).__name__} -- return a torch tensor")
    assert tuple(out.shape) == (1, 1, IMAGE_SIZE, IMAGE_SIZE) and out.dtype == torch.float32, (
        f"to_mnist returned a {out.dtype} tensor of shape {tuple(out.shape)} -- expected "
        "float32 (1, 1, 28, 28): one image, with its batch and channel dimensions")
    return out


def test_to_mnist_returns_one_28x28_float_image(step9):
    """to_mnist returns a float32 tensor (1, 1, 28, 28), as the network takes it."""
    prepared(step9, draw_digit("4"))


# ---------------------------------------------------------------- black and white


def hole_and_frame(out: torch.Tensor) -> tuple[float, float]:
    """The pixel in the middle of a prepared 0 (page, inside its ring) and a frame corner."""
    return out[0, 0, 14, 14].item(), out[0, 0, 0, 0].item()


def test_to_mnist_turns_dark_ink_on_a_light_page_into_light_ink_on_black(step9):
    """Catches: no inversion of a digit drawn dark on a white page."""
    out = prepared(step9, draw_digit("0"))  # dark on white; the hole of the 0 is page
    hole, frame = hole_and_frame(out)
    observe(hole=hole, frame=frame)
    assert abs(hole - frame) < 0.2 and frame <= out.min().item() + 1e-6, (
        f"to_mnist(a dark 0 on a white page): the page inside the 0 became {hole:.4f}, but the "
        f"frame's black is {frame:.4f} -- the page must turn black and the ink bright: when "
        "the image's border is light, invert it (1 - pixels)")
    assert out.max().item() - frame > 0.5, (
        f"to_mnist(a dark 0 on a white page): the brightest pixel is {out.max().item():.4f}, "
        f"hardly above the black {frame:.4f} -- the ink must be light on black, as in MNIST")


def test_to_mnist_leaves_light_ink_on_black_as_it_is(step9):
    """Catches: inverting every image, even one already light on black."""
    try:
        out = prepared(step9, draw_digit("0", ink=255, paper=0))
    except ValueError as error:
        observe(no_ink_found=True)
        pytest.fail(f"to_mnist(a light 0 on black) raised ValueError({error}) -- it found no "
                    "ink: was the image inverted although its border (the page) is dark?")
    hole, frame = hole_and_frame(out)
    observe(hole=hole, frame=frame)
    assert abs(hole - frame) < 0.2 and out.max().item() - frame > 0.5, (
        f"to_mnist(a light 0 on black): the page inside the 0 became {hole:.4f} and the frame "
        f"{frame:.4f} -- invert only when the image's border (its background) is light")


def test_dark_on_light_and_light_on_dark_give_the_same_image(step9):
    """Catches: an inversion that depends on anything but which side is background."""
    dark = prepared(step9, draw_digit("7"))
    light = prepared(step9, draw_digit("7", ink=255, paper=0))
    assert correlation(dark, light) > 0.99, (
        "to_mnist: a 7 drawn dark on white and the same 7 drawn light on black come out "
        f"different (correlation {correlation(dark, light):.3f}) -- both should be the same "
        "light 7 on black")


def test_a_grey_page_becomes_black(step9):
    """Catches: keeping the page's grey as the background (a photo of paper is never white)."""
    out = prepared(step9, draw_digit("0", ink=30, paper=190))
    hole, frame = hole_and_frame(out)
    observe(hole=hole, frame=frame, ink=out.max().item())
    assert abs(hole - frame) < 0.2, (
        f"to_mnist(a dark 0 on a grey page): the page inside the 0 became {hole:.4f}, but the "
        f"frame's black is {frame:.4f} -- after inverting, subtract what is left of the page "
        "(the border's grey level) so that it turns black")


def test_to_mnist_normalises_as_step_2_does(step9):
    """Catches: the normalisation forgotten (the pixels left in 0..1)."""
    out = prepared(step9, draw_digit("4", ink=255, paper=0))
    background, ink = out.min().item(), out.max().item()
    observe(background=background, ink=ink)
    assert abs(background - BACKGROUND) < 0.01 and abs(ink - FULL_INK) < 0.05, (
        f"to_mnist: the background is {background:.4f} and the brightest ink {ink:.4f}; after "
        f"step 2's normalisation black is {BACKGROUND:.4f} and white {FULL_INK:.4f} -- end with "
        "step 2's transform (build_transform) on 0..255 grey levels, with the strongest ink "
        "at 255")


@pytest.mark.parametrize("paper", [255, 0, 128], ids=["white", "black", "grey"])
def test_a_page_without_ink_raises_value_error(step9, paper):
    """Catches: making a digit out of an empty page (a division by zero, or a blank frame)."""
    page = Image.new("L", (90, 60), paper)
    try:
        out = step9.to_mnist(page)
    except KataTodo:
        raise
    except ValueError:
        return
    except Exception as error:
        observe(paper=paper, outcome=f"raised {type(error).__name__}")
        pytest.fail(f"to_mnist(a page of grey level {paper} without ink) raised "
                    f"{type(error).__name__}: {error} -- look for ink first, and raise "
                    "ValueError saying there is none")
    observe(paper=paper, outcome="returned an image")
    pytest.fail(f"to_mnist(a page of grey level {paper} without ink) returned "
                f"{type(out).__name__} -- there is no digit: raise ValueError saying so")


# ---------------------------------------------------------------- size and shape


@pytest.mark.parametrize(("digit", "page", "box", "longer"), [
    ("1", (160, 200), (40, 30, 110, 170), "tall"),
    ("0", (300, 160), (40, 40, 240, 120), "wide"),
    ("4", (40, 40), (14, 16, 24, 28), "small"),
], ids=["tall-1", "wide-0", "tiny-4"])
def test_the_inks_longer_side_is_20_pixels(step9, digit, page, box, longer):
    """Catches: scaling the longer side to 28 instead of 20, or not cropping to the ink."""
    out = prepared(step9, draw_digit(digit, page=page, box=box,
                                     width=2 if longer == "small" else 9))
    height, width = ink_box(out)
    side = max(height, width)
    observe(height=height, width=width, side=side)
    assert abs(side - INK_BOX) <= 1, (
        f"to_mnist(a {longer} {digit} on a {page[0]}x{page[1]} page): the ink is {height} "
        f"pixels tall and {width} wide; its longer side should be {INK_BOX} -- crop to the "
        "ink first, then scale so that the longer side is 20 pixels (MNIST's box), leaving a "
        "4-pixel margin in the 28x28 frame")


@pytest.mark.parametrize(("digit", "box", "expected"), [
    ("bar", (60, 20, 100, 180), 1 / 4), ("0", (30, 60, 250, 140), 0.4)],
    ids=["upright-stroke", "flat-0"])
def test_the_aspect_ratio_is_kept(step9, digit, box, expected):
    """Catches: stretching the ink to fill a 20x20 square (a "1" as fat as a "0")."""
    out = prepared(step9, draw_digit(digit, page=(280, 200), box=box, width=40))
    height, width = ink_box(out)
    short = min(height, width)
    expected_short = INK_BOX * expected
    observe(height=height, width=width, short=short, expected_short=expected_short)
    assert abs(short - expected_short) <= 2, (
        f"to_mnist: the ink came out {height} pixels tall and {width} wide; drawn, its sides "
        f"are about 1 : {1 / expected:.1f}, so about {INK_BOX} by {expected_short:.0f} -- "
        "scale both sides by the same factor, 20 / the longer side")


def test_the_inks_centre_of_mass_is_at_the_centre(step9):
    """Catches: centring the ink's bounding box instead of its centre of mass."""
    # Most of a 7's ink is in its top bar: its centre of mass is 3 pixels above its box's centre.
    out = prepared(step9, draw_digit("7", page=(240, 200), box=(130, 20, 200, 150)))
    row, col = centre_of_mass(out)
    observe(row=row, col=col, longer_side=max(ink_box(out)))
    assert abs(row - MNIST_CENTRE) <= 1 and abs(col - MNIST_CENTRE) <= 1, (
        f"to_mnist(a 7 drawn near the right edge): the ink's centre of mass landed at row "
        f"{row:.1f}, column {col:.1f}; MNIST puts it at ({MNIST_CENTRE:.0f}, "
        f"{MNIST_CENTRE:.0f}) -- shift the ink so that its centre of mass, not the middle of "
        "its box, sits at the frame's centre")


def test_where_and_how_large_the_digit_was_drawn_does_not_matter(step9):
    """Catches: keeping the digit where it was on the page, or its size."""
    here = prepared(step9, draw_digit("4", page=(300, 300), box=(20, 30, 100, 150)))
    there = prepared(step9, draw_digit("4", page=(300, 300), box=(180, 120, 280, 270),
                                       width=12))
    assert correlation(here, there) > 0.95, (
        "to_mnist: the same 4, drawn small in the top left and large in the bottom right of "
        f"a page, comes out different (correlation {correlation(here, there):.3f}) -- crop, "
        "scale and centre it, so that only its shape is left")


# ---------------------------------------------------------------- any image


def rgba_on_transparent() -> Image.Image:
    """A black 4 drawn on a transparent sheet, as a drawing app saves it."""
    return draw_digit("4", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")


IMAGE_KINDS = {
    "RGB": lambda: draw_digit("4", ink=(20, 40, 160), paper=(250, 245, 230), mode="RGB"),
    "RGBA-transparent": rgba_on_transparent,
    "odd-size": lambda: draw_digit("4").resize((157, 211)),
    "numpy-uint8": lambda: np.asarray(draw_digit("4")),
    "numpy-float": lambda: np.asarray(draw_digit("4"), dtype=np.float32) / 255,
    "numpy-rgb": lambda: np.asarray(draw_digit("4").convert("RGB")),
    "tensor-chw": lambda: torch.tensor(np.asarray(draw_digit("4")), dtype=torch.float32)
    .div(255).unsqueeze(0),
}


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_any_image_kind_gives_the_same_digit(step9, kind):
    """Catches: handling only grayscale PIL images (RGB, a transparent background, arrays)."""
    expected = prepared(step9, draw_digit("4"))
    out = prepared(step9, IMAGE_KINDS[kind]())
    assert correlation(out, expected) > 0.97, (
        f"to_mnist({kind}): the 4 comes out different from the same 4 as a grayscale image "
        f"(correlation {correlation(out, expected):.3f}) -- turn every image into grayscale "
        "0..1 first (a transparent background counts as white; uint8 arrays are 0..255)")


def mnist_style_four() -> tuple[Image.Image, np.ndarray]:
    """A 4 already as MNIST has it: light on black, 20 pixels tall, its centre of mass at
    (14, 14) of a 28x28 frame. The image, and its grey levels (0..1) as expected back."""
    small = np.asarray(draw_digit("4", page=(120, 240), box=(20, 20, 100, 220), width=24,
                                  ink=255, paper=0).crop((8, 8, 112, 232)).resize(
        (9, 20), Image.LANCZOS), dtype=np.float64) / 255
    rows, cols = np.indices(small.shape)
    top = round(MNIST_CENTRE - (rows * small).sum() / small.sum())
    left = round(MNIST_CENTRE - (cols * small).sum() / small.sum())
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE))
    frame[top:top + small.shape[0], left:left + small.shape[1]] = small
    pixels = (frame * 255).round().astype(np.uint8)
    return Image.fromarray(pixels), pixels / 255


def test_an_mnist_style_digit_goes_through_nearly_unchanged(step9):
    """Catches: moving or rescaling a digit that is already as MNIST's are."""
    image, expected = mnist_style_four()
    out = prepared(step9, image)
    assert correlation(brightness(out), expected) > 0.95, (
        "to_mnist: a digit already prepared as MNIST's are came out changed (correlation "
        f"{correlation(brightness(out), expected):.3f}) -- a 20-pixel digit centred by its "
        "mass should stay where it is")


@pytest.mark.real_data
def test_mnist_test_digits_go_through_nearly_unchanged(step9, mnist_root):
    """Catches: preparing digits otherwise than MNIST did (another box, another centre)."""
    from torchvision import datasets

    digits = datasets.MNIST(mnist_root, train=False).data[:200].numpy()
    alike = [correlation(brightness(prepared(step9, Image.fromarray(d))), d / 255)
             for d in digits]
    assert np.median(alike) > 0.99 and np.mean(np.array(alike) > 0.9) > 0.95, (
        f"to_mnist on MNIST's own test digits: median correlation {np.median(alike):.3f} with "
        f"the originals, {np.mean(np.array(alike) > 0.9):.0%} above 0.9 -- MNIST's digits are "
        "20 pixels in their longer side, their centre of mass at (14, 14): to_mnist should "
        "leave them nearly as they are")


# ---------------------------------------------------------------- read_digit


@pytest.fixture
def tattletale() -> Tattletale:
    """A model whose answer moves by one digit in training mode and by two with gradients on."""
    return Tattletale(torch.Generator().manual_seed(9))


def expected_reading(step9, model, image) -> torch.Tensor:
    """The ten probabilities the model gives your to_mnist's image, read the right way."""
    with torch.no_grad():
        return model.clean_logits(step9.to_mnist(image)).softmax(dim=1)[0]


@pytest.mark.parametrize("digit", ["0", "1", "7"])
def test_read_digit_returns_the_digit_and_ten_probabilities(step9, tattletale, device, digit):
    """Catches: log-probabilities or raw scores instead of softmax probabilities, or a model
    run in training mode or with gradients on (this model then reads another digit)."""
    image = draw_digit(digit)
    read, probabilities = step9.read_digit(tattletale.to(device), image, device)
    assert isinstance(read, int) and not isinstance(read, bool), (
        f"read_digit returned the digit as a {type(read).__name__} -- return a Python int")
    assert isinstance(probabilities, list) and len(probabilities) == 10 and all(
        isinstance(p, float) for p in probabilities), (
        f"read_digit returned {type(probabilities).__name__} for the probabilities -- return "
        "a list of ten Python floats (Tensor.tolist())")
    total = sum(probabilities)
    observe(total=total, smallest=min(probabilities))
    assert min(probabilities) >= 0 and abs(total - 1) < 1e-4, (
        f"read_digit's probabilities add up to {total:.4f} and the smallest is "
        f"{min(probabilities):.4f} -- these are not probabilities: apply softmax to the "
        "model's scores (not log_softmax, not the raw scores)")
    expected = expected_reading(step9, tattletale, image)
    best = int(expected.argmax())
    observe(total=total, shift=(read - best) % 10)
    # The Tattletale reads one digit further in training mode, two further with gradients on.
    why = {1: "it ran in training mode: call model.eval() first",
           2: "it ran with gradients on: run it inside torch.no_grad()",
           3: "it ran in training mode with gradients on: model.eval() and torch.no_grad()",
           }.get((read - best) % 10, "run the model on to_mnist(image) and return the most "
                                     "probable digit with its softmax")
    assert read == best and torch.allclose(torch.tensor(probabilities), expected, atol=1e-4), (
        f"read_digit read {read} with the probabilities {np.round(probabilities, 3).tolist()}; "
        f"the model, in eval mode without gradients, reads {best} in your to_mnist's image "
        f"-- {why}")


def test_read_digit_runs_the_model_in_eval_mode_without_gradients(step9, device):
    """Catches: read_digit without model.eval() or without torch.no_grad()."""
    calls = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(IMAGE_SIZE * IMAGE_SIZE, 10)

        def forward(self, x):
            calls.append((self.training, torch.is_grad_enabled()))
            return self.linear(x.reshape(len(x), -1))

    step9.read_digit(Recorder().to(device).train(), draw_digit("1"), device)
    assert calls, "read_digit never called the model"
    assert not any(training for training, _ in calls), (
        "read_digit ran the model in training mode -- call model.eval() first")
    assert not any(grad for _, grad in calls), (
        "read_digit ran the model with gradients on -- run it inside torch.no_grad()")


# ---------------------------------------------------------------- the lesson, measured

LESSON_TRAINING = CapstoneSetting(train_limit=6000, test_limit=None, min_accuracy=0.0,
                                  batch_size=16)
WILD_DIGITS = 500


@pytest.mark.real_data
@pytest.mark.timeout(300)  # training, as the capstone's
def test_a_trained_network_reads_wild_digits_only_after_to_mnist(impl, step9, mnist_root,
                                                                 device, test_seed,
                                                                 record_property):
    """Catches: a to_mnist that does not make digits the network can read (the whole point)."""
    from torchvision import datasets

    from kata.testing import record_margin

    test_set = datasets.MNIST(mnist_root, train=False)
    rng = np.random.default_rng(test_seed)
    wild = [make_wild(d, rng) for d in test_set.data[-WILD_DIGITS:].numpy()]
    labels = test_set.targets[-WILD_DIGITS:]
    # Prepared before training: a step 9 still a stub is todo at once, not after the training.
    prepared_pages = torch.cat([step9.to_mnist(image) for image in wild])
    model, _ = train(impl.name, mnist_root, device, LESSON_TRAINING, seed=test_seed)
    model.eval()

    def accuracy(images: torch.Tensor) -> float:
        with torch.no_grad():
            return (model(images.to(device)).argmax(dim=1).cpu() == labels).float().mean().item()

    naive = accuracy(torch.cat([plain_resize(image) for image in wild]))
    prepared_well = accuracy(prepared_pages)
    record_margin(record_property, "wild_accuracy", prepared_well, 0.8)
    print(f"wild digits read right: {naive:.1%} after a plain resize, {prepared_well:.1%} "
          "after to_mnist")
    assert prepared_well >= 0.8 and prepared_well - naive >= 0.4, (
        f"a network trained on MNIST reads {prepared_well:.1%} of {WILD_DIGITS} test digits "
        f"made wild (enlarged, dark on a white page, off-centre) after your to_mnist, and "
        f"{naive:.1%} after a plain resize to 28x28; prepared as MNIST was, at least 80% "
        "should be read -- check the inversion, the 20-pixel box and the centre of mass")


# ---------------------------------------------------------------- the grader's own checks

# Step 9's checks of tests/grader_checks.py, one test per verdict. In grading, their
# verdicts are decided by the grader on inputs only it knows; here they run like any test.
test_graders_check = graders_check_test_for(9)
