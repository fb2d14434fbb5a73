"""Step 9 (bonus): your own handwriting.

The network has only ever seen digits prepared the way MNIST prepared NIST's scans: light
ink on a black background, the ink scaled so that its longer side is 20 pixels, and placed
in a 28x28 frame so that its centre of mass sits at the centre. A digit drawn dark on a
white page, large and off to one side, looks nothing like that. Prepare it the same way
and the network reads it.
"""

import numpy as np
import torch
from PIL import Image

from .step2_dataset import build_transform

FRAME = 28  # MNIST's images are 28x28 pixels
INK_BOX = 20  # the ink's longer side, in pixels
CENTRE = 14  # where MNIST put the centre of mass: pixel (14, 14), counting from 0
INK_LEVEL = 0.1  # a pixel at least this bright (0..1, after inversion) holds ink


def as_image(image) -> Image.Image:
    """A PIL image as it is; an array (numpy, or a tensor on the CPU) as a PIL image."""
    if isinstance(image, Image.Image):
        return image
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[0] in (1, 3, 4) and pixels.shape[-1] not in (1, 3, 4):
        pixels = pixels.transpose(1, 2, 0)  # channels first, as torch keeps them
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.dtype != np.uint8:  # floats: 0..1, or 0..255
        pixels = pixels * 255 if pixels.max() <= 1 else pixels
        pixels = pixels.clip(0, 255).round().astype(np.uint8)
    return Image.fromarray(pixels)


def grayscale(image) -> np.ndarray:
    """Any image as a 2-D float array in [0, 1]; a transparent background counts as white."""
    image = as_image(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.float32) / 255


def to_mnist(image) -> torch.Tensor:
    """One digit in any image -> a float32 tensor (1, 1, 28, 28) prepared as MNIST was."""
    pixels = grayscale(image)

    # Ink bright on black. The border is background: a light one means dark ink, so invert.
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = float(np.median(border))
    if background > 0.5:
        pixels, background = 1 - pixels, 1 - background
    pixels = np.clip(pixels - background, 0, 1)  # a grey page becomes black
    if pixels.max() < INK_LEVEL:
        raise ValueError("no ink: the image holds no digit (it is all one shade)")
    pixels = pixels / pixels.max()  # the strongest ink is white, as in MNIST

    # Crop to the ink.
    rows = np.flatnonzero((pixels >= INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((pixels >= INK_LEVEL).any(axis=0))
    ink = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    # The longer side to 20 pixels, the aspect ratio kept.
    height, width = ink.shape
    scale = INK_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    ink = np.asarray(Image.fromarray(ink).resize(size, Image.LANCZOS)).clip(0, 1)

    # Into a black 28x28 frame, the ink's centre of mass at the frame's centre.
    ys, xs = np.indices(ink.shape)
    centre_y, centre_x = (ys * ink).sum() / ink.sum(), (xs * ink).sum() / ink.sum()
    frame = Image.new("F", (FRAME, FRAME), 0)
    frame.paste(Image.fromarray(ink),
                (round(CENTRE - centre_x), round(CENTRE - centre_y)))

    # 8-bit grey levels, as MNIST's files hold them; then step 2's transform.
    eight_bit = Image.fromarray((np.asarray(frame) * 255).round().astype(np.uint8))
    return build_transform()(eight_bit).unsqueeze(0)


def read_digit(model, image, device) -> tuple[int, list[float]]:
    """The digit the model reads in any image `to_mnist` takes, and the ten probabilities."""
    model.eval()
    with torch.no_grad():
        logits = model(to_mnist(image).to(device))
        probabilities = torch.softmax(logits, dim=1)[0].cpu()
    return int(probabilities.argmax()), probabilities.tolist()
