"""ONNX export: a network as an inference graph that onnxruntime (or any ONNX runtime) runs without
this library, NumPy or Python.

The graph is built node by node with the ``onnx`` package alone (``pip install "mlp[onnx]"``;
``import mlp`` does not load it). It computes what ``predict`` and ``predict_proba`` compute:

==========================  ===================================================================
head                        outputs
==========================  ===================================================================
softmax                     ``label`` (N,) int64 (or the class names), ``probabilities`` (N, C)
sigmoid, one unit           ``label`` (N,) int64 0/1 (or the class names), ``probabilities``
                            (N, 2) holding ``[1 - p, p]``
sigmoid, K units            ``label`` (N, K) int64 0/1, ``probabilities`` (N, K) (multilabel)
linear                      ``value`` (N,) for one target, (N, K) for K targets
exp (Poisson)               ``value`` as linear, ``exp`` of the scores
==========================  ===================================================================

The input is ``input`` (N, D), N any number of rows. Inputs, probabilities and values have the
graph's dtype (float32 or float64). A :class:`Preprocessing` puts into the graph what ``mlp
predict`` does around the network (the pixel scale, a table's standardisation, the regression
target's units, the class names), so that the exported model takes the same raw inputs.

Layers: Dense -> MatMul + Add; activations -> Relu, Sigmoid, Tanh, LeakyRelu (float64: Max of a
and 0.01 a; identity: no node); Dropout -> no node (the identity at inference); BatchNorm -> Mul
+ Add with the inference scale ``gamma / sqrt(running_var + eps)`` and shift computed here as the
layer computes them. ONNX opset 17 (IR version 8), which onnxruntime 1.12 and later run. See
docs/onnx.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import write_atomic
from .layers import LAYER_TYPES, LEAKY_RELU_SLOPE, Layer
from .network import MLP

if TYPE_CHECKING:
    import onnx

__all__ = ["OPSET", "IR_VERSION", "INPUT", "Preprocessing", "to_onnx"]

#: The ONNX operator set the graphs use, and the file format version that goes with it.
OPSET = 17
IR_VERSION = 8
#: The name of the graph's input.
INPUT = "input"
#: What one ONNX file may hold (protobuf's limit).
MAX_BYTES = 2**31 - 1


def _import_onnx():
    """The ``onnx`` package, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError('ONNX export needs the onnx package: pip install "mlp[onnx]"',
                          name="onnx") from exc
    return onnx


# -- what happens around the network ----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Preprocessing:
    """What ``mlp predict`` does around a network, to be put into its ONNX graph.

    input_mean, input_std: (D,) or scalars; raw inputs x enter the network as
        ``(x - input_mean) / input_std`` (a table's standardisation; pixels 0-255 of a model
        trained on pixels / 255 have mean 0 and std 255). None: no shift, no scaling.
    target_mean, target_std: (K,) or scalars, for a regression: the ``value`` output is
        ``target_mean + target_std * scores`` (a table's target standardisation undone).
    classes: the name of each class, in the order of the network's class indices (strings,
        integers, floats or booleans); the ``label`` output then holds names, not indices.
    """

    input_mean: np.ndarray | float | None = None
    input_std: np.ndarray | float | None = None
    target_mean: np.ndarray | float | None = None
    target_std: np.ndarray | float | None = None
    classes: Sequence[Any] | np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("input_mean", "input_std", "target_mean", "target_std"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be a number or a 1-D array of numbers; got "
                                f"{value!r}"[:200]) from None
            if array.ndim > 1 or not np.isfinite(array).all():
                raise ValueError(f"{name} must be a finite number or a 1-D array of finite "
                                 f"numbers; got shape {array.shape}")
            if name.endswith("std") and not (array > 0).all():
                raise ValueError(f"{name} must be positive; got {array.min():g}")
            object.__setattr__(self, name, array)
        if self.classes is not None:
            object.__setattr__(self, "classes", _class_names(self.classes))

    def target_scaling(self) -> tuple[np.ndarray | float, np.ndarray | float] | None:
        """``(target_mean, target_std)`` with the missing one neutral, or None if neither."""
        if self.target_mean is None and self.target_std is None:
            return None
        return (0.0 if self.target_mean is None else self.target_mean,
                1.0 if self.target_std is None else self.target_std)

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any], input_size: int) -> Preprocessing:
        """What ``mlp predict`` does around the network of a model file, from the file's
        ``extra`` metadata (as :func:`mlp.serialization.load_with_metadata` returns it, checked):
        a CSV table's standardisation, target standardisation and class names (``mlp train
        --data``); the pixel scale of an image model (``input_max``: pixels 0-255 enter as
        ``pixel * input_max / 255``); an estimator's ``classes_`` (``MLPClassifier.save``).
        input_size: D, the network's input width."""
        from .serialization import input_max

        table = extra.get("table")
        if isinstance(table, Mapping):
            return cls._from_table(table, input_size)
        fitted = extra.get("fitted") if extra.get("estimator") else None
        if isinstance(fitted, Mapping):
            single = fitted.get("classes_") is not None and not fitted.get("_multilabel")
            return cls(classes=fitted["classes_"] if single else None)
        scale = 255.0 / input_max(extra)
        return cls(input_std=scale) if scale != 1.0 else cls()

    @classmethod
    def _from_table(cls, table: Mapping[str, Any], input_size: int) -> Preprocessing:
        # Imported here: mlp.data loads the whole data package, which export does not need.
        from .data.standardize import Standardizer

        x = Standardizer.from_dict(table["standardize"], input_size)
        if table["task"] != "regression":
            return cls(x.mean, x.std, classes=table["classes"])
        record = table.get("target_standardize")
        t = Standardizer.from_dict(record, 1) if record else None
        return cls(x.mean, x.std, t.mean if t else None, t.std if t else None)


