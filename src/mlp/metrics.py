"""Scores of predictions: accuracy, the confusion matrix and each class's accuracy for
classifiers, the coefficient of determination R^2 and the root mean squared error for regressors
(scikit-learn's ``accuracy_score``, ``confusion_matrix``, ``r2_score`` and
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


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray,
                     n_classes: int | None = None) -> np.ndarray:
    """Counts of (true, predicted) label pairs. y_true, y_pred: (N,) ints in [0, C); C is
    ``n_classes``, or one more than the largest label given.

    Returns (C, C) int64: row i, column j counts the examples of class i predicted as j.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length; got {y_true.shape} "
                         f"and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0):
            raise ValueError(f"{name} must hold integer labels >= 0")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    if y_true.size and max(y_true.max(), y_pred.max()) >= n_classes:
        raise ValueError(f"labels must be below n_classes={n_classes}")
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Each class's accuracy (its recall): the fraction of its examples predicted as it.
    cm: (C, C) counts from :func:`confusion_matrix`. Returns (C,) float64, NaN for a class
    without examples."""
    cm = np.asarray(cm)
    total = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.diag(cm) / np.where(total > 0, total, 1), np.nan)
