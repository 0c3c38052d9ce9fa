"""The backprop tab's server side: Problem 1's network stepped through by the library.

The page sends x, y and the weights of the problem set's 3-3-1 network (or asks for the
example values of a seed); every field is checked here like any user input, and the answer is
:func:`mlp.backprop.walk_backward`'s forward pass, its backward steps in the algorithm's order
(each g beside its closed form, its numeric gradient and their relative error), the parameter
gradients and the chain rule of every parameter entry (:func:`mlp.backprop.chain_rule`). The
page computes none of it: it draws what this sends.

Everything is in the problem set's column-vector layout, ``a1 = b1 + W1 x``: ``W1`` is (H, D),
row i holding the weights into hidden unit i, ``W2`` (1, H), ``x`` and ``b1`` columns (D, 1) and
(H, 1). The library stores a layer for batches of rows, ``h @ W + b``, so its ``W1`` is (D, H):
the transpose, converted here both ways (:func:`_network`, :func:`values_of`).

Also here, for the 2-D tab's network: one training example through any :class:`mlp.MLP`,
layer by layer (:func:`mlp.backprop.layer_steps`), in the library's row layout.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..backprop import Walkthrough, chain_rule, example_network, layer_steps, walk_backward
from ..network import MLP
from .config import ConfigError

#: Problem 1's network: D inputs, H sigmoid hidden units, one sigmoid output.
D, H = 3, 3
#: The page's values by name, with their shapes in the problem set's layout.
SHAPES = {"x": (D, 1), "W1": (H, D), "b1": (H, 1), "W2": (1, H), "b2": (1, 1)}
#: What each value is, for the messages.
MEANING = {"x": "the input", "W1": "row i: the weights into hidden unit i",
           "b1": "the hidden units' biases", "W2": "the weights into the output",
           "b2": "the output's bias"}
#: The largest magnitude of an input, weight or bias: beyond it the sigmoids are flat and the
#: numbers say nothing more (the output rounds to 0 or 1 long before, at |a2| > 36.7).
MAX_MAGNITUDE = 100.0
#: Seeds of :func:`mlp.backprop.example_network`.
MAX_SEED = 2**32 - 1


def limits() -> dict[str, Any]:
    """What the page's fields may hold, sent with every answer so that the page restates none
    of it."""
    return {"shapes": {name: list(shape) for name, shape in SHAPES.items()},
            "magnitude": MAX_MAGNITUDE, "y": [0.0, 1.0], "max_seed": MAX_SEED}


# -- reading the page's values -----------------------------------------------------------------


def _entry(name: str, value: object, lo: float, hi: float) -> float:
    """One number within [lo, hi]; JSON's NaN and Infinity, booleans, text and huge integers
    (compared before any conversion, which would overflow) are refused, naming the entry."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= value <= hi:
        raise ConfigError(name, f"a number from {lo:g} to {hi:g}", _short(value))
    return float(value)