def _class_names(classes) -> np.ndarray:
    """``classes`` as a 1-D array of one ONNX-storable kind: str, int64, float64 or bool."""
    names = np.asarray(classes)
    if names.ndim != 1 or len(names) < 2:
        raise ValueError(f"classes must list at least 2 class names; got shape {names.shape}")
    if names.dtype.kind == "O" and all(isinstance(c, str) for c in names):
        names = names.astype(str)
    kinds = {"U": str, "i": np.int64, "u": np.int64, "f": np.float64, "b": np.bool_}
    if names.dtype.kind not in kinds:
        raise TypeError(f"classes must all be strings, integers, floats or booleans; got "
                        f"{names.dtype} values {names[:3].tolist()!r}")
    if names.dtype.kind == "u" and names.max() > np.iinfo(np.int64).max:
        raise ValueError("classes must fit int64")
    return names.astype(kinds[names.dtype.kind])


# -- the graph ------------------------------------------------------------------------------


class _Graph:
    """Nodes and constants being collected, with fresh names for the values between nodes."""

    def __init__(self, onnx, dtype: np.dtype) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list = []
        self.constants: list = []
        self._numbers: dict[str, str] = {}
        self._count = 0

    def const(self, array: np.ndarray, name: str) -> str:
        """A constant (an initializer) holding ``array``; returns its name."""
        array = np.asarray(array)
        if array.dtype.kind == "U":
            tensor = self.onnx.helper.make_tensor(
                name, self.onnx.TensorProto.STRING, array.shape,
                [s.encode("utf-8") for s in array.tolist()])
        else:
            tensor = self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)
        self.constants.append(tensor)
        return name

    def number(self, value: float, name: str) -> str:
        """A scalar of the graph's dtype, made once however many nodes use it."""
        if name not in self._numbers:
            self._numbers[name] = self.const(np.array(value, dtype=self.dtype), name)
        return self._numbers[name]

    def node(self, op: str, inputs: Sequence[str], label: str, out: str | None = None,
             **attrs) -> str:
        """Add ``op`` on ``inputs``; returns the name of its output (``out`` or a new one).
        ``label`` names the node after what it computes (``layers[0] Dense``)."""
        self._count += 1
        out = out or f"t{self._count}"
        self.nodes.append(self.onnx.helper.make_node(
            op, list(inputs), [out], name=f"{label} {op} {self._count}", **attrs))
        return out


def _tensor_type(onnx, dtype: np.dtype) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _dense(g: _Graph, i: int, layer: Layer, x: str, k: int) -> str:
    W, b = (layer.params[key].astype(g.dtype) for key in ("W", "b"))
    label = f"layers[{i}] Dense"
    h = g.node("MatMul", [x, g.const(W, f"W{k}")], label)
    return g.node("Add", [h, g.const(b, f"b{k}")], label)


