"""Problem 1 made executable: backpropagation for one example, in the problem set's notation.

The problem set writes the network with column vectors, for one example at a time::

    h(0) = x
    a(k) = b(k) + W(k) h(k-1),   h(k) = f(a(k))        k = 1, ..., l
    y_hat = h(l),                J = L(y_hat, y) (+ lam * Omega(theta))

and its backward pass as::

    g <- grad_{y_hat} L
    for k = l, ..., 1:
        g <- g * f'(a(k))                  # now grad_{a(k)} J
        grad_{b(k)} J = g      (+ lam grad Omega)
        grad_{W(k)} J = g h(k-1)^T  (+ lam grad Omega)
        g <- W(k)^T g                      # now grad_{h(k-1)} J

This module runs exactly that, on an :class:`mlp.MLP` with ``output='sigmoid'`` (binary
cross-entropy), using the library's own layers (``linear_forward``, ``linear_backward``,
``ACTIVATIONS``) on a one-row batch. The library stores batches as rows, so ``W(k)`` here is
``net.params[f"W{k}"].T`` (shape ``(n_k, n_{k-1})``) and ``b(k)`` is ``params[f"b{k}"]`` as a
column ``(n_k, 1)``; :meth:`BackpropTrace.row_grads` converts the result back.

- :func:`forward` and :func:`backward`: the algorithm, returning every ``a``, ``h`` and ``g``;
- :func:`grad_yhat`, :func:`grad_a2`, ..., :func:`grad_W1`: the closed forms of Q1.1-Q1.5 for a
  D-H-1 network with sigmoid hidden and output units;
- :func:`walk_backward`: the backward pass step by step as data, each ``g`` beside its numeric
  gradient and closed form; :func:`explain_backward` prints it (``python -m mlp.backprop``);
- :func:`chain_rule`: one parameter entry's gradient as the product of the local derivatives
  along its path through the graph;
- :func:`layer_steps`: any network's backward pass on one example, layer by layer (upstream
  gradient, local derivative, parameter gradients, numeric check);
- :func:`gradients_without_cache`: backprop with no stored forward pass, for Q1.6's comparison.

See docs/backprop.md for the derivation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TextIO

import numpy as np

from ._validation import check_X
from .gradcheck import ParameterCheck, eval_numerical_gradient, gradient_check, rel_error
from .layers import (
    ACTIVATIONS,
    Activation,
    ActivationFunction,
    BatchNorm,
    Dense,
    linear_backward,
    linear_forward,
)
from .losses import binary_cross_entropy_with_logits, sigmoid
from .network import MLP
from .regularizers import Regularizer

__all__ = [
    "ForwardPass",
    "BackpropTrace",
    "Check",
    "Walkthrough",
    "ChainFactor",
    "LayerStep",
    "forward",
    "backward",
    "grad_yhat",
    "grad_a2",
    "grad_b2",
    "grad_W2",
    "grad_h1",
    "grad_b1",
    "grad_W1",
    "closed_form_gradients",
    "example_network",
    "explain_backward",
    "walk_backward",
    "chain_rule",
    "layer_steps",
    "gradients_without_cache",
    "main",
]


# -- the algorithm ----------------------------------------------------------------------------


@dataclass
class ForwardPass:
    """What the forward pass leaves behind for the backward pass (the cache).

    a: ``{k: (n_k, 1)}`` pre-activations for k = 1..l.
    h: ``{k: (n_k, 1)}`` activations for k = 0..l; ``h[0]`` is x and ``h[l]`` is y_hat.
    """

    a: dict[int, np.ndarray]
    h: dict[int, np.ndarray]

    @property
    def num_layers(self) -> int:
        """l, the number of affine layers."""
        return len(self.a)

    @property
    def yhat(self) -> float:
        """The network's output y_hat = h(l), the probability of label 1."""
        return float(self.h[self.num_layers][0, 0])


@dataclass
class BackpropTrace:
    """Everything one run of the algorithm computes, in column-vector notation.

    forward: the :class:`ForwardPass` it consumed.
    loss: L(y_hat, y), computed from the logit a(l) so that it is finite for any a(l).
    objective: J = L + the regularizer's penalty (equal to ``loss`` without one).
    grad_yhat: ``(1, 1)`` the first g, grad_{y_hat} L; None in the fused (logit) form.
    grad_a: ``{k: (n_k, 1)}`` grad_{a(k)} J for k = l..1.
    grad_h: ``{k: (n_k, 1)}`` grad_{h(k)} J for k = l-1..0 (``grad_h[0]`` is grad_x J).
    grads: ``{"W{k}": (n_k, n_{k-1}), "b{k}": (n_k, 1)}``, the parameter gradients in the
        problem set's layout.
    """

    forward: ForwardPass
    loss: float
    objective: float
    grad_yhat: np.ndarray | None
    grad_a: dict[int, np.ndarray] = field(default_factory=dict)
    grad_h: dict[int, np.ndarray] = field(default_factory=dict)
    grads: dict[str, np.ndarray] = field(default_factory=dict)

    def row_grads(self) -> dict[str, np.ndarray]:
        """The gradients in the library's layout, comparable with ``MLP.loss``:
        ``W{k}`` as ``(n_{k-1}, n_k)`` and ``b{k}`` as ``(n_k,)``."""
        out = {}
        for k in range(1, self.forward.num_layers + 1):
            out[f"W{k}"] = self.grads[f"W{k}"].T
            out[f"b{k}"] = self.grads[f"b{k}"].ravel()
        return out