def _short(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 40 else text[:40] + "..."


def _array(msg: dict, name: str) -> np.ndarray:
    """``msg[name]`` as its shape in :data:`SHAPES`: a list of rows, or, for a column or a
    single row, a flat list of its numbers."""
    rows, cols = SHAPES[name]
    value = msg.get(name)
    expected = (f"{rows} rows of {cols} numbers ({MEANING[name]})" if min(rows, cols) > 1 else
                f"a list of {rows * cols} number{'s' if rows * cols > 1 else ''} "
                f"({MEANING[name]})")
    flat = (isinstance(value, list) and len(value) == rows * cols and min(rows, cols) == 1
            and not any(isinstance(v, list) for v in value))
    if flat:
        entries = [[_entry(f"{name}[{k}]", v, -MAX_MAGNITUDE, MAX_MAGNITUDE)
                    for k, v in enumerate(value)]]
        return np.array(entries, dtype=np.float64).reshape(rows, cols)
    if not (isinstance(value, list) and len(value) == rows
            and all(isinstance(row, list) and len(row) == cols for row in value)):
        raise ConfigError(name, expected, _short(value))
    return np.array([[_entry(f"{name}[{i}][{j}]", v, -MAX_MAGNITUDE, MAX_MAGNITUDE)
                      for j, v in enumerate(row)] for i, row in enumerate(value)])


def _label(msg: dict) -> float:
    return _entry("y", msg.get("y"), 0.0, 1.0)


def read(msg: dict) -> tuple[dict[str, np.ndarray], float, int | None]:
    """The values of a ``backprop`` message: ``(arrays by name, y, seed)``.

    Either ``example`` (a seed: :func:`mlp.backprop.example_network`'s weights, biases and x,
    with its y = 1 unless ``y`` is given), or every field of :data:`SHAPES` and ``y``. Raises
    ConfigError naming the first bad field (and the entry, for a bad number)."""
    fields = set(msg) - {"type"}
    if "example" in msg:
        extra = sorted(fields - {"example", "y"})
        if extra:
            raise ConfigError(extra[0], "nothing beside example but y (the example sets the "
                              "rest)", _short(msg[extra[0]]))
        seed = msg["example"]
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ConfigError("example", f"a seed, an integer from 0 to {MAX_SEED}",
                              _short(seed))
        net, x, y = example_network(seed)
        values = values_of(net, x)
        return values, (_label(msg) if "y" in msg else y), seed
    extra = sorted(fields - {*SHAPES, "y"})
    if extra:
        raise ConfigError(extra[0], "only the fields example, y, " + ", ".join(SHAPES),
                          _short(extra[0]))
    return {name: _array(msg, name) for name in SHAPES}, _label(msg), None


def values_of(net: MLP, x: np.ndarray) -> dict[str, np.ndarray]:
    """x and the network's parameters in the problem set's layout (W transposed: the library
    keeps W(k) as (n_{k-1}, n_k) for batches of rows; the biases as columns)."""
    p = net.params
    return {"x": np.asarray(x, dtype=np.float64).reshape(D, 1), "W1": p["W1"].T.copy(),
            "b1": p["b1"].reshape(H, 1).copy(), "W2": p["W2"].T.copy(),
            "b2": p["b2"].reshape(1, 1).copy()}


def _network(values: dict[str, np.ndarray]) -> MLP:
    """Problem 1's network with these weights (given in the problem set's layout)."""
    net = MLP(D, [H], 1, activation="sigmoid", output="sigmoid", seed=0)
    net.params = {"W1": values["W1"].T.copy(), "b1": values["b1"].ravel().copy(),
                  "W2": values["W2"].T.copy(), "b2": values["b2"].ravel().copy()}
    return net


# -- the answer ------------------------------------------------------------------------------


def numbers_of(value: object) -> Any:
    """An array or number as JSON: nested lists of floats, a non-finite one as the text
    ``inf``, ``-inf`` or ``nan`` (JSON has no such numbers; where y_hat rounds to 0 or 1 the
    algorithm's first g is one)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        v = float(arr)
        return v if math.isfinite(v) else str(v)
    return [numbers_of(v) for v in arr]


def problem_one(msg: dict) -> dict[str, Any]:
    """The answer to a ``backprop`` message (see docs/playground.md)."""
    values, y, seed = read(msg)
    with np.errstate(all="ignore"):  # a saturated output: inf and NaN are shown, not warned
        walk = walk_backward(_network(values), values["x"], y)
        chains = {name: [[_chain(walk, name, (i, j)) for j in range(shape[1])]
                         for i in range(shape[0])]
                  for name, shape in SHAPES.items() if name != "x"}
    cache = walk.trace.forward
    return {
        "type": "backprop", "example": seed, "limits": limits(),
        "values": {**{name: numbers_of(v) for name, v in values.items()}, "y": y},
        "command": (f"python -m mlp.backprop --seed {seed} --label {y:g}"
                    if seed is not None else None),
        "forward": {"x": numbers_of(cache.h[0]), "a1": numbers_of(cache.a[1]),
                    "h1": numbers_of(cache.h[1]), "a2": numbers_of(cache.a[2]),
                    "yhat": numbers_of(cache.h[2]), "y": y, "J": numbers_of(walk.trace.loss)},
        "steps": [_step(c) for c in walk.steps],
        "grads": {name: numbers_of(g) for name, g in walk.trace.grads.items()},
        "chains": chains,
    }


def _step(check) -> dict[str, Any]:
    closed = None
    if check.closed_form is not None:
        closed = {"label": check.closed_form_label, "value": numbers_of(check.closed_form)}
    return {"name": check.name, "node": check.quantity, "updates_g": check.updates_g,
            "formula": check.formula, "closed_form": closed,
            "value": numbers_of(check.analytic), "numeric": numbers_of(check.numeric),
            "rel_error": numbers_of(check.rel_error)}


def _chain(walk: Walkthrough, name: str, index: tuple[int, int]) -> dict[str, Any]:
    factors = chain_rule(walk, name, index)
    product = math.prod(f.value for f in factors)
    return {"factors": [{"derivative": f.derivative, "formula": f.formula,
                         "value": numbers_of(f.value), "node": f.node} for f in factors],
            "product": numbers_of(product),
            "gradient": numbers_of(walk.trace.grads[name][index])}


# -- the 2-D tab's network, one training example ------------------------------------------------


def network_example(model: MLP, X: np.ndarray, y: np.ndarray, msg: dict) -> dict[str, Any]:
    """The answer to a ``backprop_net`` message: training example ``msg["example"]`` (an index
    into X (N, D) and its targets y) through ``model``'s backward pass, layer by layer from the
    output down, in the library's row layout (W (fan-in, fan-out), as the 2-D tab draws it)."""
    n = X.shape[0]
    index = msg.get("example")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
        raise ConfigError("example", f"the index of a training point, an integer from 0 to "
                          f"{n - 1}", _short(index))
    loss, steps = layer_steps(model, X[index], y[index])
    return {
        "type": "backprop_net", "example": index, "examples": n, "x": numbers_of(X[index]),
        "y": numbers_of(y[index]), "output": model.output, "loss": numbers_of(loss),
        "layers": [{
            "index": s.index, "layer": s.layer, "affine": bool(s.grads),
            "upstream": numbers_of(s.upstream), "local": None if s.local is None
            else numbers_of(s.local), "downstream": numbers_of(s.downstream),
            "params": {name: {"grad": numbers_of(g), "rel_error": s.checks[name].error,
                              "kinks": s.checks[name].kinks} for name, g in s.grads.items()},
        } for s in steps],
    }
