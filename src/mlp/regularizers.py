"""Norm penalties on the weights, each with its penalty, its (sub)gradient and its proximal step.

Use them with ``MLP.loss``, ``MLP.train``/``TwoLayerMLP.train`` and ``mlp.train``::

    from mlp.regularizers import L1, L2, ElasticNet
    loss, grads = net.loss(X, y, regularizer=L2(1e-4))
    net.train(X, y, reg=0.0, regularizer=L1(1e-4), proximal=True)  # exact zeros

Two conventions meet here; keep them apart:

========================  ===============================  ==========================
what you write            penalty added to the loss        gradient added
========================  ===============================  ==========================
``L2(lam)``               ``lam * ||W||^2``                ``2 * lam * W``
``reg=r`` (problem set)   ``0.5 * r * ||W||^2``            ``r * W``
``L1(lam)``               ``lam * ||W||_1``                ``lam * sign(W)``
``ElasticNet(l1, l2)``    ``l1 ||W||_1 + l2 ||W||^2``      ``l1 sign(W) + 2 l2 W``
========================  ===============================  ==========================

``L2(lam)`` is Problem 3's objective ``L(theta) + lam ||theta||^2``; the problem set's ``reg``
argument of ``loss``/``train`` keeps CS231n's ``0.5 * reg * ||W||^2``. So ``reg=r`` is the same
objective as ``L2(r / 2)``. The penalties are summed over every penalised matrix and added to the
*mean* loss of the batch, so ``lam`` does not scale with the batch size.

By default only the weight matrices (``W1``, ``W2``, ...) are penalised, never the biases:
a bias shifts a unit's threshold and does not make the model more complex, and pulling it to
zero only hurts the fit. ``include_biases=True`` penalises them too.

See docs/regularization.md for the update rules these give and the experiment on MNIST.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from ._validation import check_nonnegative


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


class Regularizer:
    """A penalty ``Omega(W)`` on each penalised parameter, summed over them.

    Subclasses define ``penalty(W) -> float`` and ``grad(W) -> array shaped like W``, and
    preferably ``prox(W, step)``, the proximal map of ``step * Omega`` applied to W in place.
    W may be any float array; results keep its dtype.
    """

    include_biases: bool = False

    #: Whether Omega is a sum over entries, so that the penalty of several parameters is the
    #: penalty of their entries in one flat array (the training loop then takes it in one call).
    separable = False

    def decay(self) -> float:
        """The weight decay in one gradient step of size lr: its squared-norm part makes it
        ``W <- (1 - lr * decay) W - ...`` (0 for penalties without one)."""
        return 0.0

    def penalty(self, W: np.ndarray) -> float:
        """Omega(W) for one parameter array W (any shape)."""
        raise NotImplementedError

    def grad(self, W: np.ndarray) -> np.ndarray:
        """dOmega/dW (a subgradient where Omega has a kink), a new array shaped like W."""
        raise NotImplementedError

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        """The proximal map ``argmin_V ||V - W||^2 / (2 step) + Omega(V)``, written into W.

        This fallback takes an explicit gradient step ``W - step * grad(W)`` instead, which is
        what plain SGD does; subclasses with a closed-form map override it.
        """
        W -= step * self.grad(W)
        return W

    def applies_to(self, name: str) -> bool:
        """Whether the parameter called ``name`` is penalised: the weights ``W1``, ``W2``, ...,
        and with ``include_biases`` the biases ``b1``, ``b2``, ... (never batch norm's
        ``gamma``/``beta``)."""
        kind = _kind(name)
        return kind == "weight" or (self.include_biases and kind == "bias")

    def total_penalty(self, params) -> float:
        """Sum of Omega over the penalised entries of ``params`` (a network's ``params``)."""
        return self.apply(params)

    def grad_into(self, W: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """``grad(W)``, written into ``out`` where the subclass can (a buffer shaped like W)."""
        return self.grad(W)

    def add_grads(self, params, grads: dict[str, np.ndarray],
                  scratch: dict[str, np.ndarray] | None = None) -> None:
        """Add dOmega/dp to ``grads[name]`` in place, for each penalised parameter ``name``."""
        self.apply(params, grads, scratch, value=False)

    def apply(self, params, grads: dict[str, np.ndarray] | None = None,
              scratch: dict[str, np.ndarray] | None = None, value: bool = True) -> float:
        """In one pass over ``params``: the total penalty (if ``value``), and its gradient added
        to ``grads`` in place (if given). ``scratch``: buffers shaped like the parameters,
        reused for the penalty's gradient instead of allocating one per call."""
        total = 0.0
        for name, p in params.items():
            if not self.applies_to(name):
                continue
            if value:
                total += self.penalty(p)
            if grads is not None:
                out = None
                if scratch is not None:
                    out = scratch.get(name)
                    if out is None:
                        out = scratch[name] = np.empty_like(p)
                grads[name] += self.grad_into(p, out)
        return float(total)


class L2(Regularizer):
    """``lam * ||W||^2`` (sum of squares, no factor 1/2); gradient ``2 lam W``.

    One SGD step is weight decay: ``W <- W - eta (g + 2 lam W) = (1 - 2 eta lam) W - eta g``.
    The proximal step is the implicit one, ``W <- W / (1 + 2 eta lam)``.

    lam: float >= 0. include_biases: also penalise ``b1``, ``b2``, ...
    """

    separable = True

    def __init__(self, lam: float, include_biases: bool = False) -> None:
        self.lam = check_nonnegative("lam", lam)
        self.include_biases = _check_flag("include_biases", include_biases)

    def decay(self) -> float:
        return 2 * self.lam

    def penalty(self, W: np.ndarray) -> float:
        return self.lam * float(np.vdot(W, W))

    def grad(self, W: np.ndarray) -> np.ndarray:
        return self.grad_into(W, None)

    def grad_into(self, W: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        return np.multiply(W, 2 * self.lam, out=out)

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        # argmin_V ||V - W||^2 / (2 step) + lam ||V||^2: (V - W) / step + 2 lam V = 0.
        W /= 1 + 2 * step * self.lam
        return W

    def __repr__(self) -> str:
        return f"L2({self.lam:g})"


def problem_set_l2(reg: float) -> L2:
    """The problem set's ``reg``: ``0.5 * reg * ||W||^2`` is ``L2(reg / 2)``."""
    return L2(check_nonnegative("reg", reg) / 2)


def penalties(reg: float, regularizer: Regularizer | None = None) -> list[Regularizer]:
    """The penalties of an objective with the problem set's ``reg`` and an optional
    ``regularizer``, as one list that every caller (``MLP.loss``, ``train``) sums the same way."""
    if regularizer is not None and not isinstance(regularizer, Regularizer):
        raise TypeError(f"regularizer must be an mlp.regularizers.Regularizer; "
                        f"got {type(regularizer).__name__}")
    terms: list[Regularizer] = [problem_set_l2(reg)] if reg else []
    return terms + ([regularizer] if regularizer is not None else [])


class L1(Regularizer):
    """``lam * ||W||_1`` (sum of absolute values); subgradient ``lam * sign(W)``, 0 at W = 0.

    One subgradient step is ``W <- W - eta (g + lam sign(W))``: every weight moves by the same
    ``eta lam`` towards zero, and jumps over it rather than stopping there. The proximal step,
    soft-thresholding by ``eta lam``, stops at zero: it sets every weight within ``eta lam`` of
    zero to exactly 0.

    lam: float >= 0. include_biases: also penalise ``b1``, ``b2``, ...
    """

    separable = True

    def __init__(self, lam: float, include_biases: bool = False) -> None:
        self.lam = check_nonnegative("lam", lam)
        self.include_biases = _check_flag("include_biases", include_biases)

    def penalty(self, W: np.ndarray) -> float:
        return self.lam * float(np.abs(W).sum())

    def grad(self, W: np.ndarray) -> np.ndarray:
        return self.lam * np.sign(W)

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        return soft_threshold(W, step * self.lam)

    def __repr__(self) -> str:
        return f"L1({self.lam:g})"


class ElasticNet(Regularizer):
    """``l1 * ||W||_1 + l2 * ||W||^2``: L1's zeros with L2's shrinkage of the rest.

    Gradient ``l1 sign(W) + 2 l2 W``; proximal step ``soft_threshold(W, eta l1) / (1 + 2 eta l2)``.
    l1, l2: floats >= 0. include_biases: also penalise ``b1``, ``b2``, ...
    """

    separable = True

    def __init__(self, l1: float, l2: float, include_biases: bool = False) -> None:
        self.l1 = check_nonnegative("l1", l1)
        self.l2 = check_nonnegative("l2", l2)
        self.include_biases = _check_flag("include_biases", include_biases)

    def decay(self) -> float:
        return 2 * self.l2

    def penalty(self, W: np.ndarray) -> float:
        return self.l1 * float(np.abs(W).sum()) + self.l2 * float(np.vdot(W, W))

    def grad(self, W: np.ndarray) -> np.ndarray:
        return self.l1 * np.sign(W) + (2 * self.l2) * W

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        # Setting the subgradient of ||V - W||^2 / (2 step) + l1 |V| + l2 V^2 to zero gives
        # V (1 + 2 step l2) = W - step l1 sign(V): shrink by step l1, then scale.
        soft_threshold(W, step * self.l1)
        W /= 1 + 2 * step * self.l2
        return W

    def __repr__(self) -> str:
        return f"ElasticNet(l1={self.l1:g}, l2={self.l2:g})"


_WEIGHT = re.compile(r"W\d+")
_BIAS = re.compile(r"b\d+")


def kind(name: str) -> str:
    """``weight`` (W1, W2, ...), ``bias`` (b1, ...) or ``other`` (batch norm's gamma, beta)."""
    return _kind(name)


@functools.lru_cache(maxsize=1024)
def _kind(name: str) -> str:
    """``weight`` (W1, W2, ...), ``bias`` (b1, ...) or ``other``; cached, since training asks
    for every parameter at every step."""
    if _WEIGHT.fullmatch(name):
        return "weight"
    return "bias" if _BIAS.fullmatch(name) else "other"


def soft_threshold(W: np.ndarray, threshold: float) -> np.ndarray:
    """``sign(W) * max(|W| - threshold, 0)``, written into W and returned.

    W: float array, any shape; threshold: float >= 0. Entries with ``|W| <= threshold`` become
    exactly +0.0; the others move ``threshold`` towards zero.
    """
    threshold = check_nonnegative("threshold", threshold)
    shrunk = np.abs(W)
    shrunk -= threshold
    np.maximum(shrunk, 0, out=shrunk)
    np.copysign(shrunk, W, out=W)
    # copysign leaves -0.0 where a negative weight was zeroed; adding +0.0 makes it +0.0.
    W += 0.0
    return W
