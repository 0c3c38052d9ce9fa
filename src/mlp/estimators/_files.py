"""Reading an estimator back from the library's model file (``MLPClassifier.save``)."""

from __future__ import annotations

import os

import numpy as np
from sklearn.base import BaseEstimator

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
