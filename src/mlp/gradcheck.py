"""Numeric gradients by centred differences, and the relative error used to compare them with
the analytic ones (the problem set's ``eval_numerical_gradient`` and ``rel_error``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True, h: float = 1e-5
) -> np.ndarray:
    """Numeric gradient of the scalar function ``f`` at ``x``, by centred differences.

    ``x`` (any shape, float) is perturbed in place, one entry at a time, and restored exactly
    afterwards; ``f`` is called with ``x`` and must read its current values (for a network,
    ``lambda _: net.loss(X, y)[0]`` with ``x`` one of ``net.params``). Costs 2 * x.size calls.
    Returns an array shaped like ``x``.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"x must be a float NumPy array; got {type(x).__name__}")
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        # Whatever f raises (or a Ctrl-C), the entry gets its value back.
        try:
            x[ix] = old + h
            fxph = f(x)
            x[ix] = old - h
            fxmh = f(x)
        finally:
            x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; got {x.shape} and {y.shape}")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def check_gradients(
    model, X: np.ndarray, y: np.ndarray, reg: float = 0.0, h: float = 1e-5
) -> dict[str, float]:
    """Max relative error between analytic and numeric gradients, per parameter.

    model: an :class:`mlp.MLP`; X: (N, D); y: targets as its output expects. The check runs in
    training mode with every dropout mask held fixed (``model.frozen_dropout()``), so that all
    the evaluations see the same function; batch norm uses the batch's statistics. Use float64
    models: in float32 the centred difference itself is only good to about 1e-3.

    An entry whose two gradients differ by less than the centred difference's own rounding
    error, ``10 eps max(1, |loss|) / h``, counts as exact: otherwise a gradient that is truly
    zero (the bias of an affine layer followed by batch norm) would show that noise divided by
    ``rel_error``'s floor of 1e-8. Returns ``{name: error}`` in ``params`` order.
    """
    with model.frozen_dropout():
        loss, grads = model.loss(X, y, reg=reg)
        noise = 10 * np.finfo(model.dtype).eps * max(1.0, abs(loss)) / h

        def f(_: np.ndarray) -> float:
            return model.loss(X, y, reg=reg)[0]

        errors = {}
        for name, p in model.params.items():
            numeric = eval_numerical_gradient(f, p, verbose=False, h=h)
            analytic = np.asarray(grads[name], dtype=np.float64)
            diff = np.abs(numeric - analytic)
            rel = diff / np.maximum(1e-8, np.abs(numeric) + np.abs(analytic))
            errors[name] = float(np.max(np.where(diff <= noise, 0.0, rel)))
        return errors
