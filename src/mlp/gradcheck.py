"""Numeric gradients by centred differences, and the relative error used to compare them with
the analytic ones (the problem set's ``eval_numerical_gradient`` and ``rel_error``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .layers import Activation


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
    for ix, plus, minus in _centred_pairs(f, x, h):
        grad[ix] = (plus - minus) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def _centred_pairs(f: Callable[[np.ndarray], float], x: np.ndarray, h: float):
    """Yield ``(index, f(x + h e), f(x - h e))`` for every entry of x, perturbed in place and
    restored exactly afterwards, whatever f raises (or a Ctrl-C)."""
    for ix in np.ndindex(x.shape):
        old = x[ix]
        try:
            x[ix] = old + h
            plus = f(x)
            x[ix] = old - h
            minus = f(x)
        finally:
            x[ix] = old
        yield ix, plus, minus


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; got {x.shape} and {y.shape}")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


class ParameterCheck(NamedTuple):
    """One parameter's gradient check: the largest relative error over its entries, and how
    many entries were left out because their step crossed a ReLU-like unit's kink."""

    error: float
    kinks: int


def _sides(model) -> list[np.ndarray]:
    """Which side of 0 every ReLU-like unit's input was on in the last forward pass."""
    return [layer.output > 0 for layer in model.layers
            if isinstance(layer, Activation) and layer.fn.kinked]


def gradient_check(
    model, X: np.ndarray, y: np.ndarray, reg: float = 0.0, h: float = 1e-5
) -> dict[str, ParameterCheck]:
    """Analytic against numeric gradients, per parameter, with the kinks accounted for.

    model: an :class:`mlp.MLP`; X: (N, D); y: targets as its output expects. The check runs in
    training mode with every dropout mask held fixed (``model.frozen_dropout()``), so that all
    the evaluations see the same function; batch norm uses the batch's statistics. Use float64
    models: in float32 the centred difference itself is only good to about 1e-3.

    - An entry whose two gradients differ by less than the centred difference's own rounding
      error, ``10 eps max(1, |loss|) / h``, counts as exact: otherwise a gradient that is truly
      zero (the bias of an affine layer followed by batch norm) would show that noise divided
      by ``rel_error``'s floor of 1e-8.
    - An entry whose +-h step moves some ReLU or leaky ReLU input across 0 is left out and
      counted in ``kinks``: the loss is not differentiable along that step, so the centred
      difference measures nothing there (it is not an error of the analytic gradient).
    """
    with model.frozen_dropout():
        loss, grads = model.loss(X, y, reg=reg)
        base = _sides(model)
        noise = 10 * np.finfo(model.dtype).eps * max(1.0, abs(loss)) / h
        crossed = [False]

        def f(_: np.ndarray) -> float:
            value = model.loss(X, y, reg=reg)[0]
            crossed[0] |= any((a != b).any() for a, b in zip(_sides(model), base, strict=True))
            return value

        return {name: _check_one(f, p, grads[name], h, noise, crossed)
                for name, p in model.params.items()}


def _check_one(f, p: np.ndarray, analytic: np.ndarray, h: float, noise: float,
               crossed: list[bool]) -> ParameterCheck:
    numeric = np.zeros(p.shape)
    kink = np.zeros(p.shape, dtype=bool)
    crossed[0] = False
    for ix, plus, minus in _centred_pairs(f, p, h):
        numeric[ix], kink[ix] = (plus - minus) / (2 * h), crossed[0]
        crossed[0] = False
    analytic = np.asarray(analytic, dtype=np.float64)
    diff = np.abs(numeric - analytic)
    rel = diff / np.maximum(1e-8, np.abs(numeric) + np.abs(analytic))
    rel = np.where((diff <= noise) | kink, 0.0, rel)
    return ParameterCheck(float(rel.max()) if rel.size else 0.0, int(kink.sum()))


def check_gradients(
    model, X: np.ndarray, y: np.ndarray, reg: float = 0.0, h: float = 1e-5
) -> dict[str, float]:
    """Max relative error between analytic and numeric gradients, per parameter:
    :func:`gradient_check`'s errors (see it for the rounding floor and the kinks), in
    ``params`` order."""
    return {name: r.error for name, r in gradient_check(model, X, y, reg, h).items()}
