"""Step 9 (bonus): your own handwriting.

Your network reads MNIST's test digits. Does it read yours? Not until you prepare them the
way MNIST was prepared. MNIST's digits came from NIST's scans of forms; each scanned digit
was scaled so that its longer side fits a 20x20 box (keeping its shape), then placed in a
28x28 frame so that its centre of mass (the average position of the ink, each pixel weighted
by how bright it is) falls on the frame's centre, pixel (14, 14) counting from 0. The ink is
light on a black background. That is all the network has ever seen: a digit drawn dark on a
white page, large and off to one side, is a picture it was never shown, and it reads it
badly. Here you write the preparation, then `kata draw` lets you draw digits with the mouse
and watch your network read them.

Done when: `kata test 9` (or `make test STEP=9`) passes. This step is a bonus: it earns no
points unless your instructor's grading.toml gives it some.
"""

import numpy as np  # noqa: F401 -- you will need it for the pixels
import torch
from PIL import Image  # noqa: F401 -- you will need it to convert and resize

from kata import KataTodo

from .step2_dataset import build_transform  # noqa: F401 -- you will need it

FRAME = 28  # MNIST's images are 28x28 pixels
INK_BOX = 20  # the ink's longer side, in pixels
CENTRE = 14  # where MNIST put the centre of mass: pixel (14, 14), counting from 0
INK_LEVEL = 0.1  # a pixel at least this bright (0..1, after inversion) holds ink


def to_mnist(image) -> torch.Tensor:
    """One digit in any image -> a float32 tensor (1, 1, 28, 28) prepared as MNIST was.

    `image` is a PIL image of any mode and size (L, RGB, RGBA: a transparent background
    counts as white), or a 2-D or 3-D array (numpy, or a tensor on the CPU; uint8 0..255 or
    float 0..1), dark ink on a light page or light ink on a dark one. In order:
    1. Grayscale, as floats in [0, 1].
    2. Ink bright on black: the image's border is background; when it is light (its median
       above 0.5), invert (1 - pixels). Subtract what is left of the background, so a grey
       page becomes black, and scale so that the brightest ink is 1. An image with no pixel
       at INK_LEVEL or brighter holds no digit: raise ValueError saying so.
    3. Crop to the ink: the rows and columns that hold a pixel at INK_LEVEL or brighter.
    4. Scale so that the longer side is INK_BOX pixels, keeping the aspect ratio (a tall
       "1" stays thin).
    5. Place it in a black FRAME x FRAME image so that its centre of mass is at
       (CENTRE, CENTRE); ink that falls outside the frame is cut off.
    6. Step 2's transform (from 0..255 grey levels, as MNIST's files hold them), and a batch
       dimension in front.
    Look up: `Image.convert("L")`, `Image.alpha_composite`, `np.median`, `np.flatnonzero`,
    `Image.resize`, `Image.paste` (it clips what falls outside), `np.indices`.
    Hint: the centre of mass of a 2-D array `ink` is (sum(y * ink) / sum(ink),
    sum(x * ink) / sum(ink)), with y and x each pixel's row and column: `np.indices`.
    """
    raise KataTodo("Step 9: prepare the image as MNIST was (invert, crop, scale to 20, centre "
                   "the mass in 28x28, normalise); return a (1, 1, 28, 28) tensor.")


def read_digit(model, image, device) -> tuple[int, list[float]]:
    """The digit `model` reads in `image`, and its ten probabilities.

    `image` is anything `to_mnist` takes. Prepare it with `to_mnist`, run the model as in
    step 6 (evaluation mode, gradients off, the input on `device`), and turn the ten scores
    into probabilities. Return the most probable digit as an int and the probabilities as a
    list of ten Python floats that sum to 1.
    Look up: `torch.softmax`, `Tensor.tolist`.
    """
    raise KataTodo("Step 9: prepare the image with to_mnist, run the model, and return the "
                   "digit and the ten softmax probabilities.")
