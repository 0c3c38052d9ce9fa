"""Layers: each one's forward and backward side by side, its parameters and their gradients.

Every layer works on row-major batches: a batch of N examples is an array of shape (N, D), one
example per row. (The problem set's derivations use column vectors, ``a = b + W h``; with rows the
same map reads ``a = h @ W + b`` and ``W`` is stored transposed, shape (D_in, D_out).)

A network is a list of layers (see :class:`mlp.MLP`), each one computing
``forward(x, training, scratch) -> out`` and ``backward(dout, need_dx, scratch) -> dx`` and
keeping its trained arrays in ``params`` and their gradients in ``grads``. What a layer must do,
and what training does with those dicts, is the layer contract: see :class:`Layer`. A layer
written the usual way (CS231n's: ``params`` ``W`` and ``b``, fresh gradient arrays from
``backward``) keeps it; the library's layers also write into reused buffers, so that an
iteration allocates nothing layer-sized.

The activations' backward rules are written in terms of the activation's *output* ``h``: for all
of them the derivative can be recovered from ``h`` alone, so the pre-activation is never kept.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import initializers as _init
from ._validation import is_sparse

LEAKY_RELU_SLOPE = 0.01
#: sigmoid outputs below this or above 1 minus it, and tanh outputs beyond 1 minus it in size,
#: pass (almost) no gradient: their unit is saturated.
SATURATION = 0.01

Scratch = dict[str, np.ndarray] | None


def buffer(scratch: Scratch, key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array: ``scratch[key]`` reused if it has this shape and dtype, a new one
    (kept in ``scratch`` if given) otherwise."""
    if scratch is None:
        return np.empty(shape, dtype)
    buf = scratch.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = scratch[key] = np.empty(shape, dtype)
    return buf


# -- the affine map ---------------------------------------------------------------------------