def _batch_norm(g: _Graph, i: int, layer: Layer, x: str, k: int) -> str:
    # The very expressions of BatchNorm.forward at inference, in the layer's dtype.
    gamma, beta = layer.params["gamma"], layer.params["beta"]
    scale = gamma / np.sqrt(layer.state["running_var"] + layer.eps)
    shift = beta - layer.state["running_mean"] * scale
    label = f"layers[{i}] BatchNorm"
    h = g.node("Mul", [x, g.const(scale.astype(g.dtype), f"batch_norm_scale{k}")], label)
    return g.node("Add", [h, g.const(shift.astype(g.dtype), f"batch_norm_shift{k}")], label)


#: Each activation's ONNX operator and its attributes; None: the identity, no node.
ACTIVATION_OPS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "identity": None,
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": LEAKY_RELU_SLOPE}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
}


def _activation(g: _Graph, i: int, layer: Layer, x: str, k: int) -> str:
    if layer.name not in ACTIVATION_OPS:
        raise ValueError(f"layers[{i}]: no ONNX operator for the activation {layer.name!r} "
                         f"(known: {', '.join(ACTIVATION_OPS)})")
    op, label = ACTIVATION_OPS[layer.name], f"layers[{i}] {layer.name}"
    if layer.name == "leaky_relu" and g.dtype == np.float64:
        # LeakyRelu's alpha is a float32 attribute, 0.01 to 8 digits only: max(a, 0.01 a) as
        # the layer computes it instead.
        slope = g.node("Mul", [x, g.number(LEAKY_RELU_SLOPE, "leaky_relu_slope")], label)
        return g.node("Max", [x, slope], label)
    return x if op is None else g.node(op[0], [x], label, **op[1])


def _dropout(g: _Graph, i: int, layer: Layer, x: str, k: int) -> str:
    return x  # the identity at inference


#: How each of the library's layers becomes nodes: (graph, index, layer, input, number of the
#: affine layer it belongs to) -> output.
LAYER_NODES: dict[str, Callable[[_Graph, int, Layer, str, int], str]] = {
    "Dense": _dense, "BatchNorm": _batch_norm, "Activation": _activation, "Dropout": _dropout,
}


# -- the heads --------------------------------------------------------------------------------

Outputs = list[tuple[str, int, list]]  # (name, ONNX element type, shape)


def _labels(g: _Graph, codes: str, classes: np.ndarray | None, out_shape: list) -> Outputs:
    """The ``label`` output: class indices ``codes`` (int64), or the names they index."""
    int64 = g.onnx.TensorProto.INT64
    if classes is None or (classes.dtype == np.int64 and
                           np.array_equal(classes, np.arange(len(classes)))):
        g.node("Identity", [codes], "head", out="label")
        return [("label", int64, out_shape)]
    g.node("Gather", [g.const(classes, "classes"), codes], "head", out="label", axis=0)
    kind = (g.onnx.TensorProto.STRING if classes.dtype.kind == "U"
            else _tensor_type(g.onnx, classes.dtype))
    return [("label", kind, out_shape)]


def _softmax_head(g: _Graph, scores: str, net: MLP, classes) -> Outputs:
    c = net.output_size
    codes = g.node("ArgMax", [scores], "head", axis=1, keepdims=0)
    labels = _labels(g, codes, classes, ["N"])
    g.node("Softmax", [scores], "head", out="probabilities", axis=1)
    return labels + [("probabilities", _tensor_type(g.onnx, g.dtype), ["N", c])]


def _sigmoid_head(g: _Graph, scores: str, net: MLP, classes) -> Outputs:
    k = net.output_size
    positive = g.node("Greater", [scores, g.number(0, "zero")], "head")
    codes = g.node("Cast", [positive], "head", to=g.onnx.TensorProto.INT64)
    float_type = _tensor_type(g.onnx, g.dtype)
    if k > 1:  # multilabel: one 0/1 label and one probability per column
        g.node("Identity", [codes], "head", out="label")
        g.node("Sigmoid", [scores], "head", out="probabilities")
        return [("label", g.onnx.TensorProto.INT64, ["N", k]),
                ("probabilities", float_type, ["N", k])]
    axis = g.const(np.array([1], dtype=np.int64), "column_axis")
    labels = _labels(g, g.node("Squeeze", [codes, axis], "head"), classes, ["N"])
    p = g.node("Sigmoid", [scores], "head")
    q = g.node("Sub", [g.number(1, "one"), p], "head")
    g.node("Concat", [q, p], "head", out="probabilities", axis=1)
    return labels + [("probabilities", float_type, ["N", 2])]