def _check_net(net: object) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an mlp.MLP; got {type(net).__name__}")
    if net.output != "sigmoid":
        raise ValueError(
            "net must have output='sigmoid' (one sigmoid output unit with binary cross-entropy, "
            f"as in Problem 1); got output={net.output!r}"
        )
    _plain_activation(net)
    return net


def _plain_activation(net: MLP) -> str:
    """The one hidden activation of a plain ``affine -> f -> ... -> affine`` network; raises
    ValueError for networks with dropout, batch norm or mixed activations, which Problem 1's
    algorithm does not cover."""
    kinds = [type(layer) for layer in net.layers]
    plain = [Dense, Activation] * (net.num_layers - 1) + [Dense]
    if kinds != plain or not isinstance(net.activation, str):
        raise ValueError("net must be a plain stack of affine layers with one hidden activation "
                         f"(no dropout, batch norm or mixed activations); got {net!r}")
    return net.activation


def _as_column(v: object, size: int, name: str, dtype: np.dtype) -> np.ndarray:
    arr = np.asarray(v, dtype=dtype)
    if arr.size != size or (arr.ndim == 2 and arr.shape[1] != 1) or arr.ndim > 2:
        raise ValueError(f"{name} must have shape ({size},) or ({size}, 1); got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {arr.ravel()}")
    return arr.reshape(size, 1).copy()


def _check_label(y: object) -> float:
    try:
        value = float(y)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"y must be a number in [0, 1]; got {y!r}") from exc
    if not 0 <= value <= 1:
        raise ValueError(f"y must be a number in [0, 1]; got {y!r}")
    return value


#: f of the output layer: y_hat as the library computes its probabilities (``predict_proba``),
#: and f'(a) = y_hat (1 - y_hat) by the sigmoid layer's backward rule.
OUTPUT_ACTIVATION = ActivationFunction(sigmoid, ACTIVATIONS["sigmoid"].backward)


def _activation(net: MLP, k: int) -> ActivationFunction:
    """f of layer k: the network's hidden activation, or the sigmoid at the output."""
    return OUTPUT_ACTIVATION if k == net.num_layers else ACTIVATIONS[net.activation]


def _layer(net: MLP, k: int, h_prev: np.ndarray) -> np.ndarray:
    """a(k) = b(k) + W(k) h(k-1) for a column h_prev (n_{k-1}, 1), by the library's row map:
    a one-row batch h^T gives a^T."""
    return linear_forward(h_prev.T, net.params[f"W{k}"], net.params[f"b{k}"]).T.copy()


def forward(net: MLP, x: np.ndarray) -> ForwardPass:
    """The forward pass for one example, keeping every a(k) and h(k).

    net: an MLP with ``output='sigmoid'``; x: (D,) or (D, 1). Computes in ``net.dtype``.
    """
    net = _check_net(net)
    h = {0: _as_column(x, net.input_size, "x", net.dtype)}
    a: dict[int, np.ndarray] = {}
    for k in range(1, net.num_layers + 1):
        a[k] = _layer(net, k, h[k - 1])
        h[k] = _activation(net, k).forward(a[k].copy())  # forward overwrites its input
    return ForwardPass(a, h)


