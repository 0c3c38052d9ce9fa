"""Norm penalties on the weights, each with its penalty, its (sub)gradient and its proximal step.

Two conventions meet here; keep them apart:

- ``L2(lam)`` penalises ``lam * ||W||^2`` (Problem 3's objective), gradient ``2 * lam * W``;
- the problem set's ``reg`` argument of ``loss``/``train`` penalises ``0.5 * reg * ||W||^2``,
  gradient ``reg * W``. So ``reg=r`` is the same objective as ``L2(r / 2)``.

By default only weight matrices are penalised, never biases (``include_biases=True`` changes that).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_nonnegative


class Regularizer:
    """Base class: ``penalty(W) -> float``, ``grad(W) -> (same shape as W)`` and
    ``prox(W, step)``, the proximal map of ``step * penalty`` applied to W in place."""

    include_biases: bool = False

    def penalty(self, W: np.ndarray) -> float:
        raise NotImplementedError

    def grad(self, W: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        """Default: an explicit gradient step (exact for no penalty at all)."""
        W -= step * self.grad(W)
        return W

    def applies_to(self, name: str) -> bool:
        """Whether the parameter called ``name`` (``W1``, ``b1``, ...) is penalised."""
        return name.startswith("W") or (self.include_biases and name.startswith("b"))

    def total_penalty(self, params: dict[str, np.ndarray]) -> float:
        """Sum of the penalty over the penalised parameters."""
        return sum(self.penalty(p) for name, p in params.items() if self.applies_to(name))

    def add_grads(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Add the penalty's gradient to ``grads`` in place."""
        for name, p in params.items():
            if self.applies_to(name):
                grads[name] += self.grad(p)


class L2(Regularizer):
    """``lam * ||W||^2``; gradient ``2 lam W``; one SGD step is weight decay:
    ``W <- (1 - 2 eta lam) W - eta g``."""

    def __init__(self, lam: float, include_biases: bool = False) -> None:
        self.lam = check_nonnegative("lam", lam)
        self.include_biases = include_biases

    def penalty(self, W: np.ndarray) -> float:
        return self.lam * float(np.vdot(W, W))

    def grad(self, W: np.ndarray) -> np.ndarray:
        return (2 * self.lam) * W

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        # argmin_V ||V - W||^2 / (2 step) + lam ||V||^2 = W / (1 + 2 step lam)
        W /= 1 + 2 * step * self.lam
        return W

    def __repr__(self) -> str:
        return f"L2({self.lam:g})"


class L1(Regularizer):
    """``lam * ||W||_1``; subgradient ``lam * sign(W)`` (0 at 0); its proximal map is
    soft-thresholding, which sets small weights to exactly zero."""

    def __init__(self, lam: float, include_biases: bool = False) -> None:
        self.lam = check_nonnegative("lam", lam)
        self.include_biases = include_biases

    def penalty(self, W: np.ndarray) -> float:
        return self.lam * float(np.abs(W).sum())

    def grad(self, W: np.ndarray) -> np.ndarray:
        return self.lam * np.sign(W)

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        return soft_threshold(W, step * self.lam)

    def __repr__(self) -> str:
        return f"L1({self.lam:g})"


class ElasticNet(Regularizer):
    """``l1 * ||W||_1 + l2 * ||W||^2``."""

    def __init__(self, l1: float, l2: float, include_biases: bool = False) -> None:
        self.l1 = check_nonnegative("l1", l1)
        self.l2 = check_nonnegative("l2", l2)
        self.include_biases = include_biases

    def penalty(self, W: np.ndarray) -> float:
        return self.l1 * float(np.abs(W).sum()) + self.l2 * float(np.vdot(W, W))

    def grad(self, W: np.ndarray) -> np.ndarray:
        return self.l1 * np.sign(W) + (2 * self.l2) * W

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        soft_threshold(W, step * self.l1)
        W /= 1 + 2 * step * self.l2
        return W

    def __repr__(self) -> str:
        return f"ElasticNet(l1={self.l1:g}, l2={self.l2:g})"


def soft_threshold(W: np.ndarray, threshold: float) -> np.ndarray:
    """``sign(W) * max(|W| - threshold, 0)``, in place. W: any shape."""
    shrunk = np.abs(W)
    shrunk -= threshold
    np.maximum(shrunk, 0, out=shrunk)
    np.copysign(shrunk, W, out=W)
    return W