def _sparse_product(x, W: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``x @ W`` for a sparse x, into ``out`` if given: SciPy multiplies only the stored
    entries, and its result is dense."""
    product = np.asarray(x @ W)
    if out is None:
        return product
    np.copyto(out, product)
    return out


def linear_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Affine map ``x @ W + b``.

    x: (N, D) inputs, dense or a SciPy CSR/CSC matrix (the product never densifies it);
    W: (D, M) weights; b: (M,) biases; out: optional (N, M) array to write into.
    Returns (N, M), dense.
    """
    out = _sparse_product(x, W, out) if is_sparse(x) else np.matmul(x, W, out=out)
    out += b
    return out


def linear_backward(
    dout: np.ndarray,
    x: np.ndarray,
    W: np.ndarray,
    need_dx: bool = True,
    out: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None] | None = None,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of the affine map.

    dout: (N, M) upstream gradient; x: (N, D) the forward input; W: (D, M); out: optional
    preallocated ``(dx, dW, db)`` to write into.
    Returns ``(dx (N, D) or None, dW (D, M), db (M,))``; ``dx`` is skipped when not needed (the
    first layer's input is the data).
    """
    dx_out, dW_out, db_out = out if out is not None else (None, None, None)
    if is_sparse(x):
        dW = _sparse_product(x.T, dout, dW_out)
    else:
        dW = np.matmul(x.T, dout, out=dW_out)
    db = np.sum(dout, axis=0, out=db_out)
    dx = np.matmul(dout, W.T, out=dx_out) if need_dx else None
    return dx, dW, db


# -- elementwise activations: f(a) -> h, and da = dh * f'(a) read from h ----------------------


def identity_forward(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) = a. a: (N, M) -> (N, M)."""
    if out is None:
        return a.copy()
    np.copyto(out, a)
    return out


def identity_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1."""
    return dh


def relu_forward(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) = max(a, 0). a: (N, M) -> (N, M), into ``out`` (which may be ``a``)."""
    return np.maximum(a, 0, out=out)


def relu_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1 where a > 0 (that is, where h > 0), else 0."""
    dh *= h > 0
    return dh


def leaky_relu_forward(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) = a for a > 0, else ``LEAKY_RELU_SLOPE * a``, which is ``max(a, slope * a)``."""
    out = np.multiply(a, LEAKY_RELU_SLOPE, out=out)
    return np.maximum(a, out, out=out)


def leaky_relu_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1 where h > 0, else the slope (h and a share their sign)."""
    dh *= np.where(h > 0, 1.0, LEAKY_RELU_SLOPE).astype(dh.dtype)
    return dh


@functools.lru_cache(maxsize=8)
def log_tiny(dtype: np.dtype) -> float:
    """log of the smallest normal number of a float dtype: the floor below which values would
    turn subnormal (cached: np.finfo is slow, and every training step asks)."""
    return float(np.log(np.finfo(dtype).tiny))


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


def sigmoid_forward(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) = 1 / (1 + exp(-a)) for a hidden layer. a: (N, M) -> (N, M).

    Outputs are kept above e^20 times the smallest normal float (about 1e-29 in float32,
    1e-299 in float64): a subnormal h would slow the next layer's matrix products many times
    over, and the change is far below the precision of anything computed from h.
    """
    out = np.maximum(a, log_tiny(a.dtype) + 20, out=out)
    return expit(out)


def sigmoid_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = f(a) (1 - f(a)) = h (1 - h)."""
    dh *= h
    dh *= 1 - h
    return dh


def tanh_forward(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """f(a) = tanh(a). a: (N, M) -> (N, M)."""
    return np.tanh(a, out=out)


def tanh_backward(dh: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a) = 1 - tanh(a)^2 = 1 - h^2."""
    dh *= 1 - h * h
    return dh


def relu_flat(h: np.ndarray) -> np.ndarray:
    """Where ReLU passes no gradient: its dead side, h <= 0."""
    return h <= 0


def sigmoid_flat(h: np.ndarray) -> np.ndarray:
    """Where the sigmoid is saturated: outputs within ``SATURATION`` of 0 or 1."""
    return (h < SATURATION) | (h > 1 - SATURATION)


def tanh_flat(h: np.ndarray) -> np.ndarray:
    """Where tanh is saturated: outputs within ``SATURATION`` of -1 or 1."""
    return np.abs(h) > 1 - SATURATION


class ActivationFunction(NamedTuple):
    """An elementwise activation: ``forward(a, out=None) -> h``, ``backward(dh, h) -> da`` (may
    overwrite ``dh``), and ``flat(h)``: where f'(a) is (nearly) zero, or None if it never is.
    ``saturating``: whether ``flat`` marks saturated outputs (sigmoid, tanh) rather than a
    dead side (ReLU). ``kinked``: f' jumps at a = 0, that is where h changes sign (ReLU and
    leaky ReLU), so a finite difference whose step crosses 0 is meaningless there."""

    forward: Callable[..., np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    flat: Callable[[np.ndarray], np.ndarray] | None = None
    saturating: bool = False
    kinked: bool = False


ACTIVATIONS: dict[str, ActivationFunction] = {
    "identity": ActivationFunction(identity_forward, identity_backward),
    "relu": ActivationFunction(relu_forward, relu_backward, relu_flat, kinked=True),
    # Leaky ReLU's slope is 0.01 everywhere below zero, never zero: it has no flat region.
    "leaky_relu": ActivationFunction(leaky_relu_forward, leaky_relu_backward, kinked=True),
    "sigmoid": ActivationFunction(sigmoid_forward, sigmoid_backward, sigmoid_flat,
                                  saturating=True),
    "tanh": ActivationFunction(tanh_forward, tanh_backward, tanh_flat, saturating=True),
}

#: The activations the command, the tuner and the playground offer for hidden layers. ``MLP(...)``
#: also takes ``identity`` (scikit-learn's), which makes the hidden layers one affine map.
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")


# -- layer objects ------------------------------------------------------------------------------


class Layer:
    """Base class, and the contract every layer of a network keeps.

    Arrays are batches of rows: ``x`` (N, D_in) in, ``out`` (N, D_out) out.

    ``params``: dict of the layer's trained float arrays, by local name (a name that does not
        end in a digit).
        - A ``W``, the weight matrix (D_in, D_out), makes the layer an *affine* layer: the
          network numbers the affine layers 1, 2, ... in order and names their parameters
          ``W{k}``, ``b{k}``; any other key gets the number of the last affine layer before it
          (1 before the first): ``gamma1`` for a batch norm after the first. So no two layers
          between one affine layer and the next may use the same key.
        - Names matter to penalties: ``reg`` and the regularizers reach the ``W{k}`` (and the
          ``b{k}`` with ``include_biases``), never other keys.
        - Training replaces each entry with a view into one flat array of all the parameters,
          and re-points the entries at new views after every step. So read ``self.params[key]``
          in every forward and backward; an attribute such as ``self.W`` holding the same
          array would keep the values from before training (refused at the first step). A layer
          may assign a new array of the same shape and dtype to ``params[key]`` in its forward
          or backward: the step starts from that array's values (but the gradient check, which
          perturbs the entries in place, cannot follow it).
    ``grads``: after ``backward``, the gradient of the loss with respect to each parameter, a
        dict keyed and shaped like ``params``. Fresh arrays are fine (``self.grads["W"] =
        x.T @ dout``): training copies them into its flat gradient array. To save that copy,
        write them into ``buffer(scratch, "d" + key, shape, dtype)``: in training those scratch
        entries are the flat array's views.
    ``state``: arrays that are saved but not trained (batch norm's running statistics).

    ``forward(x, training, scratch) -> out``: keeps what ``backward`` needs; never writes into
        ``x`` (another layer may have kept it). ``training`` selects training-mode behaviour.
    ``backward(dout, need_dx, scratch) -> dx``: the gradients of the loss with respect to the
        last forward's input (N, D_in) (it may return None when ``need_dx`` is False: the input
        was the data), and fills ``grads``. It may overwrite ``dout`` (nobody else reads it).
    ``scratch``: a dict of buffers that training reuses for every batch (see :func:`buffer`), or
        None (``MLP.loss``, the gradient check): then return fresh arrays. Outputs written into
        scratch are overwritten by the next batch.
    ``width(width_in) -> width_out`` and ``input_width() -> int | None``: the widths, read from
        a 2-D ``W`` by default (else the width is unchanged and any input is taken). Override
        them in a layer that changes the width some other way.
    ``commit()``: called after each training step (batch norm updates its statistics there).
    ``config()``: a JSON-able description; model files hold the library's layers only.

    A training step: forward in training mode and backward on a batch; the penalties'
    gradients added; one optimiser update of the flat array of all parameters (weights first,
    then biases, then the rest); the entries of ``params`` pointed at the new values; then
    ``commit()``. A layer that breaks the rules on ``params``, ``grads`` or the widths is
    refused, before training or at its first step, with a message naming it.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False, scratch: Scratch = None) -> np.ndarray:
        """x: (N, D_in) -> (N, D_out). ``training`` selects training-mode behaviour."""
        raise NotImplementedError

    def backward(
        self, dout: np.ndarray, need_dx: bool = True, scratch: Scratch = None
    ) -> np.ndarray | None:
        """dout: (N, D_out) gradient of the loss with respect to the last forward's output.
        Returns dx (N, D_in) (or None if ``need_dx`` is False); fills ``grads``."""
        raise NotImplementedError

    def commit(self) -> None:
        """Called once a training step that used the last forward pass has been taken."""

    def input_width(self) -> int | None:
        """The number of features the layer takes, if its parameters fix it (D_in of a 2-D
        ``W``), else None: the network's input width is the first layer's that is not None."""
        W = self.params.get("W")
        return int(W.shape[0]) if isinstance(W, np.ndarray) and W.ndim == 2 else None

    def width(self, width_in: int) -> int:
        """The output width for an input of ``width_in`` features (D_out of a 2-D ``W``, else
        ``width_in``); raises ValueError if the layer cannot take that input."""
        fixed = self.input_width()
        if fixed is None:
            return width_in
        if width_in != fixed:
            raise ValueError(f"{type(self).__name__} layer takes {fixed} features; the layer "
                             f"before it gives {width_in}")
        return int(self.params["W"].shape[1])

    def config(self) -> dict[str, Any]:
        """A JSON-able description, enough to rebuild the layer around its arrays."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


def _draw_normal(rng: np.random.Generator | None, shape: tuple[int, int]) -> np.ndarray:
    """Standard normal draws from ``rng``, or from NumPy's global state if it is None."""
    return np.random.randn(*shape) if rng is None else rng.standard_normal(shape)


class Dense(Layer):
    """The affine map ``x @ W + b``: W (in_features, out_features), b (out_features,).

    Weights are drawn as ``std * randn`` if ``std`` is given (the problem set's rule), else with
    the scale of ``init`` (``he`` or ``xavier``, see :mod:`mlp.initializers`); biases start at zero.
    ``rng``: a NumPy Generator, or None for NumPy's global random state.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "he",
        std: float | None = None,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | type | str = np.float64,
    ) -> None:
        super().__init__()
        if std is None:
            std = _init.layer_std(init, in_features, out_features)
        W = (std * _draw_normal(rng, (in_features, out_features))).astype(dtype)
        self.params = {"W": W, "b": np.zeros(out_features, dtype=dtype)}

    @classmethod
    def from_arrays(cls, W: np.ndarray, b: np.ndarray) -> Dense:
        """A Dense layer computing with exactly these arrays (no copy): W (D, M), b (M,)."""
        layer = cls.__new__(cls)
        Layer.__init__(layer)
        layer.params = {"W": W, "b": b}
        return layer

    @property
    def in_features(self) -> int:
        return self.params["W"].shape[0]

    @property
    def out_features(self) -> int:
        return self.params["W"].shape[1]

    def forward(self, x: np.ndarray, training: bool = False, scratch: Scratch = None) -> np.ndarray:
        W = self.params["W"]
        self._x = x
        out = buffer(scratch, "out", (x.shape[0], W.shape[1]), W.dtype)
        return linear_forward(x, W, self.params["b"], out=out)

    def backward(
        self, dout: np.ndarray, need_dx: bool = True, scratch: Scratch = None
    ) -> np.ndarray | None:
        W, x = self.params["W"], self._x
        dx = buffer(scratch, "dx", x.shape, W.dtype) if need_dx else None
        dW = buffer(scratch, "dW", W.shape, W.dtype)
        db = buffer(scratch, "db", self.params["b"].shape, W.dtype)
        dx, self.grads["W"], self.grads["b"] = linear_backward(
            dout, x, W, need_dx, out=(dx, dW, db))
        return dx

    def config(self) -> dict[str, Any]:
        return {"type": "Dense", "in_features": self.in_features,
                "out_features": self.out_features}


class Activation(Layer):
    """An elementwise activation, by name: one of ``ACTIVATIONS`` (relu, sigmoid, tanh,
    leaky_relu, identity). Keeps its output h for the backward pass."""

    def __init__(self, name: str) -> None:
        super().__init__()
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}; "
                             f"got {name!r}")
        self.name = name
        self.fn = ACTIVATIONS[name]

    def forward(self, x: np.ndarray, training: bool = False, scratch: Scratch = None) -> np.ndarray:
        self._h = self.fn.forward(x, buffer(scratch, "out", x.shape, x.dtype))
        return self._h

    def backward(
        self, dout: np.ndarray, need_dx: bool = True, scratch: Scratch = None
    ) -> np.ndarray | None:
        return self.fn.backward(dout, self._h) if need_dx else None

    @property
    def output(self) -> np.ndarray:
        """h of the last forward pass (N, M)."""
        return self._h

    def config(self) -> dict[str, Any]:
        return {"type": "Activation", "name": self.name}

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def check_rate(p: object) -> float:
    """A dropout rate: a number in [0, 1)."""
    if isinstance(p, bool) or not isinstance(p, int | float | np.floating):
        raise TypeError(f"dropout rate must be a number in [0, 1); got {p!r}")
    if not 0 <= p < 1:
        raise ValueError(f"dropout rate must be in [0, 1); got {p!r}")
    return float(p)


class Dropout(Layer):
    """Inverted dropout: in training, each unit is kept with probability ``1 - p`` and scaled by
    ``1 / (1 - p)``, so that its expected value is unchanged; at inference, the identity.

    Masks are drawn from ``rng`` (a network sets it to its own generator; None means NumPy's
    global random state). While ``frozen`` is True, the last mask is reused for batches of the
    same shape: a gradient check needs the same mask in every perturbed evaluation
    (:meth:`mlp.MLP.frozen_dropout`).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = check_rate(p)
        self.rng: np.random.Generator | None = None
        self.frozen = False
        self._mask: np.ndarray | None = None

    def _draw_mask(self, shape: tuple[int, ...], dtype: np.dtype, scratch: Scratch) -> np.ndarray:
        mask = buffer(scratch, "mask", shape, dtype)
        if self.rng is None:
            np.greater_equal(np.random.random_sample(shape), self.p, out=mask, casting="unsafe")
        else:
            # 32 random bits per unit straight from the generator, kept where they reach p * 2^32:
            # the same Bernoulli(1 - p) to within 2^-32, three times faster than rng.random.
            size = math.prod(shape)
            bits = self.rng.bit_generator.random_raw((size + 1) // 2).view(np.uint32)
            threshold = np.uint32(min(round(self.p * 2.0**32), 2**32 - 1))
            np.greater_equal(bits[:size].reshape(shape), threshold, out=mask, casting="unsafe")
        mask *= 1 / (1 - self.p)
        return mask

    def forward(self, x: np.ndarray, training: bool = False, scratch: Scratch = None) -> np.ndarray:
        if not training or self.p == 0:
            if not self.frozen:
                self._mask = None
            return x
        if not (self.frozen and self._mask is not None and self._mask.shape == x.shape):
            self._mask = self._draw_mask(x.shape, x.dtype, None if self.frozen else scratch)
        return np.multiply(x, self._mask, out=buffer(scratch, "out", x.shape, x.dtype))

    def backward(
        self, dout: np.ndarray, need_dx: bool = True, scratch: Scratch = None
    ) -> np.ndarray | None:
        if not need_dx:
            return None
        if self._mask is not None and self.p:
            dout *= self._mask
        return dout

    def config(self) -> dict[str, Any]:
        return {"type": "Dropout", "p": self.p}


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy, 2015) of each of ``features`` columns.

    Training: ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` with the batch's mean and
    (biased) variance; inference: the same with the running mean and variance. After each
    training step (:meth:`commit`) the running statistics move towards the batch's by
    ``momentum``, with the unbiased batch variance, as PyTorch's ``BatchNorm1d`` does.
    gamma starts at 1, beta at 0; running mean at 0, running variance at 1.
    """

    def __init__(
        self, features: int, *, momentum: float = 0.1, eps: float = 1e-5,
        dtype: np.dtype | type | str = np.float64,
    ) -> None:
        super().__init__()
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1]; got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive; got {eps!r}")
        self.momentum, self.eps = float(momentum), float(eps)
        self.params = {"gamma": np.ones(features, dtype), "beta": np.zeros(features, dtype)}
        self.state = {"running_mean": np.zeros(features, dtype),
                      "running_var": np.ones(features, dtype)}
        self._batch: tuple[np.ndarray, np.ndarray, int] | None = None

    @property
    def features(self) -> int:
        return self.params["gamma"].shape[0]

    def input_width(self) -> int | None:
        return self.features

    def forward(self, x: np.ndarray, training: bool = False, scratch: Scratch = None) -> np.ndarray:
        gamma, beta = self.params["gamma"], self.params["beta"]
        out = buffer(scratch, "out", x.shape, x.dtype)
        if not training:
            scale = gamma / np.sqrt(self.state["running_var"] + self.eps)
            shift = beta - self.state["running_mean"] * scale
            np.multiply(x, scale, out=out)
            out += shift
            return out
        n = x.shape[0]
        if n < 2:
            raise ValueError(f"batch normalisation needs at least 2 examples per training batch "
                             f"(it divides by their standard deviation); got {n}")
        mean = x.mean(axis=0)
        xhat = np.subtract(x, mean, out=buffer(scratch, "xhat", x.shape, x.dtype))
        var = np.einsum("ij,ij->j", xhat, xhat) / n
        inv_std = 1 / np.sqrt(var + self.eps)
        xhat *= inv_std
        self._xhat, self._inv_std, self._batch = xhat, inv_std, (mean, var, n)
        np.multiply(xhat, gamma, out=out)
        out += beta
        return out

    def backward(
        self, dout: np.ndarray, need_dx: bool = True, scratch: Scratch = None
    ) -> np.ndarray | None:
        # With m = mean over the batch: dx = gamma / std * (dout - m(dout) - xhat m(dout xhat)),
        # the closed form of differentiating through the batch's mean and variance.
        xhat = self._xhat
        n = xhat.shape[0]
        dbeta = np.sum(dout, axis=0, out=buffer(scratch, "dbeta", (xhat.shape[1],), xhat.dtype))
        dgamma = np.einsum("ij,ij->j", dout, xhat, out=buffer(
            scratch, "dgamma", (xhat.shape[1],), xhat.dtype))
        self.grads = {"gamma": dgamma, "beta": dbeta}
        if not need_dx:
            return None
        tmp = np.multiply(xhat, dgamma / n, out=buffer(scratch, "tmp", xhat.shape, xhat.dtype))
        dout -= dbeta / n
        dout -= tmp
        dout *= self.params["gamma"] * self._inv_std
        return dout

    def commit(self) -> None:
        if self._batch is None:
            return
        mean, var, n = self._batch
        m = self.momentum
        rm, rv = self.state["running_mean"], self.state["running_var"]
        rm *= 1 - m
        rm += m * mean
        rv *= 1 - m
        rv += (m * n / (n - 1)) * var
        self._batch = None

    def width(self, width_in: int) -> int:
        if width_in != self.features:
            raise ValueError(f"BatchNorm normalises {self.features} features; the layer before "
                             f"it gives {width_in}")
        return width_in

    def config(self) -> dict[str, Any]:
        return {"type": "BatchNorm", "features": self.features, "momentum": self.momentum,
                "eps": self.eps}


#: Layer types by the name a model file gives them.
LAYER_TYPES: dict[str, type[Layer]] = {
    "Dense": Dense, "Activation": Activation, "Dropout": Dropout, "BatchNorm": BatchNorm,
}

