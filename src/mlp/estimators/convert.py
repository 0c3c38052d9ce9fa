"""Conversion both ways between scikit-learn's own MLPs (``sklearn.neural_network``) and this
library's: :func:`from_sklearn` and :func:`to_sklearn`.

A scikit-learn MLP is a chain of affine layers (``coefs_``, ``intercepts_``) with one hidden
activation (identity, logistic, tanh or relu) and an output activation (softmax, logistic,
identity, or exp for the Poisson loss): exactly a :class:`mlp.MLP` of Dense and Activation
layers, so a converted model predicts the same numbers (to rounding, ~1e-15). The other way,
networks that scikit-learn cannot express are refused with the layer that it cannot express;
batch normalisation is folded into the adjacent Dense layer (its inference map is affine) and
dropout, the identity at inference, is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from ..layers import LAYER_TYPES, Activation, BatchNorm, Dense, Layer
from ..losses import OUTPUTS
from ..network import MLP
from ._base import BaseMLP
from ._classifier import MLPClassifier
from ._regressor import LOSSES, MLPRegressor

__all__ = ["from_sklearn", "to_sklearn"]

#: scikit-learn's hidden activations -> the library's, and back.
FROM_SKLEARN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
TO_SKLEARN = {ours: theirs for theirs, ours in FROM_SKLEARN.items()}
#: scikit-learn's output activations -> the library's outputs, and back.
OUTPUT_FROM_SKLEARN = {"softmax": "softmax", "logistic": "sigmoid", "identity": "linear",
                       "exp": "exp"}
OUTPUT_TO_SKLEARN = {ours: theirs for theirs, ours in OUTPUT_FROM_SKLEARN.items()}
#: Parameters that describe the network, which a conversion takes from the layers; the other
#: parameters the two estimators share are training settings that mean the same in both.
ARCHITECTURE = ("hidden_layer_sizes", "activation", "loss")


def _shared_settings(source, target_class: type) -> dict[str, Any]:
    """The training settings of the estimator ``source`` that ``target_class`` also takes."""
    names = set(target_class().get_params(deep=False)) - set(ARCHITECTURE)
    return {name: value for name, value in source.get_params(deep=False).items()
            if name in names}


# -- scikit-learn's -> ours -------------------------------------------------------------------


def from_sklearn(est: SkMLPClassifier | SkMLPRegressor) -> MLPClassifier | MLPRegressor:
    """This library's estimator with the same network as a fitted scikit-learn
    ``MLPClassifier`` or ``MLPRegressor``: same weights (copied), activations, classes and
    output, so ``predict`` and ``predict_proba`` give the same numbers.

    The training settings the two share are copied (``alpha``, ``solver``, ``max_iter``, ...),
    and so are ``loss_curve_``, ``n_iter_``, ``t_`` and the like; ``partial_fit`` goes on from
    the converted weights with a fresh optimiser.
    """
    if not isinstance(est, SkMLPClassifier | SkMLPRegressor):
        raise TypeError(f"est must be a fitted sklearn.neural_network.MLPClassifier or "
                        f"MLPRegressor; got {type(est).__name__}")
    check_is_fitted(est)
    output = OUTPUT_FROM_SKLEARN.get(est.out_activation_)
    if output not in OUTPUTS or est.activation not in FROM_SKLEARN:
        raise ValueError(f"the {type(est).__name__}'s activations ({est.activation!r}, output "
                         f"{est.out_activation_!r}) have no counterpart in this version of mlp")
    model = _network_of(est, output)
    cls = MLPClassifier if isinstance(est, SkMLPClassifier) else MLPRegressor
    params = _shared_settings(est, cls)
    params.update(hidden_layer_sizes=tuple(model.hidden_sizes), activation=est.activation,
                  dtype=model.dtype.name)
    if cls is MLPRegressor:
        params["loss"] = est.loss if est.loss in LOSSES else "squared_error"
    ours = cls(**params)
    _fitted_from(ours, est, model)
    return ours


def _network_of(est, output: str) -> MLP:
    """The library's network computing with copies of ``est``'s arrays."""
    layers: list[Layer] = []
    last = len(est.coefs_) - 1
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        layers.append(Dense.from_arrays(np.array(W), np.array(b)))
        if i < last:
            layers.append(Activation(FROM_SKLEARN[est.activation]))
    loss = "poisson" if output == "exp" else None
    return MLP.from_layers(layers, output, loss=loss)


def _fitted_from(ours: BaseMLP, est, model: MLP) -> None:
    """Set the fitted attributes of ``ours`` as a fit of the same network would."""
    ours._start_fit_state(model)
    ours.n_features_in_ = est.n_features_in_
    if hasattr(est, "feature_names_in_"):
        ours.feature_names_in_ = np.array(est.feature_names_in_, dtype=object)
    ours.n_iter_ = int(getattr(est, "n_iter_", 0))
    ours.t_ = int(getattr(est, "t_", 0))
    ours.loss_curve_ = [float(v) for v in getattr(est, "loss_curve_", [])]
    best = getattr(est, "best_loss_", math.inf)
    ours.best_loss_ = None if best is None else float(best)
    scores = getattr(est, "validation_scores_", None)
    ours.validation_scores_ = None if scores is None else [float(v) for v in scores]
    ours.validation_loss_curve_ = None if scores is None else []
    best_score = getattr(est, "best_validation_score_", None)
    ours.best_validation_score_ = None if best_score is None else float(best_score)
    if isinstance(ours, MLPClassifier):
        ours.classes_ = np.array(est.classes_)
        ours._multilabel = model.output == "sigmoid" and model.output_size > 1
    else:
        ours._single_output = model.output_size == 1
        ours._n_targets = model.output_size


# -- ours -> scikit-learn's -------------------------------------------------------------------


def to_sklearn(model: MLP | MLPClassifier | MLPRegressor) -> SkMLPClassifier | SkMLPRegressor:
    """A fitted scikit-learn ``MLPClassifier`` (softmax and sigmoid outputs) or
    ``MLPRegressor`` (linear and exp outputs) with the same network as ``model``, an
    :class:`mlp.MLP` or a fitted estimator of this package, predicting the same numbers.

    scikit-learn's MLPs alternate one affine layer and one activation, the same for every
    hidden layer (identity, logistic, tanh or relu): a leaky ReLU, mixed activations, two Dense
    layers in a row or a layer of your own raise ValueError naming the layer. Batch
    normalisation is folded into the Dense layer next to it (at inference it is an affine map
    per unit, so predictions agree to rounding); dropout, the identity at inference, is left
    out; a two-class softmax becomes one logistic unit, the difference of its two logits, as
    scikit-learn's binary classifiers have. A Huber regression keeps its predictions; refitted
    by scikit-learn it would use the squared error. A plain network's classes are 0..C-1.
    """
    est = model if isinstance(model, BaseMLP) else None
    if est is not None:
        check_is_fitted(est)
    net = model.model_ if est is not None else model
    if not isinstance(net, MLP):
        raise TypeError(f"model must be an mlp.MLP or a fitted mlp.estimators estimator; got "
                        f"{type(model).__name__}")
    if net.output not in OUTPUT_TO_SKLEARN:
        raise ValueError(f"scikit-learn's MLPs have no output like output={net.output!r}")
    coefs, intercepts, activation = _sklearn_layers(net)
    output = OUTPUT_TO_SKLEARN[net.output]
    if net.output == "softmax" and net.output_size == 2:
        W, b = coefs[-1], intercepts[-1]
        coefs[-1], intercepts[-1] = W[:, 1:] - W[:, :1], b[1:] - b[:1]
        output = "logistic"
    params = _params_to(est) if est is not None else {}
    params.update(hidden_layer_sizes=tuple(c.shape[1] for c in coefs[:-1]),
                  activation=activation)
    if net.output == "exp":
        if "loss" not in SkMLPRegressor().get_params():
            raise ValueError("scikit-learn's MLPRegressor has a Poisson loss from version 1.7 "
                             "on; this one has none")
        params["loss"] = "poisson"
    if net.head.task == "regression":
        sk = SkMLPRegressor(**params)
    else:
        sk = SkMLPClassifier(**params)
        _set_classes(sk, net, est)
    sk.coefs_, sk.intercepts_ = coefs, intercepts
    sk.n_layers_, sk.n_outputs_, sk.out_activation_ = len(coefs) + 1, coefs[-1].shape[1], output
    sk.n_features_in_ = net.input_size
    if est is not None and hasattr(est, "feature_names_in_"):
        sk.feature_names_in_ = np.array(est.feature_names_in_, dtype=object)
    _set_training_state(sk, est)
    return sk


def _params_to(est: BaseMLP) -> dict[str, Any]:
    """The training settings of ``est`` that scikit-learn's estimator takes as they are."""
    sk_class = SkMLPClassifier if isinstance(est, MLPClassifier) else SkMLPRegressor
    params = _shared_settings(est, sk_class)
    if not isinstance(params.get("learning_rate"), str):
        params.pop("learning_rate", None)  # a Schedule object: scikit-learn's default
    return params


