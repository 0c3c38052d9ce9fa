"""Layers: the affine map and the elementwise activations, forward and backward side by side.

Every layer works on row-major batches: a batch of N examples is an array of shape (N, D), one
example per row. (The problem set's derivations use column vectors, ``a = b + W h``; with rows the
same map reads ``a = h @ W + b`` and ``W`` is stored transposed, shape (D_in, D_out).)

The activations' backward rules are written in terms of the activation's *output* ``h``, which is
what the forward pass caches: for all of them the derivative can be recovered from ``h`` alone, so
the pre-activation ``a`` never has to be kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

LEAKY_RELU_SLOPE = 0.01


def linear_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Affine map ``x @ W + b``.

    x: (N, D) inputs; W: (D, M) weights; b: (M,) biases; out: optional (N, M) array to write
    into (training reuses one per layer instead of allocating every batch). Returns (N, M).
    """
    out = np.matmul(x, W, out=out)
    out += b
    return out


def linear_backward(
    dout: np.ndarray,
    x: np.ndarray,
    W: np.ndarray,
    need_dx: bool = True,
    out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of the affine map.

    dout: (N, M) upstream gradient; x: (N, D) the forward input; W: (D, M); out: optional
    preallocated ``(dx, dW, db)`` to write into.
    Returns ``(dx (N, D) or None, dW (D, M), db (M,))``; ``dx`` is skipped for the first layer,
    whose input is the data.
    """
    dx_out, dW_out, db_out = out if out is not None else (None, None, None)
    dW = np.matmul(x.T, dout, out=dW_out)
    db = np.sum(dout, axis=0, out=db_out)
    dx = np.matmul(dout, W.T, out=dx_out) if need_dx else None
    return dx, dW, db


def identity_forward(a: np.ndarray) -> np.ndarray:
    """f(a) = a. a: (N, M) -> (N, M)."""
    return a


def identity_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1."""
    return dh


def relu_forward(a: np.ndarray) -> np.ndarray:
    """f(a) = max(a, 0). a: (N, M) -> (N, M)."""
    return np.maximum(a, 0, out=a)


def relu_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1 where a > 0 (that is, where h > 0), else 0."""
    dh *= h > 0
    return dh


def leaky_relu_forward(a: np.ndarray) -> np.ndarray:
    """f(a) = a for a > 0, else ``LEAKY_RELU_SLOPE * a``. a: (N, M) -> (N, M)."""
    return np.multiply(a, np.where(a > 0, 1.0, LEAKY_RELU_SLOPE).astype(a.dtype), out=a)


def leaky_relu_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1 where h > 0, else the slope (h and a share their sign)."""
    dh *= np.where(h > 0, 1.0, LEAKY_RELU_SLOPE).astype(dh.dtype)
    return dh


def expit(a: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-a)), in place. a: any shape.

    For very negative a, exp(-a) overflows to inf and 1 / inf = 0, which is the right limit,
    so the overflow warning is silenced rather than avoided.
    """
    with np.errstate(over="ignore"):
        np.negative(a, out=a)
        np.exp(a, out=a)
    a += 1
    return np.reciprocal(a, out=a)


def sigmoid_forward(a: np.ndarray) -> np.ndarray:
    """f(a) = 1 / (1 + exp(-a)) for a hidden layer. a: (N, M) -> (N, M), computed in place.

    Outputs are kept above e^20 times the smallest normal float (about 1e-29 in float32,
    1e-299 in float64): a subnormal h would slow the next layer's matrix products many times
    over, and the change is far below the precision of anything computed from h.
    """
    np.maximum(a, float(np.log(np.finfo(a.dtype).tiny)) + 20, out=a)
    return expit(a)


def sigmoid_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = f(a) (1 - f(a)) = h (1 - h)."""
    dh *= h
    dh *= 1 - h
    return dh


def tanh_forward(a: np.ndarray) -> np.ndarray:
    """f(a) = tanh(a). a: (N, M) -> (N, M), computed in place."""
    return np.tanh(a, out=a)


def tanh_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1 - tanh(a)^2 = 1 - h^2."""
    dh *= 1 - h * h
    return dh


class Activation(NamedTuple):
    """An elementwise activation: ``forward(a) -> h`` (may overwrite ``a``) and
    ``backward(dh, h) -> da`` (may overwrite ``dh``)."""

    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(identity_forward, identity_backward),
    "relu": Activation(relu_forward, relu_backward),
    "leaky_relu": Activation(leaky_relu_forward, leaky_relu_backward),
    "sigmoid": Activation(sigmoid_forward, sigmoid_backward),
    "tanh": Activation(tanh_forward, tanh_backward),
}

#: Activations a hidden layer may use (the identity would collapse the network to one layer).
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")
