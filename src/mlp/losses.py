"""Output losses, each computed from the raw scores (logits) together with its gradient.

Working from the logits rather than from probabilities is what keeps them finite: the
log-sum-exp is shifted by the row maximum, and the binary cross-entropy uses
``max(z, 0) - z y + log(1 + exp(-|z|))``, so a logit of +-1000 gives a finite loss and gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .layers import sigmoid_forward


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax. scores: (N, C) -> probabilities (N, C)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Multiclass cross-entropy of the softmax, averaged over the batch.

    scores: (N, C) logits; y: (N,) int labels in [0, C).
    Returns ``(loss, dscores)`` with dscores (N, C) = (softmax(scores) - onehot(y)) / N.
    """
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1)
    rows = np.arange(n)
    loss = float(np.mean(np.log(sum_exp) - shifted[rows, y]))
    exp /= sum_exp[:, None]
    exp[rows, y] -= 1
    exp /= n
    return loss, exp


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, without overflow warnings. z: any shape."""
    return sigmoid_forward(np.array(z, dtype=np.result_type(z, np.float32), copy=True))


def binary_cross_entropy_with_logits(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of ``sigmoid(z)`` against 0/1 labels, averaged over the batch.

    z: (N, 1) logits; y: (N,) labels in {0, 1}.
    Returns ``(loss, dz)`` with dz (N, 1) = (sigmoid(z) - y) / N.
    """
    n = z.shape[0]
    t = y.reshape(z.shape).astype(z.dtype)
    # -y log s(z) - (1 - y) log(1 - s(z)) rewritten so that no exp can overflow.
    per_example = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    loss = float(np.mean(per_example))
    dz = sigmoid(z)
    dz -= t
    dz /= n
    return loss, dz


class Loss(NamedTuple):
    """An output loss: ``fn(scores, y) -> (loss, dscores)`` and the probabilities it models."""

    fn: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]
    probabilities: Callable[[np.ndarray], np.ndarray]


LOSSES: dict[str, Loss] = {
    "softmax": Loss(softmax_cross_entropy, softmax),
    "sigmoid": Loss(binary_cross_entropy_with_logits, sigmoid),
}
