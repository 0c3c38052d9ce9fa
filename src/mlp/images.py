"""Reading digit images: any picture of one handwritten digit, turned into an MNIST-style
28x28 image (``mlp predict`` uses it)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["MNIST_SIZE", "MNIST_BOX", "check_digit_reader", "digit_inputs", "mnist_like",
           "read_digit_image"]

#: The largest picture read (a 48-megapixel photo fits): larger ones are refused from their
#: header, before their pixels are decoded into memory.
MAX_PIXELS = 50_000_000

#: MNIST's digits fit a 20x20 box, centred by their centre of mass in a 28x28 field.
MNIST_SIZE, MNIST_BOX = 28, 20


def check_digit_reader(model, extra: dict, name: str) -> None:
    """Refuse a model that cannot read the MNIST-style images made here: it must take
    MNIST_SIZE x MNIST_SIZE inputs (its ``image_shape``, where recorded, saying so too) into the
    10 digits. ``extra``: the model file's metadata, already checked; ``name`` starts the
    message."""
    shape = extra.get("image_shape", [MNIST_SIZE, MNIST_SIZE])
    if "table" in extra or model.input_size != MNIST_SIZE**2 or shape != [MNIST_SIZE] * 2:
        got = f"{model.input_size} inputs"
        if "table" in extra:
            got = f"the {got} of a CSV table's columns"
        elif "image_shape" in extra:
            got = f"{shape[0]}x{shape[1]} images ({got})"
        raise ValueError(f"{name}: expected a model of {MNIST_SIZE}x{MNIST_SIZE} digit images "
                         f"({MNIST_SIZE**2} inputs); got {got}")
    if model.n_classes != 10:
        raise ValueError(f"{name}: expected a model with 10 classes (the digits); got "
                         f"{model.n_classes}")


def digit_inputs(images: np.ndarray, input_max: float, dtype) -> np.ndarray:
    """MNIST-style images (N, 28, 28) in [0, 255] as a model's inputs (N, 784) in
    [0, input_max] (the model file's ``input_max``)."""
    return (images.reshape(len(images), -1) * (input_max / 255.0)).astype(dtype)


def mnist_like(grey: np.ndarray, size: int = MNIST_SIZE, box: int = MNIST_BOX) -> np.ndarray:
    """Turn a grey image of one digit into an MNIST-style image.

    grey: (H, W) grey levels 0-255, dark-on-light or light-on-dark. The background level (the
    median of the border) is removed and the image inverted if the background is light; the
    digit is cropped to its bounding box, scaled so its longer side is ``box`` pixels (keeping
    the aspect ratio) and placed so its centre of mass is the centre of a ``size`` x ``size``
    field. Returns (size, size) float64 in [0, 255], a white digit on black.
    """
    from PIL import Image

    g = np.asarray(grey, dtype=np.float64)
    if g.ndim != 2 or min(g.shape) < 2:
        raise ValueError(f"grey must be a 2-D image of at least 2x2 pixels; got shape {g.shape}")
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    background = float(np.median(border))
    if background > 127.5:
        g, background = 255.0 - g, 255.0 - background
    ink = np.clip(g - background, 0, None)
    peak = float(ink.max())
    # Less contrast than this is scanner noise or a blank page, not a digit.
    if peak < 16:
        raise ValueError("no digit found: the image is (almost) uniform")
    ink /= peak
    # The bounding box ignores faint specks (JPEG ringing, paper texture).
    rows = np.flatnonzero((ink > 0.2).any(axis=1))
    cols = np.flatnonzero((ink > 0.2).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = Image.fromarray(crop.astype(np.float32)).resize((nw, nh), Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(small, dtype=np.float64), 0, 1)
    mass = digit.sum()
    ys, xs = np.indices(digit.shape)
    cy, cx = (ys * digit).sum() / mass, (xs * digit).sum() / mass
    centre = size / 2
    top = int(np.clip(round(centre - cy), 0, size - nh))
    left = int(np.clip(round(centre - cx), 0, size - nw))
    out = np.zeros((size, size))
    out[top : top + nh, left : left + nw] = digit
    return out * 255.0


#: Pillow's modes of more than 8 bits per grey level, and their largest level.
DEEP_MODES = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535}


def _grey(image) -> np.ndarray:
    """The image's grey levels as 0-255 floats (H, W): a 16-bit (or 32-bit) grey image is
    scaled to that range, not clipped to it (``convert("L")`` clips 16-bit levels at 255)."""
    if image.mode in DEEP_MODES or image.mode in ("I", "F"):
        levels = np.asarray(image, dtype=np.float64)
        top = DEEP_MODES.get(image.mode) or (65535 if levels.max(initial=0) > 255 else 255)
        return np.clip(levels, 0, top) * (255.0 / top)
    return np.asarray(image.convert("L"), dtype=np.float64)


def read_digit_image(path: os.PathLike | str) -> np.ndarray:
    """Read a PNG/JPEG (any format Pillow reads, any size) of one digit, MNIST-style.

    Colour is converted to grey, transparency composed onto white, then :func:`mnist_like`.
    Returns (28, 28) float64 in [0, 255], a white digit on black. Raises FileNotFoundError, or
    ValueError naming the file if it is not an image or shows no digit.
    """
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError('reading images needs Pillow: pip install "mlp[viz]"') from exc
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file (a folder, FIFO or device)")
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValueError(f"{path}: the image is {image.width}x{image.height} pixels, "
                                 f"more than the {MAX_PIXELS:,} read; scale it down first")
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                white = Image.new("RGBA", image.size, "white")
                white.alpha_composite(image.convert("RGBA"))
                image = white
            grey = _grey(image)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{path}: not an image that Pillow can read ({exc})") from exc
    try:
        return mnist_like(grey)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
