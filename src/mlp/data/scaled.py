"""Pixels kept as bytes in memory and read as scaled floats, a batch at a time.

MNIST's 60,000 training images take 47 MB as uint8 and 188 MB as float32. Training on pixels
divided by 255 needs the floats only one minibatch (or one evaluation chunk) at a time, and the
training loop and the networks read their inputs by rows. :class:`ScaledPixels` answers such a
read with the scaled values, computed then, so the whole set is never converted.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ScaledPixels(np.ndarray):
    """uint8 storage, read as ``stored / divisor`` in ``float_dtype``.

    ``X[index]`` (rows, a slice, an index array: any index) returns a new float array of the
    scaled values, bit for bit what ``stored.astype(float_dtype) / divisor`` holds; so do
    ``X.astype(...)`` and every NumPy function or ufunc given ``X`` (``np.abs(X)``, ``X.max()``),
    which convert the whole array first. Its ``dtype``, ``shape`` and ``len`` are the storage's,
    and ``np.asarray(X)`` returns the uint8 storage itself (NumPy does not ask subclasses), which
    is what a fingerprint of the data wants. Read-only: nothing may write scaled values back.
    """

    _divisor: float
    _float: np.dtype

    @classmethod
    def wrap(cls, stored: np.ndarray, divisor: float, float_dtype) -> ScaledPixels:
        """A view of ``stored`` (any shape, uint8) read as ``stored / divisor``."""
        stored = np.asarray(stored)
        if stored.dtype != np.uint8:
            raise TypeError(f"stored must be uint8 pixels; got {stored.dtype}")
        float_dtype = np.dtype(float_dtype)
        if float_dtype not in (np.float32, np.float64):
            raise ValueError(f"float_dtype must be float32 or float64; got {float_dtype}")
        if not (isinstance(divisor, int | float) and divisor > 0):
            raise ValueError(f"divisor must be a positive number; got {divisor!r}")
        view = stored.view(cls)
        view._divisor, view._float = divisor, float_dtype
        view.flags.writeable = False
        return view

    def __array_finalize__(self, obj: Any) -> None:
        # Views (a reshape, a transpose) keep reading the same way.
        self._divisor = getattr(obj, "_divisor", 1.0)
        self._float = getattr(obj, "_float", np.dtype(np.float64))

    def _scaled(self, stored) -> Any:
        values = np.asarray(stored).astype(self._float)  # a 0-d array for a single pixel
        values /= self._divisor
        return values if values.ndim else values[()]

    def __getitem__(self, index) -> Any:
        return self._scaled(super().__getitem__(index))

    def scaled(self) -> np.ndarray:
        """All the values as a new float array."""
        return self._scaled(self)

    def astype(self, dtype, *args, **kwargs) -> np.ndarray:  # type: ignore[override]
        return self.scaled().astype(dtype, *args, **kwargs)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(isinstance(out, ScaledPixels) for out in kwargs.get("out", ())):
            raise TypeError("ScaledPixels is read-only: write into a plain array")
        return getattr(ufunc, method)(*_unwrap(inputs), **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return func(*_unwrap(args), **_unwrap(kwargs))

    def __repr__(self) -> str:
        return (f"ScaledPixels(shape={self.shape}, uint8 / {self._divisor:g} as "
                f"{self._float.name})")

    def __reduce__(self):
        raise TypeError("ScaledPixels cannot be pickled: pickle its scaled() values or the "
                        "uint8 storage")


def _unwrap(value: Any) -> Any:
    """``value`` with every ScaledPixels inside (lists, tuples, dicts) replaced by its floats."""
    if isinstance(value, ScaledPixels):
        return value.scaled()
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value
