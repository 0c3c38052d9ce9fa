"""``lr_find`` for the estimators: the learning-rate range test of :mod:`mlp.lrfind` on the
network a fresh ``fit`` would build, with the estimator's batch size, solver and weights, and
the rates in ``learning_rate_init``'s units."""

from __future__ import annotations

import dataclasses

from sklearn.base import clone
from sklearn.utils import check_random_state

from ..lrfind import LRFinderResult, find_learning_rate


def lr_find(estimator, X, y, sample_weight=None, **kw) -> LRFinderResult:
    """The range test (:func:`mlp.lrfind.find_learning_rate`) on the network that
    ``estimator.fit(X, y, sample_weight)`` would start from: the same architecture, initial
    weights (from ``random_state``), targets, class and sample weights, batch size and solver
    (its settings, with a fresh state). ``kw``: the test's other arguments (``start``,
    ``end``, ``num_steps``, ``smoothing``, ``diverge_factor``, ``seed``; ``batch_size`` and
    ``optimizer`` to override the estimator's), ``start`` and ``end`` in
    ``learning_rate_init``'s terms.

    X: (N, D), y: (N,) or (N, K) as ``fit`` takes them. The estimator is left unchanged
    (the test runs on a clone), fitted or not. The rates, the suggestion and the losses are
    in the estimator's terms: a rate for ``learning_rate_init``, a loss as ``loss_curve_``'s.
    """
    trial = clone(estimator)
    trial._check_params()
    if trial.solver not in ("sgd", "adam"):
        raise ValueError(f"lr_find tests a stochastic solver ('sgd' or 'adam'); solver="
                         f"{trial.solver!r} takes no learning rate")
    X, targets, weights = trial._prepare(X, y, sample_weight,
                                         check_random_state(trial.random_state), first=True)
    scale = trial._loss_scale()
    rate = 1 / scale if trial.solver == "sgd" else 1.0
    options = {"batch_size": trial._batch_size(X.shape[0]),
               "optimizer": trial._new_optimizer()} | kw
    for name in ("start", "end"):  # learning_rate_init's terms -> the library's
        options[name] = options.get(name, find_learning_rate.__kwdefaults__[name]) / rate
    result = find_learning_rate(trial.model_, X, targets, sample_weight=weights, **options)
    return _in_estimator_terms(result, trial._reported_scale(), rate)


def _in_estimator_terms(result: LRFinderResult, scale: float, rate: float) -> LRFinderResult:
    """The library's rates and losses as the estimator's: its reported loss is ``scale`` times
    the library's, and its rate ``rate`` times the library's (plain SGD's is one over the
    gradient's scale: the same steps; Adam's steps do not depend on the loss's scale)."""
    if scale == 1 and rate == 1:
        return result
    return dataclasses.replace(
        result, rates=[r * rate for r in result.rates], suggestion=result.suggestion * rate,
        losses=[v * scale for v in result.losses], smoothed=[v * scale for v in result.smoothed])
