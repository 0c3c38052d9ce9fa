"""The network's input features, computed from a point's two coordinates.

Points live in the square [-6, 6]^2 that the page draws. The polynomial features are taken of
the coordinates divided by 6, so that they stay in [-1, 1] whatever the learning rate; the sines
take the coordinates as they are, so that they show about two periods across the square.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Half the side of the square the points live in.
EXTENT = 6.0

_U = 1.0 / EXTENT

#: Feature name -> its values from points ``X (N, 2)`` -> (N,).
FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x1": lambda X: X[:, 0] * _U,
    "x2": lambda X: X[:, 1] * _U,
    "x1^2": lambda X: (X[:, 0] * _U) ** 2,
    "x2^2": lambda X: (X[:, 1] * _U) ** 2,
    "x1x2": lambda X: (X[:, 0] * _U) * (X[:, 1] * _U),
    "sin_x1": lambda X: np.sin(X[:, 0]),
    "sin_x2": lambda X: np.sin(X[:, 1]),
}

#: How the page labels each feature.
LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1x2": "x₁x₂",
          "sin_x1": "sin x₁", "sin_x2": "sin x₂"}


def expand(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The chosen features of points. X: (N, 2) float -> (N, len(names)) float64."""
    out = np.empty((X.shape[0], len(names)))
    for j, name in enumerate(names):
        out[:, j] = FEATURES[name](X)
    return out


def grid(resolution: int) -> np.ndarray:
    """The centres of a ``resolution`` x ``resolution`` grid over the square, row by row from
    the top (largest x2) so that row r is the r-th pixel row of a picture. -> (R*R, 2)."""
    step = 2 * EXTENT / resolution
    centres = -EXTENT + step * (np.arange(resolution) + 0.5)
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])