def _linear_head(g: _Graph, scores: str, net: MLP, target: tuple | None) -> Outputs:
    k = net.output_size
    if target is not None:
        mean, std = (np.broadcast_to(a, (k,)).astype(g.dtype) for a in target)
        scaled = g.node("Mul", [scores, g.const(std, "target_std")], "head")
        scores = g.node("Add", [g.const(mean, "target_mean"), scaled], "head")
    if k == 1:
        axis = g.const(np.array([1], dtype=np.int64), "column_axis")
        g.node("Squeeze", [scores, axis], "head", out="value")
    else:
        g.node("Identity", [scores], "head", out="value")
    return [("value", _tensor_type(g.onnx, g.dtype), ["N"] if k == 1 else ["N", k])]


def _exp_head(g: _Graph, scores: str, net: MLP, target: tuple | None) -> Outputs:
    """The log link (a Poisson regression): the values are exp(scores)."""
    return _linear_head(g, g.node("Exp", [scores], "head"), net, target)


#: Each output head's nodes: (graph, scores, network, classes or target scaling) -> outputs.
HEAD_NODES: dict[str, Callable[[_Graph, str, MLP, Any], Outputs]] = {
    "softmax": _softmax_head, "sigmoid": _sigmoid_head, "linear": _linear_head,
    "exp": _exp_head,
}


# -- the export -------------------------------------------------------------------------------


def _network(model: object) -> tuple[MLP, np.ndarray | None]:
    """The network of ``model`` (an MLP, or a fitted estimator's ``model_``) and, for an
    estimator, its ``classes_``."""
    if isinstance(model, MLP):
        return model, None
    net = getattr(model, "model_", None)
    if isinstance(net, MLP):
        classes = getattr(model, "classes_", None)
        multilabel = net.output == "sigmoid" and net.output_size > 1
        return net, None if classes is None or multilabel else _class_names(classes)
    if hasattr(model, "coefs_"):  # scikit-learn's own MLP
        raise TypeError(f"model is scikit-learn's {type(model).__name__}: convert it with "
                        "mlp.estimators.from_sklearn first")
    if hasattr(model, "get_params") and hasattr(model, "fit"):
        raise ValueError(f"the {type(model).__name__} is not fitted (it has no model_): call "
                         "fit before exporting it")
    raise TypeError(f"model must be an mlp.MLP or a fitted estimator of mlp.estimators; got "
                    f"{type(model).__name__}")


def _check_network(net: MLP) -> None:
    layers = getattr(net, "layers", None)
    if not layers or not any(type(layer).__name__ == "Dense" for layer in layers):
        raise ValueError("the network has no layers to export (it needs at least one Dense "
                         "layer)")
    for i, layer in enumerate(layers):
        name = type(layer).__name__
        if LAYER_TYPES.get(name) is not type(layer):
            raise ValueError(f"cannot export layers[{i}] ({name}): ONNX export knows the "
                             f"library's layers only ({', '.join(LAYER_TYPES)})")
    if net.output not in HEAD_NODES:
        raise ValueError(f"cannot export output={net.output!r}: ONNX export knows the outputs "
                         f"{', '.join(HEAD_NODES)}")


def _check_preprocessing(pre: Preprocessing, net: MLP) -> None:
    for name in ("input_mean", "input_std"):
        value = getattr(pre, name)
        if value is not None and value.ndim == 1 and len(value) != net.input_size:
            raise ValueError(f"preprocessing.{name} must hold one value per input "
                             f"({net.input_size}); got {len(value)}")
    regression = net.head.task == "regression"
    for name in ("target_mean", "target_std"):
        value = getattr(pre, name)
        if value is not None and not regression:
            raise ValueError(f"preprocessing.{name} applies to regression outputs; the "
                             f"network's output is {net.output!r}")
        if value is not None and value.ndim == 1 and len(value) != net.output_size:
            raise ValueError(f"preprocessing.{name} must hold one value per target "
                             f"({net.output_size}); got {len(value)}")
    if pre.classes is not None and regression:
        raise ValueError(f"preprocessing.classes applies to classifiers; the network's output "
                         f"is {net.output!r}")


def _check_classes(net: MLP, classes: np.ndarray | None) -> np.ndarray | None:
    """The class names for the ``label`` output, checked against the network's classes."""
    if classes is None:
        return None
    if net.output == "sigmoid" and net.output_size > 1:
        raise ValueError(f"class names apply to single-label classifiers; this network is "
                         f"multilabel ({net.output_size} sigmoid units), its label output "
                         "holds 0/1 per label")
    if len(classes) != net.n_classes:
        raise ValueError(f"the network has {net.n_classes} classes; got {len(classes)} class "
                         f"names")
    return classes