def _set_classes(sk: SkMLPClassifier, net: MLP, est: BaseMLP | None) -> None:
    multilabel = net.output == "sigmoid" and net.output_size > 1
    binarizer = LabelBinarizer()
    if multilabel:  # an indicator matrix tells the binarizer it is K yes/no labels
        binarizer.fit(np.eye(net.output_size, dtype=np.int64))
    else:
        binarizer.fit(est.classes_ if est is not None else np.arange(net.n_classes))
    sk._label_binarizer = binarizer  # what scikit-learn's predict maps outputs to labels with
    sk.classes_ = binarizer.classes_


def _set_training_state(sk, est: BaseMLP | None) -> None:
    """Counters and curves, so that ``partial_fit`` and ``warm_start`` continue from here."""
    sk.n_iter_ = int(getattr(est, "n_iter_", 0))
    sk.t_ = int(getattr(est, "t_", 0))
    sk.loss_curve_ = list(getattr(est, "loss_curve_", []))
    early = bool(sk.early_stopping)
    best = getattr(est, "best_loss_", math.inf)
    sk.best_loss_ = None if early else (math.inf if best is None else best)
    scores = getattr(est, "validation_scores_", None)
    sk.validation_scores_ = (list(scores or []) if early else None)
    sk.best_validation_score_ = (max(sk.validation_scores_, default=-math.inf) if early
                                 else None)
    # scikit-learn's own fit state, as its _initialize sets it.
    sk._no_improvement_count = 0
    sk._best_coefs = [W.copy() for W in sk.coefs_]
    sk._best_intercepts = [b.copy() for b in sk.intercepts_]


