"""Input checks for the public boundary. Each error names the argument, what was expected and
what was given, so that a wrong call fails in our code with a readable message instead of deep
inside NumPy."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_positive(name: str, value: object, integer: bool = False) -> float | int:
    """Return ``value`` if it is a positive (integer, if asked) finite number."""
    kind = "integer" if integer else "number"
    ok_type = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, ok_type):
        raise TypeError(f"{name} must be a positive {kind}; got {value!r} ({type(value).__name__})")
    # Python integers are finite however large (and too large for np.isfinite).
    if value <= 0 or not (integer or math.isfinite(value)):
        raise ValueError(f"{name} must be a positive {kind}; got {value!r}")
    return int(value) if integer else float(value)


def check_nonnegative(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0; got {value!r} ({type(value).__name__})")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number >= 0; got {value!r}")
    return float(value)


def is_sparse(x: object) -> bool:
    """Whether ``x`` is a SciPy sparse matrix or array (known by its interface: the core does
    not import SciPy)."""
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def _check_sparse(X, n_features: int, name: str, dtype: np.dtype | None):
    """A SciPy sparse X checked as :func:`check_X` checks a dense one, returned in CSR form
    (rows are what batches gather) without densifying it."""
    if len(X.shape) != 2:
        raise ValueError(f"{name} must be 2-D with shape (N, {n_features}); got shape {X.shape}")
    if X.dtype == bool or not np.issubdtype(X.dtype, np.number) or np.issubdtype(
            X.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers; got a sparse matrix of dtype {X.dtype}")
    if X.shape[0] == 0 or X.shape[1] != n_features:
        raise ValueError(f"{name} must have shape (N, {n_features}) with N >= 1; got a sparse "
                         f"matrix of shape {X.shape}")
    X = X.tocsr()
    if X.nnz and np.issubdtype(X.dtype, np.floating):
        try:
            _check_float_range(X.data[None, :], f"{name}'s stored values", dtype)
        except ValueError as exc:
            raise ValueError(str(exc).split(" at row")[0]) from None
    return X


def check_X(X: object, n_features: int, name: str = "X",
            dtype: np.dtype | None = None) -> np.ndarray:
    """Check a batch of inputs. Returns it as a (N, n_features) array of numbers.

    Integer and unsigned inputs (MNIST's raw uint8 pixels) are accepted as they are; the layers
    convert them to the network's dtype. Values whose square would overflow to inf in
    ``dtype`` (the network's, else X's) are refused too: beyond 1.3e154 in float64, 1.8e19 in
    float32 (1e39 is finite in float64, not in float32), the products of the forward pass and
    the penalties would turn into inf and then NaN.
    """
    if is_sparse(X):
        return _check_sparse(X, n_features, name, dtype)
    if isinstance(X, np.ma.MaskedArray):
        raise TypeError(f"{name} must be a plain array, not a masked array: its masked entries "
                        "would be used as they are; fill them (X.filled(value)) or drop them")
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise TypeError(
                f"{name} must be a 2-D array of numbers; got {type(X).__name__}"
            ) from exc
    if X.dtype == bool or not (np.issubdtype(X.dtype, np.number)):
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (N, {n_features}); got {X.ndim}-D shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example; got shape {X.shape}")
    if X.shape[1] != n_features:
        raise ValueError(
            f"{name} must have {n_features} features (columns) as the network's input_size; "
            f"got shape {X.shape}"
        )
    if np.issubdtype(X.dtype, np.floating):
        _check_float_range(X, name, dtype)
    return X


def _check_float_range(X: np.ndarray, name: str, dtype: np.dtype | None) -> None:
    """Every entry finite, and its square finite in ``dtype`` too. The minimum and maximum
    reveal both (NaN propagates through them) without a temporary array the size of X."""
    lo, hi = float(X.min()), float(X.max())
    limit = math.sqrt(float(np.finfo(dtype if dtype is not None else X.dtype).max))
    if math.isfinite(lo) and math.isfinite(hi) and max(hi, -lo) <= limit:
        return
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        row, col = bad[0]
        raise ValueError(f"{name} must be finite; got {X[row, col]} at row {row}, column {col}")
    row, col = np.argwhere(np.abs(X) > limit)[0]
    kind = np.dtype(dtype if dtype is not None else X.dtype).name
    raise ValueError(f"{name} must fit the network's {kind} (|x| <= {limit:.4g}, where x² stays "
                     f"finite); got {X[row, col]} at row {row}, column {col}")


def check_y(y: object, n: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Check integer class labels for N examples. Returns them as an (N,) int64 array."""
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels; got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D with shape ({n},); got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{name} must have one label per row of X ({n}); got {y.shape[0]}")
    if n and (y.min() < 0 or y.max() >= n_classes):
        bad = y[(y < 0) | (y >= n_classes)][0]
        raise ValueError(f"{name} must hold labels in [0, {n_classes}); got {bad}")
    return y.astype(np.int64, copy=False)


def check_sample_weight(sample_weight: object, n: int, name: str = "sample_weight") -> np.ndarray:
    """Check per-example weights for N examples: (N,) finite, >= 0, not all zero. Returns them
    as a float64 array."""
    w = np.asarray(sample_weight)
    if w.dtype == bool or not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w):
        raise TypeError(f"{name} must hold real numbers; got dtype {w.dtype}")
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one weight per row of X; got shape "
                         f"{w.shape}")
    w = w.astype(np.float64, copy=False)
    if not np.isfinite(w).all():
        raise ValueError(f"{name} must be finite; got {w[~np.isfinite(w)][0]}")
    if n and w.min() < 0:
        raise ValueError(f"{name} must be >= 0; got {w.min():g}")
    if n and not w.any():
        raise ValueError(f"{name} must not be all zero: no example would count")
    return w