def backward(
    net: MLP,
    cache: ForwardPass,
    y: float,
    *,
    fused: bool = False,
    regularizer: Regularizer | None = None,
) -> BackpropTrace:
    """The backward pass of the problem set's algorithm, from the forward pass's cache.

    net: the MLP that produced ``cache = forward(net, x)``; y: the label, in [0, 1].

    With ``fused=False`` (the algorithm as printed) it starts from
    ``g = grad_{y_hat} L = (y_hat - y) / (y_hat (1 - y_hat))`` and then takes ``g * f'(a(l))``;
    that quotient is inf or NaN once y_hat rounds to 1 or 0 (a(l) above about 36.7 or below
    about -709.8 in float64). ``fused=True`` starts at ``grad_{a(l)} J = y_hat - y`` from the
    logit, as ``MLP.loss`` does: the same number wherever both are finite, and finite
    everywhere.

    regularizer: adds ``grad Omega`` to the penalised parameters' gradients (the ``lam grad
    Omega`` terms of the algorithm), as ``MLP.loss(..., regularizer=...)`` does.
    """
    net = _check_net(net)
    y = _check_label(y)
    depth = net.num_layers
    if cache.num_layers != depth:
        raise ValueError(f"cache has {cache.num_layers} layers; net has {depth}")
    target = np.array([y])
    loss, dlogit = binary_cross_entropy_with_logits(cache.a[depth].T, target)
    objective = loss + (regularizer.total_penalty(net.params) if regularizer else 0.0)
    trace = BackpropTrace(cache, loss, objective, None)

    if fused:
        g = dlogit.T.copy()  # N = 1, so the batch mean is this example's gradient
    else:
        g = trace.grad_yhat = grad_yhat(cache.h[depth], y).astype(cache.h[depth].dtype)
    for k in range(depth, 0, -1):
        if k < depth or not fused:
            # g * f'(a(k)), f' read from h(k). A saturated output makes inf * 0 here, a NaN
            # that the result shows; the warning would only repeat it.
            with np.errstate(invalid="ignore"):
                g = _activation(net, k).backward(g.copy(), cache.h[k])
        trace.grad_a[k] = g
        dh_prev, dW, db = linear_backward(g.T, cache.h[k - 1].T, net.params[f"W{k}"])
        trace.grads[f"W{k}"] = dW.T  # = g h(k-1)^T
        trace.grads[f"b{k}"] = db.reshape(-1, 1)  # = g
        if regularizer is not None:
            # The penalty's gradient comes in the library's layout: W transposed, b flat.
            if regularizer.applies_to(f"W{k}"):
                trace.grads[f"W{k}"] = trace.grads[f"W{k}"] + regularizer.grad(
                    net.params[f"W{k}"]).T
            if regularizer.applies_to(f"b{k}"):
                trace.grads[f"b{k}"] = trace.grads[f"b{k}"] + regularizer.grad(
                    net.params[f"b{k}"]).reshape(-1, 1)
        g = trace.grad_h[k - 1] = dh_prev.T  # = W(k)^T g
    return trace


# -- the closed forms of Q1.1-Q1.5 for a D-H-1 network with sigmoid units --------------------


def _col(v: object) -> np.ndarray:
    return np.asarray(v, dtype=np.float64).reshape(-1, 1)


def _scalar(v: object) -> np.ndarray:
    return np.asarray(v, dtype=np.float64).reshape(1, 1)