def _graph_dtype(dtype, net: MLP) -> np.dtype:
    if dtype is None:
        return net.dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64 (or None: the network's own); got "
                         f"{dtype!r}")
    return dt


def to_onnx(
    model: object,
    *,
    dtype: np.dtype | type | str | None = None,
    preprocessing: Preprocessing | None = None,
    path: os.PathLike | str | None = None,
) -> onnx.ModelProto:
    """The ONNX inference graph of ``model``, checked by ``onnx.checker``; written to ``path``
    (atomically) if given.

    model: an :class:`mlp.MLP`, or a fitted ``mlp.estimators.MLPClassifier`` or
        ``MLPRegressor`` (its ``model_``; a classifier's ``classes_`` become the ``label``
        output's values).
    dtype: float32 or float64, the type of the input, the computation and the float outputs;
        None: the network's own.
    preprocessing: what to do around the network (see :class:`Preprocessing`); its classes
        take the place of an estimator's.

    The graph takes ``input`` (N, D) and gives, by the network's output: ``label`` (N,) and
    ``probabilities`` (N, C) for a softmax or a one-unit sigmoid (``[1 - p, p]``, C = 2);
    ``label`` (N, K) 0/1 and ``probabilities`` (N, K) for a multilabel sigmoid; ``value`` (N,)
    (one target) or (N, K) for a regression. Labels are int64 class indices unless class names
    are given (then strings, int64, float64 or bool, as the names are).
    """
    onnx = _import_onnx()
    if path is not None and os.path.isdir(path):
        raise IsADirectoryError(f"{os.fspath(path)}: is a folder; give the path of the ONNX file "
                                "to write")
    net, classes = _network(model)
    _check_network(net)
    dt = _graph_dtype(dtype, net)
    pre = Preprocessing() if preprocessing is None else preprocessing
    if not isinstance(pre, Preprocessing):
        raise TypeError(f"preprocessing must be an mlp.onnx.Preprocessing or None; got "
                        f"{type(pre).__name__}")
    _check_preprocessing(pre, net)
    classes = _check_classes(net, classes if pre.classes is None else pre.classes)
    g = _Graph(onnx, dt)
    scores = _layers(g, net, _inputs(g, pre))
    head = pre.target_scaling() if net.head.task == "regression" else classes
    proto = _model(onnx, g, net, dt, HEAD_NODES[net.output](g, scores, net, head), classes)
    if path is not None:
        write_atomic(path, lambda f: f.write(proto.SerializeToString()))
    return proto


def _inputs(g: _Graph, pre: Preprocessing) -> str:
    """The raw input shifted and scaled as the network's inputs were made."""
    x = INPUT
    if pre.input_mean is not None:
        x = g.node("Sub", [x, g.const(pre.input_mean.astype(g.dtype), "input_mean")],
                   "preprocessing")
    if pre.input_std is not None:
        x = g.node("Div", [x, g.const(pre.input_std.astype(g.dtype), "input_std")],
                   "preprocessing")
    return x


def _layers(g: _Graph, net: MLP, x: str) -> str:
    """The nodes of every layer in turn, on ``x``; returns the scores. Constants are named like
    ``net.params`` (W1, b1, ...): k counts the affine layers so far."""
    k = 0
    for i, layer in enumerate(net.layers):
        k += "W" in layer.params
        x = LAYER_NODES[type(layer).__name__](g, i, layer, x, max(k, 1))
    return x


def _model(onnx, g: _Graph, net: MLP, dt: np.dtype, outputs: Outputs, classes) -> Any:
    """The checked ModelProto of the graph ``g``."""
    from . import __version__

    helper = onnx.helper
    graph = helper.make_graph(
        g.nodes, "mlp", [helper.make_tensor_value_info(INPUT, _tensor_type(onnx, dt),
                                                       ["N", net.input_size])],
        [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in outputs],
        g.constants, doc_string=repr(net))
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION, producer_name="mlp",
                              producer_version=__version__, doc_string=repr(net))
    props = {"output": net.output, "outputs": ",".join(name for name, _, _ in outputs)}
    if classes is not None:
        props["classes"] = json.dumps(np.asarray(classes).tolist())
    helper.set_model_props(proto, props)
    if proto.ByteSize() > MAX_BYTES:
        raise ValueError(f"the network's ONNX graph would take {proto.ByteSize():,} bytes, more "
                         f"than one ONNX file may hold ({MAX_BYTES:,})")
    onnx.checker.check_model(proto, full_check=True)
    return proto
