"""Standardisation: each feature shifted and scaled to mean 0 and standard deviation 1, with the
statistics of the training split only (the validation and test splits must not leak into them),
kept as plain lists so that a model file can carry them to prediction time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    """``(X - mean) / std`` per column. mean, std: (D,) float64; std > 0."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """The column means and standard deviations of X (N, D), N >= 1. A constant column
        gets std 1, so that it maps to 0 instead of dividing by zero."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"X must be (N, D) with N >= 1 rows to fit on; got shape {X.shape}")
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, X: np.ndarray, dtype=np.float64) -> np.ndarray:
        """X (N, D) standardised, as a new ``dtype`` array."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(self.mean):
            raise ValueError(f"X must have {len(self.mean)} columns; got shape {X.shape}")
        return ((X - self.mean) / self.std).astype(dtype)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-able form, for a model file's ``extra``."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], n_features: int) -> Standardizer:
        """Read ``to_dict``'s form back, checked: a model file may be damaged."""
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            std = np.asarray(data["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"standardisation must hold lists 'mean' and 'std' ({exc})") from None
        if mean.shape != (n_features,) or std.shape != (n_features,):
            raise ValueError(f"standardisation must hold {n_features} means and standard "
                             f"deviations; got {mean.shape} and {std.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("standardisation must hold finite means and positive standard "
                             "deviations")
        return cls(mean, std)