def grad_yhat(yhat: object, y: object) -> np.ndarray:
    """grad_{y_hat} L = (y_hat - y) / (y_hat (1 - y_hat)) for L = -y ln y_hat - (1-y) ln(1-y_hat).

    yhat, y: scalars (or (1, 1)). Returns (1, 1). Inf or NaN, without a warning, where y_hat is
    exactly 0 or 1: that is the point where the unfused algorithm breaks down.
    """
    yhat, y = _scalar(yhat), _scalar(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (yhat - y) / (yhat * (1 - yhat))


def grad_a2(y: object, h2: object) -> np.ndarray:
    """Q1.1: grad_{a2} J = h2 - y. y, h2 = y_hat: scalars. Returns (1, 1)."""
    return _scalar(h2) - _scalar(y)


def grad_b2(y: object, h2: object) -> np.ndarray:
    """Q1.2: grad_{b2} J = h2 - y (since da2/db2 = 1). Returns (1, 1)."""
    return grad_a2(y, h2)


def grad_W2(y: object, h1: object, h2: object) -> np.ndarray:
    """Q1.3: grad_{W2} J = (h2 - y) h1^T. h1: (H,) or (H, 1). Returns (1, H), shaped like W2."""
    return grad_a2(y, h2) @ _col(h1).T


def grad_h1(y: object, h2: object, W2: object) -> np.ndarray:
    """Q1.4: grad_{h1} J = (h2 - y) W2^T. W2: (1, H) or (H,). Returns (H, 1), shaped like h1."""
    return _col(W2) * grad_a2(y, h2)


def grad_b1(y: object, h1: object, h2: object, W2: object) -> np.ndarray:
    """Q1.5: grad_{b1} J = grad_{h1} J * h1 * (1 - h1). Returns (H, 1)."""
    h1 = _col(h1)
    return grad_h1(y, h2, W2) * h1 * (1 - h1)


def grad_W1(x: object, y: object, h1: object, h2: object, W2: object) -> np.ndarray:
    """Q1.5: grad_{W1} J = (grad_{h1} J * h1 * (1 - h1)) x^T. x: (D,). Returns (H, D)."""
    return grad_b1(y, h1, h2, W2) @ _col(x).T


def closed_form_gradients(
    x: object, y: object, h1: object, h2: object, W2: object
) -> dict[str, np.ndarray]:
    """All of Q1.1-Q1.5 at once, keyed like :class:`BackpropTrace`'s fields: ``yhat``, ``a2``,
    ``h1``, and the parameter names ``W1 (H, D)``, ``b1 (H, 1)``, ``W2 (1, H)``, ``b2 (1, 1)``."""
    return {
        "yhat": grad_yhat(h2, y),
        "a2": grad_a2(y, h2),
        "b2": grad_b2(y, h2),
        "W2": grad_W2(y, h1, h2),
        "h1": grad_h1(y, h2, W2),
        "b1": grad_b1(y, h1, h2, W2),
        "W1": grad_W1(x, y, h1, h2, W2),
    }


# -- the step-by-step printer -------------------------------------------------------------------


class Check(NamedTuple):
    """One step of :func:`explain_backward`: the quantity, the formula that computed it, its
    value from the algorithm, its numeric value (centred differences), their largest relative
    error, and the closed form's value (Q1.1-Q1.5) where one exists, else None."""

    name: str
    formula: str
    analytic: np.ndarray
    numeric: np.ndarray
    rel_error: float
    closed_form: np.ndarray | None = None

    @property
    def quantity(self) -> str:
        """What this step's gradient is taken with respect to, the computation graph's node:
        ``yhat``, ``a2``, ``b2``, ``W2``, ``h1``, ..., ``h0`` (x)."""
        return self.name.split()[0][len("grad_"):]

    @property
    def updates_g(self) -> bool:
        """Whether the algorithm's running ``g`` becomes this gradient (``g <- ...``): the steps
        to y_hat, to each a(k) and to each h(k-1); the parameter gradients leave g as it is."""
        return self.quantity[0] in "ahy"

    @property
    def closed_form_label(self) -> str | None:
        """The closed form this step equals (Q1.1-Q1.5, :data:`CLOSED_FORM_LABELS`), or None
        where there is none."""
        return None if self.closed_form is None else CLOSED_FORM_LABELS[self.quantity]


def example_network(seed: int = 0) -> tuple[MLP, np.ndarray, float]:
    """Problem 1's 3-3-1 network (sigmoid hidden and output units, float64) with random weights
    and biases, an input x (3, 1) and the label y = 1, all from ``seed``."""
    rng = np.random.default_rng(seed)
    net = MLP(3, [3], 1, activation="sigmoid", output="sigmoid", seed=seed)
    for p in net.params.values():
        p[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((3, 1))
    return net, x, 1.0


def _loss_from(net: MLP, k: int, v: np.ndarray, y: float, pre: bool) -> float:
    """J as a function of a(k) (``pre``) or of h(k), with the rest of the network fixed."""
    depth = net.num_layers
    if pre and k == depth:
        return binary_cross_entropy_with_logits(v.T, np.array([y]))[0]
    h = _activation(net, k).forward(v.copy()) if pre else v
    for j in range(k + 1, depth + 1):
        a = _layer(net, j, h)
        if j == depth:
            return binary_cross_entropy_with_logits(a.T, np.array([y]))[0]
        h = _activation(net, j).forward(a)
    raise AssertionError("unreachable")


def _numeric(f: Callable[[], float], v: np.ndarray, step: float) -> np.ndarray:
    return eval_numerical_gradient(lambda _: f(), v, verbose=False, h=step)


def _param_numeric(
    net: MLP, x: np.ndarray, y: float, regularizer: Regularizer | None, step: float
) -> dict[str, np.ndarray]:
    """Numeric gradients of J with respect to every parameter, in the problem set's layout."""

    def objective() -> float:
        penalty = regularizer.total_penalty(net.params) if regularizer else 0.0
        return _loss_from(net, 0, x, y, pre=False) + penalty

    out = {}
    for name, p in net.params.items():
        num = _numeric(objective, p, step)
        out[name] = num.T if name.startswith("W") else num.reshape(-1, 1)
    return out


def _is_problem_1_network(net: MLP, regularizer: Regularizer | None) -> bool:
    return net.num_layers == 2 and net.activation == "sigmoid" and regularizer is None


def _closed_forms(net: MLP, cache: ForwardPass, y: float) -> dict[str, np.ndarray]:
    closed = closed_form_gradients(cache.h[0], y, cache.h[1], cache.h[2], net.params["W2"].T)
    closed["a1"] = closed["b1"]  # da1/db1 = 1, so grad_a1 J is Q1.5's grad_b1 J
    return closed


def _checks(
    net: MLP,
    trace: BackpropTrace,
    y: float,
    regularizer: Regularizer | None,
    step: float,
) -> list[Check]:
    cache, depth = trace.forward, trace.forward.num_layers
    closed = _closed_forms(net, cache, y) if _is_problem_1_network(net, regularizer) else {}
    param_num = _param_numeric(net, cache.h[0], y, regularizer, step)
    checks = []

    def add(name: str, formula: str, analytic: np.ndarray, numeric: np.ndarray, key: str) -> None:
        checks.append(Check(name, formula, analytic, numeric, rel_error(analytic, numeric),
                            closed.get(key)))

    if trace.grad_yhat is not None:
        yhat = cache.h[depth].copy()

        def bce() -> float:
            p = float(yhat[0, 0])
            return -y * np.log(p) - (1 - y) * np.log(1 - p)

        add("grad_yhat L", "(y_hat - y) / (y_hat (1 - y_hat))", trace.grad_yhat,
            _numeric(bce, yhat, step), "yhat")
    for k in range(depth, 0, -1):
        a_k = cache.a[k].copy()
        if k == depth and trace.grad_yhat is None:
            formula = "y_hat - y   (from the logit, fused)"
        else:
            formula = f"g * f'(a{k})"
        add(f"grad_a{k} J", formula, trace.grad_a[k],
            _numeric(lambda k=k, a_k=a_k: _loss_from(net, k, a_k, y, True), a_k, step), f"a{k}")
        add(f"grad_b{k} J", "g", trace.grads[f"b{k}"], param_num[f"b{k}"], f"b{k}")
        add(f"grad_W{k} J", f"g h{k - 1}^T", trace.grads[f"W{k}"], param_num[f"W{k}"], f"W{k}")
        h_prev = cache.h[k - 1].copy()
        add(f"grad_h{k - 1} J", f"W{k}^T g" + ("   (= grad_x J)" if k == 1 else ""),
            trace.grad_h[k - 1],
            _numeric(lambda k=k, h_prev=h_prev: _loss_from(net, k - 1, h_prev, y, False),
                     h_prev, step), f"h{k - 1}")
    return checks


def _fmt(v: np.ndarray, indent: int) -> str:
    """A (1, 1) as a number, a column (n, 1) as ``[...]^T``, a matrix on several lines."""
    opts = {"precision": 8, "floatmode": "fixed", "suppress_small": False,
            "sign": " ", "max_line_width": 200}
    if v.size == 1:
        return f"{float(v.ravel()[0]): .8f}"
    if v.ndim == 2 and v.shape[1] == 1:
        return np.array2string(v.ravel(), **opts) + "^T"
    text = np.array2string(v, **opts)
    return text.replace("\n", "\n" + " " * indent)


@dataclass
class Walkthrough:
    """One example through the algorithm, as data: what :func:`explain_backward` prints.

    net, y: the network and the label; trace: the forward pass (``trace.forward``), the loss
    and every g (:class:`BackpropTrace`, in the problem set's column layout); steps: every g of
    the backward pass and every parameter gradient, in the algorithm's order, each beside its
    numeric gradient and, for Problem 1's network, its closed form (:class:`Check`);
    regularizer: the one the trace's gradients include, or None.
    """

    net: MLP
    y: float
    trace: BackpropTrace
    steps: list[Check]
    regularizer: Regularizer | None = None


def walk_backward(
    net: MLP | None = None,
    x: np.ndarray | None = None,
    y: float | None = None,
    *,
    fused: bool = False,
    regularizer: Regularizer | None = None,
    step: float = 1e-5,
) -> Walkthrough:
    """Run the forward and backward pass of one example and check every step of it.

    Every g of the algorithm (and every parameter gradient) gets its numeric gradient by
    centred differences with step ``step`` and their largest relative error; for Problem 1's
    network (one sigmoid hidden layer) the closed form of Q1.1-Q1.5 too.

    net: an MLP with ``output='sigmoid'`` (default: :func:`example_network`, the 3-3-1 network,
    with its x and y); x: (D,) or (D, 1); y: label in [0, 1]. ``fused`` and ``regularizer`` are
    passed to :func:`backward`. Prints nothing: :func:`explain_backward` prints the result.
    """
    if net is None:
        if x is not None or y is not None:
            raise ValueError("x and y need a net; give all three or none")
        net, x, y = example_network()
    net = _check_net(net)
    if x is None or y is None:
        raise ValueError("give x and y with the net")
    cache = forward(net, x)
    trace = backward(net, cache, y, fused=fused, regularizer=regularizer)
    label = _check_label(y)
    return Walkthrough(net, label, trace, _checks(net, trace, label, regularizer, step),
                       regularizer)


def explain_backward(
    net: MLP | None = None,
    x: np.ndarray | None = None,
    y: float | None = None,
    *,
    fused: bool = False,
    regularizer: Regularizer | None = None,
    verbose: bool = True,
    file: TextIO | None = None,
    step: float = 1e-5,
) -> list[Check]:
    """Print the forward and backward pass of one example step by step, with numbers: the
    steps of :func:`walk_backward` (same arguments), each g beside its numeric gradient, their
    relative error and, for Problem 1's network, its closed form.

    Prints to ``file`` (default standard output) unless ``verbose=False``. Returns the
    :class:`Check` of every step, in the order printed.
    """
    walk = walk_backward(net, x, y, fused=fused, regularizer=regularizer, step=step)
    if verbose:
        _print(walk, file or sys.stdout)
    return walk.steps


#: The closed forms as the printer labels them, keyed like ``closed_form_gradients``.
CLOSED_FORM_LABELS = {
    "yhat": "(h2 - y) / ((1 - h2) h2)",
    "a2": "Q1.1: h2 - y",
    "b2": "Q1.2: h2 - y",
    "W2": "Q1.3: (h2 - y) h1^T",
    "h1": "Q1.4: (h2 - y) W2^T",
    "a1": "(h2 - y) W2^T * h1 * (1 - h1)",
    "b1": "Q1.5: (h2 - y) W2^T * h1 * (1 - h1)",
    "W1": "Q1.5: ((h2 - y) W2^T * h1 * (1 - h1)) x^T",
}


def _print(walk: Walkthrough, file: TextIO) -> None:
    net, trace, y, checks = walk.net, walk.trace, walk.y, walk.steps
    cache, depth = trace.forward, trace.forward.num_layers

    def out(text: str = "") -> None:
        print(text, file=file)

    def row(label: str, value: np.ndarray) -> None:
        out(f"  {label:<22}= {_fmt(value, 26)}")

    sizes = "-".join(map(str, net.layer_sizes))
    out(f"Network {sizes}: {net.activation} hidden units, a sigmoid output, binary "
        "cross-entropy.")
    out("Column vectors, one example; W(k) = params['Wk'].T, b(k) = params['bk'] as a column.")
    out("f' is computed from the cached output h = f(a): for the sigmoid, f'(a) = h (1 - h).")
    out()
    out("Forward pass (its a's and h's are the cache the backward pass reads)")
    row("h0 = x", cache.h[0])
    for k in range(1, depth + 1):
        f_name = "sigmoid" if k == depth else net.activation
        row(f"a{k} = b{k} + W{k} h{k - 1}", cache.a[k])
        row(f"h{k} = {f_name}(a{k})", cache.h[k])
    out(f"  y_hat = h{depth} = {cache.yhat:.8f},  y = {y:g}")
    out(f"  L(y_hat, y) = {trace.loss:.8f}   (computed from the logit a{depth})")
    if walk.regularizer is not None:
        out(f"  J = L + {walk.regularizer!r} penalty = {trace.objective:.8f}")
    out()
    out("Backward pass: each g of the algorithm, checked against the numeric gradient of J")
    for c in checks:
        if c.quantity.startswith("a"):
            out(f"  k = {c.quantity[1:]}")
        out(f"    {'g <- ' if c.updates_g else ''}{c.name} = {c.formula}")
        out(f"        algorithm    {_fmt(c.analytic, 21)}")
        if c.closed_form is not None:
            out(f"        closed form  {_fmt(c.closed_form, 21)}   [{c.closed_form_label}]")
        out(f"        numeric      {_fmt(c.numeric, 21)}")
        out(f"        largest relative error {c.rel_error:.1e}")
    worst = max(c.rel_error for c in checks)
    out()
    out(f"Largest relative error over all steps: {worst:.1e}")


# -- the chain rule along one path --------------------------------------------------------------


class ChainFactor(NamedTuple):
    """One factor of the chain rule on the path from J down to one parameter entry: the
    partial derivative (``derivative``, e.g. ``dh1_2/da1_2``), what it equals (``formula``), its
    value, and the node of the computation graph the path reaches with it (``node``).

    Names number units from 1, as the maths does: ``a1_2`` is unit 2 of a(1), ``W1_2,3`` the
    weight from input 3 into hidden unit 2 (row 2, column 3 of W(1)), ``x_3`` input 3."""

    derivative: str
    formula: str
    value: float
    node: str


def chain_rule(walk: Walkthrough, name: str, index: tuple[int, int]) -> list[ChainFactor]:
    """The chain rule for one entry of a parameter, written out along its path in the graph.

    In a network with one hidden layer and one output (Problem 1's, D-H-1) each parameter
    entry reaches J along exactly one path, so its gradient is the product of the local
    derivatives along it: for W(1)[i, j],
    ``dJ/dy_hat * dy_hat/da2 * da2/dh1_i * dh1_i/da1_i * da1_i/dW1_i,j``. The factors are the
    walk's own numbers (the first g, ``f'`` by the activations' backward rules, the weights
    and the cached h's), and their product is ``walk.trace.grads[name][index]`` up to rounding.
    A fused walk starts from ``dJ/da2 = y_hat - y``.

    name: ``W1``, ``b1``, ``W2`` or ``b2``; index: ``(i, j)``, 0-based, in the problem set's
    layout (``W1`` (H, D): row i holds the weights into hidden unit i; ``b1`` (H, 1); ``W2``
    (1, H); ``b2`` (1, 1)). Returns the factors from J down to the parameter.
    """
    net, trace = walk.net, walk.trace
    if net.num_layers != 2 or net.layer_sizes[-1] != 1 or walk.regularizer is not None:
        raise ValueError("the chain rule along one path needs a network with one hidden layer "
                         "and one output, without a regularizer (Problem 1's); got "
                         f"{net!r}" + (" with a regularizer" if walk.regularizer else ""))
    if name not in trace.grads:
        raise ValueError(f"name must be one of {', '.join(trace.grads)}; got {name!r}")
    shape = trace.grads[name].shape
    if (not isinstance(index, tuple | list) or len(index) != 2
            or not all(isinstance(v, int | np.integer) and 0 <= v < n
                       for v, n in zip(index, shape, strict=True))):
        raise ValueError(f"index must be (i, j) with 0 <= i < {shape[0]} and 0 <= j < "
                         f"{shape[1]} for {name}; got {index!r}")
    i, j = (int(v) for v in index)
    cache = trace.forward
    if trace.grad_yhat is None:
        path = [ChainFactor("dJ/da2", "y_hat - y", float(trace.grad_a[2][0, 0]), "a2")]
    else:
        f2 = _local_derivative(net, 2, cache.h[2])
        path = [ChainFactor("dJ/dy_hat", "(y_hat - y) / (y_hat (1 - y_hat))",
                            float(trace.grad_yhat[0, 0]), "yhat"),
                ChainFactor("dy_hat/da2", "f'(a2) = h2 (1 - h2)", float(f2[0, 0]), "a2")]
    if name == "b2":
        return path + [ChainFactor("da2/db2", "1", 1.0, "b2")]
    unit = j + 1 if name == "W2" else i + 1
    if name == "W2":
        return path + [ChainFactor(f"da2/dW2_1,{unit}", f"h1_{unit}",
                                   float(cache.h[1][j, 0]), f"W2_1,{unit}")]
    f1 = _local_derivative(net, 1, cache.h[1])
    sigmoid_rule = f" = h1_{unit} (1 - h1_{unit})" if net.activation == "sigmoid" else ""
    path += [ChainFactor(f"da2/dh1_{unit}", f"W2_1,{unit}", float(net.params["W2"][i, 0]),
                         f"h1_{unit}"),
             ChainFactor(f"dh1_{unit}/da1_{unit}", f"f'(a1_{unit}){sigmoid_rule}",
                         float(f1[i, 0]), f"a1_{unit}")]
    if name == "b1":
        return path + [ChainFactor(f"da1_{unit}/db1_{unit}", "1", 1.0, f"b1_{unit}")]
    return path + [ChainFactor(f"da1_{unit}/dW1_{unit},{j + 1}", f"x_{j + 1}",
                               float(cache.h[0][j, 0]), f"W1_{unit},{j + 1}")]


def _local_derivative(net: MLP, k: int, h: np.ndarray) -> np.ndarray:
    """f'(a(k)) for a column h(k) = f(a(k)), by the activation's backward rule (on ones)."""
    return _activation(net, k).backward(np.ones_like(h), h)


# -- any network, layer by layer ------------------------------------------------------------------


class LayerStep(NamedTuple):
    """One layer of a network's backward pass on one example, in the library's row layout.

    index: the layer's position in ``net.layers``; layer: its ``repr``.
    upstream: (1, D_out) the gradient of J with respect to the layer's output.
    local: the layer's local derivative: for an affine layer ``x @ W + b`` its input x
        (1, D_in), since d out_j / d W_ij = x_i (and d out / d x is W); for an elementwise
        layer d out / d in (1, D): f'(a) for an activation, 0 or 1 / (1 - p) for dropout.
    downstream: (1, D_in) the gradient with respect to its input: upstream * local for an
        elementwise layer, upstream @ W.T for an affine one.
    grads: the layer's parameter gradients by the network's names (``W1``, ``b1``), shaped like
        ``net.params``; checks: each one's numeric check (:func:`mlp.gradcheck.gradient_check`).
    """

    index: int
    layer: str
    upstream: np.ndarray
    local: np.ndarray | None
    downstream: np.ndarray
    grads: dict[str, np.ndarray]
    checks: dict[str, ParameterCheck]


def layer_steps(net: MLP, x: object, y: object) -> tuple[float, list[LayerStep]]:
    """The backward pass of any :class:`mlp.MLP` (softmax, sigmoid or linear output) on one
    example, layer by layer from the output down, each layer's gradients checked numerically.

    x: (D,) one example; y: its target as the network's output takes one (a label, or a number
    or (C,) numbers for a regression). Runs in training mode: dropout drops, with the mask the
    numeric check uses (``frozen_dropout``), and the network's random generator is left as it
    was. Networks with batch norm are refused: on one example its batch statistics are that
    example itself, so nothing flows back through it. Returns (data loss J, the steps from the
    last layer to the first); the data loss has no penalty.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an mlp.MLP; got {type(net).__name__}")
    if any(isinstance(layer, BatchNorm) for layer in net.layers):
        raise ValueError("the network has batch norm: on one example its batch statistics are "
                         "the example itself (x - mean = 0), so nothing flows back through it; "
                         "turn batch norm off to follow one example")
    X = check_X(np.asarray(x).reshape(1, -1), net.input_size, "x", net.dtype)
    target = np.asarray(y)
    Y = net.head.check_targets(target.reshape(1, *target.shape), 1, net.output_size)
    with net.lock:
        # The check and the walk below each start from the generator's state as it is now
        # (frozen_dropout puts it back), so both draw the same dropout mask.
        checks = gradient_check(net, X, Y)
        with net.frozen_dropout():
            inputs, h = [], np.asarray(X, dtype=net.dtype)
            for layer in net.layers:
                inputs.append(h)
                h = layer.forward(h, True)
            loss, g = net.head.loss(h, Y)
            names = {id(layer): [] for layer in net.layers}
            for name, layer, key in net.param_slots():
                names[id(layer)].append((name, key))
            steps = []
            for index in range(len(net.layers) - 1, -1, -1):
                layer, upstream = net.layers[index], g.copy()
                affine = bool(layer.params)
                local = inputs[index].copy() if affine else layer.backward(np.ones_like(g))
                g = layer.backward(g, True)
                steps.append(LayerStep(
                    index, repr(layer), upstream, None if local is None else local.copy(),
                    g.copy(), {name: layer.grads[key].copy() for name, key in names[id(layer)]},
                    {name: checks[name] for name, _ in names[id(layer)]}))
    return float(loss), steps


# -- Q1.6: backprop without the forward pass's cache ---------------------------------------------


def gradients_without_cache(
    net: MLP, X: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """The same gradients as ``net.data_loss(X, y)``, with nothing kept from the forward pass.

    Each layer's backward step needs that layer's input h(k-1) (for grad W(k) and f'(a(k-1)));
    here it is recomputed from X every time, so a network of l layers runs
    l + l (l - 1) / 2 affine layers forward instead of l. For Q1.6's cost comparison
    (scripts/backprop_cost.py); never use it to train.

    X: (N, D) trusted batch; y: (N,) labels. Returns (mean loss, grads keyed like params).
    """
    act = ACTIVATIONS[_plain_activation(net)]
    depth = net.num_layers

    def layer_input(k: int) -> np.ndarray:
        """h(k-1), recomputed from X."""
        h = np.asarray(X, dtype=net.dtype)
        for j in range(1, k):
            h = act.forward(linear_forward(h, net.params[f"W{j}"], net.params[f"b{j}"]))
        return h

    h_last = layer_input(depth)
    scores = linear_forward(h_last, net.params[f"W{depth}"], net.params[f"b{depth}"])
    loss, g = net.head.loss(scores, y)
    grads: dict[str, np.ndarray] = {}
    for k in range(depth, 0, -1):
        h_prev = h_last if k == depth else layer_input(k)
        dh, grads[f"W{k}"], grads[f"b{k}"] = linear_backward(
            g, h_prev, net.params[f"W{k}"], need_dx=k > 1
        )
        if k > 1:
            g = act.backward(dh, h_prev)
    return loss, {name: grads[name] for name in net.params}


# -- python -m mlp.backprop -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Print Problem 1's backward pass step by step (``python -m mlp.backprop --help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m mlp.backprop",
        description="Backpropagation through Problem 1's 3-3-1 sigmoid network, step by step, "
        "each gradient checked against centred differences.",
    )

    def one_line_error(message: str):  # argparse's, without the usage line above it
        parser.exit(2, f"{parser.prog}: error: {message} (see '{parser.prog} --help')\n")

    parser.error = one_line_error  # type: ignore[method-assign]

    def seed(text: str) -> int:
        if not text.isdigit():
            raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
        return int(text)

    parser.add_argument("--seed", type=seed, default=0, help="seed of the weights and x (0)")
    parser.add_argument("--label", type=float, default=1.0, help="the label y in [0, 1] (1)")
    parser.add_argument("--fused", action="store_true",
                        help="start at grad_a2 J = y_hat - y, as the library does, instead of "
                        "grad_yhat L")
    args = parser.parse_args(argv)
    try:
        _check_label(args.label)
    except ValueError as exc:  # a label outside [0, 1]: a usage error, said in one line
        parser.error(f"argument --label: {exc}")
    net, x, _ = example_network(args.seed)
    checks = explain_backward(net, x, args.label, fused=args.fused)
    return 0 if max(c.rel_error for c in checks) < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
