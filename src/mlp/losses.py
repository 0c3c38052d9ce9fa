"""Output losses, each computed from the raw scores (logits) together with its gradient.

Working from the logits rather than from probabilities is what keeps them finite: the
log-sum-exp is shifted by the row maximum, and the binary cross-entropy uses
``max(z, 0) - z y + log(1 + exp(-|z|))``, so a logit of +-1000 gives a finite loss and gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .layers import expit


def _log_tiny(dtype: np.dtype) -> float:
    """log of the smallest normal number of a float dtype."""
    return float(np.log(np.finfo(dtype).tiny))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax. scores: (N, C) -> probabilities (N, C)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def softmax_cross_entropy(
    scores: np.ndarray, y: np.ndarray, out: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Multiclass cross-entropy of the softmax, averaged over the batch.

    scores: (N, C) logits; y: (N,) int labels in [0, C); out: optional (N, C) array for the
    gradient (may be ``scores`` itself).
    Returns ``(loss, dscores)`` with dscores (N, C) = (softmax(scores) - onehot(y)) / N.
    """
    n = scores.shape[0]
    rows = np.arange(n)
    shifted = np.subtract(scores, scores.max(axis=1, keepdims=True), out=out)
    picked = shifted[rows, y]
    # Probabilities near the smallest normal float would turn subnormal once divided by the
    # row sum and N, and subnormal inputs slow the next matrix products many times over.
    # Raising them to e^20 times that bound changes each by less than 1e-29 (float32).
    np.maximum(shifted, _log_tiny(shifted.dtype) + 20, out=shifted)
    exp = np.exp(shifted, out=shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    # Per-example differences first: two large sums subtracted would cancel digits.
    loss = float((np.log(sum_exp[:, 0]) - picked).sum()) / n
    exp /= sum_exp
    exp[rows, y] -= 1
    exp /= n
    return loss, exp


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, without overflow warnings. z: any shape."""
    return expit(np.array(z, dtype=np.result_type(z, np.float32), copy=True))


def binary_cross_entropy_with_logits(
    z: np.ndarray, y: np.ndarray, out: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of ``sigmoid(z)`` against 0/1 labels, averaged over the batch.

    z: (N, 1) logits; y: (N,) labels in {0, 1}; out: optional (N, 1) array for the gradient.
    Returns ``(loss, dz)`` with dz (N, 1) = (sigmoid(z) - y) / N.
    """
    n = z.shape[0]
    t = y.reshape(z.shape).astype(z.dtype)
    # -y log s(z) - (1 - y) log(1 - s(z)) rewritten so that no exp can overflow.
    per_example = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    loss = float(np.mean(per_example))
    if out is None:
        out = np.empty_like(z)
    np.copyto(out, z)
    dz = expit(out)
    dz -= t
    dz /= n
    return loss, dz


class Loss(NamedTuple):
    """An output loss: ``fn(scores, y) -> (loss, dscores)`` and the probabilities it models."""

    fn: Callable[..., tuple[float, np.ndarray]]
    probabilities: Callable[[np.ndarray], np.ndarray]


LOSSES: dict[str, Loss] = {
    "softmax": Loss(softmax_cross_entropy, softmax),
    "sigmoid": Loss(binary_cross_entropy_with_logits, sigmoid),
}