def _sklearn_layers(net: MLP) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """``(coefs, intercepts, activation)`` of scikit-learn's MLP computing what ``net`` computes
    at inference; ValueError naming the first layer scikit-learn cannot express."""
    segments: list[list[tuple[int, Layer]]] = [[]]
    activations: list[tuple[int, str]] = []
    for i, layer in enumerate(net.layers):
        kind = type(layer).__name__
        if LAYER_TYPES.get(kind) is not type(layer):
            raise ValueError(f"scikit-learn's MLPs cannot express layers[{i}] ({kind}): they "
                             "hold Dense layers and activations only")
        if isinstance(layer, Activation):
            if layer.name not in TO_SKLEARN:
                raise ValueError(
                    f"scikit-learn's MLPs cannot express layers[{i}] (Activation "
                    f"{layer.name!r}): their hidden layers use identity, logistic (sigmoid), "
                    "tanh or relu")
            if activations and layer.name != activations[0][1]:
                first, name = activations[0]
                raise ValueError(
                    f"scikit-learn's MLPs use one activation for every hidden layer; "
                    f"layers[{first}] is {name!r} but layers[{i}] is {layer.name!r}")
            activations.append((i, layer.name))
            segments.append([])
        elif kind != "Dropout":  # dropout: the identity at inference
            segments[-1].append((i, layer))
    coefs, intercepts = [], []
    for segment, after in zip(segments, [None, *activations], strict=True):
        W, b = _fold(segment, after, net.dtype)
        coefs.append(W)
        intercepts.append(b)
    name = activations[0][1] if activations else "relu"  # no hidden layer: any will do
    return coefs, intercepts, TO_SKLEARN[name]


def _fold(segment: Sequence[tuple[int, Layer]], after: tuple[int, str] | None,
          dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The one affine map (W, b) of the layers between two activations: one Dense layer, and
    the batch norms before or after it folded in (computed in float64)."""
    dense = [j for j, (_, layer) in enumerate(segment) if isinstance(layer, Dense)]
    if len(dense) != 1:
        where = f"after layers[{after[0]}] ({after[1]})" if after else "before the first activation"
        if dense:
            i, j = segment[dense[0]][0], segment[dense[1]][0]
            raise ValueError(f"scikit-learn's MLPs cannot express layers[{i}] and layers[{j}]: "
                             "two Dense layers with no activation between them")
        raise ValueError(f"scikit-learn's MLPs need one Dense layer {where}; there is none")
    p = dense[0]
    W = segment[p][1].params["W"].astype(np.float64)
    b = segment[p][1].params["b"].astype(np.float64)
    for _, bn in segment[p + 1:]:  # (x W + b) * scale + shift
        scale, shift = _batch_norm_map(bn)
        W, b = W * scale, b * scale + shift
    for _, bn in reversed(segment[:p]):  # (x * scale + shift) W + b
        scale, shift = _batch_norm_map(bn)
        W, b = scale[:, None] * W, shift @ W + b
    return W.astype(dtype), b.astype(dtype)


def _batch_norm_map(layer: BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """Batch norm at inference as ``x * scale + shift``, (F,) each, in float64."""
    gamma, beta = (layer.params[k].astype(np.float64) for k in ("gamma", "beta"))
    mean, var = (layer.state[k].astype(np.float64) for k in ("running_mean", "running_var"))
    scale = gamma / np.sqrt(var + layer.eps)
    return scale, beta - mean * scale
