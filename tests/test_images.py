"""Digit pictures of more than 8 bits per level read as their 8-bit versions would."""

import numpy as np
import pytest

from mlp import images


def _digit() -> np.ndarray:
    """A dark stroke on a light page, 0-255 levels."""
    img = np.full((120, 90), 235.0)
    img[20:100, 40:52] = 25.0
    img[20:32, 30:60] = 25.0
    return img


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    from PIL import Image

    grey = _digit()
    Image.fromarray(grey.astype(np.uint8)).save(tmp_path / "d8.png")
    Image.fromarray((grey * 257).astype(np.uint16)).save(tmp_path / "d16.png")
    with Image.open(tmp_path / "d16.png") as image:
        assert image.mode.startswith("I")  # Pillow reads it with more than 8 bits
    expected = images.read_digit_image(tmp_path / "d8.png")
    got = images.read_digit_image(tmp_path / "d16.png")
    assert np.abs(got - expected).max() < 1e-6
    assert got.max() == pytest.approx(255, abs=1)
