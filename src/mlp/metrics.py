"""Scores of predictions: accuracy for classifiers, the coefficient of determination R^2 and the
root mean squared error for regressors (scikit-learn's ``accuracy_score``, ``r2_score`` and
``root_mean_squared_error`` conventions). Every door scores with these."""

from __future__ import annotations

import numpy as np


def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Fraction of rows predicted exactly. y, pred: (N,) labels, or (N, C) multilabel rows (a
    row counts only if every label is right)."""
    hit = np.asarray(y) == np.asarray(pred)
    if hit.ndim == 2:
        hit = hit.all(axis=1)
    return float(np.mean(hit))


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SS_res / SS_tot, averaged over the C targets. y, pred: (N,) or (N, C) floats.

    A target that is constant over the rows gives 1.0 if predicted exactly, else 0.0 (as
    scikit-learn's ``force_finite``), rather than a division by zero.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pred = np.asarray(pred, dtype=np.float64).reshape(y.shape)
    ss_res = ((y - pred) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    constant = ss_tot == 0
    r2 = np.where(constant, np.where(ss_res == 0, 1.0, 0.0),
                  1 - ss_res / np.where(constant, 1.0, ss_tot))
    return float(r2.mean())


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    """The root of the mean squared error over all entries. y, pred: (N,) or (N, C) floats."""
    y = np.asarray(y, dtype=np.float64)
    error = y - np.asarray(pred, dtype=np.float64).reshape(y.shape)
    return float(np.sqrt(np.mean(error**2)))
