"""The 2-D data sets of the page: points in the square [-6, 6]^2 with a class or a value.

Every generator takes the number of points, the noise (0 to 0.5), the number of classes and a
seed, and returns ``X (N, 2) float64`` with ``y (N,) int64`` in [0, classes) for a
classification or ``y (N,) float64`` in about [-1, 1] for a regression. Same arguments, same
points. Noise moves a classification's points (so that classes overlap) and adds to a
regression's values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..data.split import shuffle_split
from .features import EXTENT

#: The largest radius of the classification sets: they stay clear of the square's edges.
RADIUS = 5.0


class Points(NamedTuple):
    """A data set split in two: ``X_*`` (N, 2) coordinates, ``y_*`` (N,) labels or values."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _classes_of(n: int, classes: int) -> np.ndarray:
    """n labels, as equal in number as n allows: 0, 1, ..., classes-1, 0, 1, ..."""
    return np.arange(n) % classes


def circle(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Concentric rings, the innermost a disc, with a gap between neighbours."""
    y = _classes_of(n, classes)
    band = RADIUS / classes
    r = band * (y + rng.uniform(0.1, 0.9, n)) if classes > 2 else np.where(
        y == 0, rng.uniform(0, 0.4 * RADIUS, n), rng.uniform(0.6 * RADIUS, RADIUS, n))
    angle = rng.uniform(0, 2 * math.pi, n)
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    return X + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise, y


def xor(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Two classes by the sign of x1 * x2: opposite quadrants share a class."""
    X = rng.uniform(-RADIUS, RADIUS, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)  # keep a margin along the axes
    y = (X[:, 0] * X[:, 1] >= 0).astype(np.int64)
    return X + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise, y


def gauss(n: int, noise: float, classes: int, rng: np.random.Generator):
    """One Gaussian cluster per class, their centres evenly spaced on a circle."""
    y = _classes_of(n, classes)
    angle = 2 * math.pi * y / classes + math.pi / 4
    centres = 2.5 * np.column_stack([np.cos(angle), np.sin(angle)])
    spread = 0.5 + 3.5 * noise
    return centres + rng.normal(0, spread, (n, 2)), y


def spiral(n: int, noise: float, classes: int, rng: np.random.Generator):
    """One spiral arm per class, the arms turned evenly about the centre."""
    y = _classes_of(n, classes)
    t = rng.uniform(0, 1, n)
    r = RADIUS * t
    angle = 1.75 * 2 * math.pi * t + 2 * math.pi * y / classes
    X = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    return X + rng.uniform(-1, 1, (n, 2)) * noise * RADIUS, y


def moons(n: int, noise: float, classes: int, rng: np.random.Generator):
    """Two interleaving half circles."""
    y = _classes_of(n, classes)
    t = rng.uniform(0, math.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where((y == 0)[:, None], upper, lower)
    X = 2.5 * (X - [0.5, 0.25])
    return X + rng.normal(0, 1, (n, 2)) * noise * 2, y


def plane(n: int, noise: float, classes: int, rng: np.random.Generator):
    """A regression: the value rises linearly along the diagonal, from -1 to 1."""
    X = rng.uniform(-EXTENT, EXTENT, (n, 2))
    y = (X[:, 0] + X[:, 1]) / (2 * EXTENT)
    return X, y + rng.normal(0, 1, n) * noise


#: (centre x1, centre x2, sign) of the bumps of ``gaussians``.
_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def gaussians(n: int, noise: float, classes: int, rng: np.random.Generator):
    """A regression: a sum of six Gaussian bumps of alternating sign."""
    X = rng.uniform(-EXTENT, EXTENT, (n, 2))
    y = np.zeros(n)
    for cx, cy, sign in _BUMPS:
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 2.0)
    return X, y + rng.normal(0, 1, n) * noise


Generator = Callable[[int, float, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]

#: Classification sets: name -> (generator, the class counts it allows).
CLASSIFICATION: dict[str, tuple[Generator, range]] = {
    "circle": (circle, range(2, 6)),
    "xor": (xor, range(2, 3)),
    "gauss": (gauss, range(2, 6)),
    "spiral": (spiral, range(2, 6)),
    "moons": (moons, range(2, 3)),
}
#: Regression sets: name -> generator.
REGRESSION: dict[str, Generator] = {"plane": plane, "gaussians": gaussians}
DATASETS = (*CLASSIFICATION, *REGRESSION)


def make_points(name: str, n: int, noise: float, classes: int, seed: int):
    """``X (n, 2), y (n,)`` of the named set; the arguments are trusted (the config checks
    them). A regression ignores ``classes``."""
    rng = np.random.default_rng(seed)
    if name in REGRESSION:
        X, y = REGRESSION[name](n, noise, classes, rng)
        return X, y.astype(np.float64)
    X, y = CLASSIFICATION[name][0](n, noise, classes, rng)
    return X.astype(np.float64), y.astype(np.int64)


def split(X: np.ndarray, y: np.ndarray, train_fraction: float, seed: int) -> Points:
    """The library's seeded split (:func:`mlp.data.shuffle_split`, as ``mlp train --data``'s):
    ``1 - train_fraction`` of the points, rounded, test; the rest train."""
    a, _, b = shuffle_split(X.shape[0], 0, round(1 - train_fraction, 12), seed)
    return Points(X[a], y[a], X[b], y[b])
