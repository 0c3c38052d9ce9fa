"""The estimators and files: an estimator read back from the library's model file
(``MLPClassifier.save``), and one fitted on a CSV table the way ``mlp train`` reads it."""

from __future__ import annotations

import os

import numpy as np
from sklearn.base import BaseEstimator

from ..data import read_csv
from ..serialization import load as load_model
from ..serialization import load_metadata
from ._base import _unplain
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor


def load(path: os.PathLike | str) -> BaseEstimator:
    """Read an estimator written by ``MLPClassifier.save`` or ``MLPRegressor.save``."""
    extra = load_metadata(path).get("extra") or {}
    kinds = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    cls = kinds.get(extra.get("estimator"))
    if cls is None or not isinstance(extra.get("params"), dict) or not isinstance(
            extra.get("fitted"), dict):
        raise ValueError(f"{path}: a model file, but not one written by MLPClassifier.save or "
                         "MLPRegressor.save (its metadata names no estimator)")
    params = {k: _unplain(v) for k, v in extra["params"].items()}
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    est = cls(**params)
    for name, value in extra["fitted"].items():
        if name in ("classes_", "feature_names_in_"):
            value = np.asarray(value, dtype=object if name == "feature_names_in_" else None)
        setattr(est, name, value)
    est.model_ = load_model(path)
    est._optimizer, est._adaptive = None, None
    return est


def fit_csv(path: os.PathLike | str, target: str | None = None, *, task: str | None = None,
            **params) -> BaseEstimator:
    """An estimator fitted on a CSV table, read by the library's one CSV reader
    (:func:`mlp.data.read_csv`: a header row, ``target`` the column to learn, None for the last
    one): an :class:`MLPClassifier` or :class:`MLPRegressor` for the target's task, the task
    ``mlp train --data`` and the playground give the same column. ``params`` go to the
    estimator; a classifier's ``classes_`` are the labels as the file writes them."""
    table = read_csv(path, target, task=task)
    if table.task == "regression":
        return MLPRegressor(**params).fit(table.X, table.y)
    return MLPClassifier(**params).fit(table.X, np.asarray(table.classes)[table.y])
