"""What the classifier and the regressor share: the parameters, the training run (which calls
:func:`mlp.train`), scikit-learn's stopping rule as a callback, its ``invscaling`` and
``adaptive`` schedules, and saving to the library's model files."""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..callbacks import Watch, copy_weights, put_back
from ..initializers import INITIALIZERS
from ..network import MLP
from ..optim import SGD, Adam, Constant, Optimizer, Schedule
from ..serialization import save as save_model
from ..training import Callback, DivergenceError, TrainState, train
from ._lrfind import lr_find as _lr_find

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.4 and 1.5

    def validate_data(estimator, X="no_validation", y="no_validation", reset=True, **options):
        return estimator._validate_data(X, y, reset=reset, **options)


#: scikit-learn's activation names -> the library's.
ACTIVATIONS = {"identity": "identity", "relu": "relu", "logistic": "sigmoid",
               "sigmoid": "sigmoid", "tanh": "tanh", "leaky_relu": "leaky_relu"}
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
#: scikit-learn's message for a fit whose parameters became NaN or inf.
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")
#: scikit-learn's ``adaptive`` rate stops training once it has fallen to this value.
MIN_ADAPTIVE_RATE = 1e-6


class InvScaling(Schedule):
    """scikit-learn's ``invscaling``: the rate is ``learning_rate_init / (t + 1) ** power_t``
    with t the examples seen before the batch (``t0`` of them in earlier calls)."""

    def __init__(self, examples_per_epoch: int, power_t: float, t0: int = 0) -> None:
        self.examples_per_epoch, self.power_t, self.t0 = examples_per_epoch, power_t, t0

    def __call__(self, epoch: float) -> float:
        return (self.t0 + epoch * self.examples_per_epoch + 1.0) ** -self.power_t


class Adaptive(Schedule):
    """scikit-learn's ``adaptive``: a factor that :class:`StoppingRule` divides by 5 whenever
    the monitored quantity stalls, instead of stopping, until the rate is at most 1e-6."""

    def __init__(self, base_rate: float) -> None:
        self.base_rate, self.factor = base_rate, 1.0

    def __call__(self, epoch: float) -> float:
        return self.factor

    def reduce(self) -> bool:
        """Divide the rate by 5; False (and no change) if it is already at its floor."""
        if self.base_rate * self.factor <= MIN_ADAPTIVE_RATE:
            return False
        self.factor /= 5.0
        return True


class StoppingRule(Callback):
    """scikit-learn's convergence rule: an epoch that does not beat the best value so far by
    more than ``tol`` counts as stalled; after more than ``patience`` stalled epochs in a row the
    run stops (or, with an :class:`Adaptive` schedule, the rate drops and the count restarts).

    Monitors the training loss, or, with ``score`` (model -> validation score), that score, in
    which case the parameters of the best epoch are put back at the end (``early_stopping``).
    """

    def __init__(self, tol: float, patience: int, best_loss: float = math.inf,
                 score: Callable[[MLP], float] | None = None, adaptive: Adaptive | None = None,
                 verbose: bool = False) -> None:
        self.tol, self.patience, self.score = tol, patience, score
        self.adaptive, self.verbose = adaptive, verbose
        # Both kinds are maximised: the score as it is, the loss negated.
        self.best = -math.inf if score is not None else -best_loss
        self.count, self.stopped, self.scores = 0, False, []
        self._best_arrays: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        if self.score is None:
            value = -state.history["train_loss_history"][-1]
        else:
            value = self.score(state.model)
            self.scores.append(value)
        self.count = self.count + 1 if value < self.best + self.tol else 0
        if value > self.best:
            self.best = value
            if self.score is not None:
                self._best_arrays = copy_weights(state.model)
        if self.count <= self.patience:
            return
        what = "Validation score" if self.score is not None else "Training loss"
        if self.adaptive is not None and self.adaptive.reduce():
            self.count = 0
            if self.verbose:
                print(f"{what} did not improve more than tol={self.tol:f} for "
                      f"{self.patience} consecutive epochs. Setting learning rate to "
                      f"{self.adaptive.base_rate * self.adaptive.factor:f}")
            return
        self.stopped = state.stop = True
        if self.verbose:
            print(f"{what} did not improve more than tol={self.tol:f} for {self.patience} "
                  "consecutive epochs. Stopping.")

    def on_train_end(self, state: TrainState) -> None:
        if self._best_arrays is not None:
            put_back(state.model, self._best_arrays)

    def diverged(self, model: MLP) -> None:
        """The run diverged in an epoch: with a validation score, record NaN for it (as
        scikit-learn does) and go back to the best epoch's parameters."""
        self.count += 1
        if self.score is not None:
            self.scores.append(math.nan)
            if self._best_arrays is not None:
                put_back(model, self._best_arrays)


class _Recorder(Watch):
    """:class:`mlp.callbacks.Watch` (the history of a run that ends in an exception), printing
    scikit-learn's line per epoch when verbose."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose

    @property
    def history(self) -> dict[str, list[float]]:
        return self.state.history

    def on_epoch_end(self, state: TrainState) -> None:
        if self.verbose:
            print(f"Iteration {state.epoch}, loss = {state.history['train_loss_history'][-1]:.8f}",
                  flush=True)


def _check_number(name: str, value: object, low: float, high: float = math.inf, *,
                  integer: bool = False, low_open: bool = False, high_open: bool = False) -> None:
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
    if not ok:
        span = (f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
                if high < math.inf else f"{'>' if low_open else '>='} {low:g}")
        raise ValueError(f"The '{name}' parameter must be {'an int' if integer else 'a number'} "
                         f"{'in ' if high < math.inf else ''}{span}; got {value!r}.")


class BaseMLP(BaseEstimator):
    """The shared part of :class:`MLPClassifier` and :class:`MLPRegressor` (see their docs).

    Subclasses give ``_targets`` (checked y -> the library's targets, setting up the output on
    the first fit), ``_output`` (the network's head), ``_validation_score``, and may give
    ``_class_weights``.
    """

    _stratify = False

    # -- parameters ------------------------------------------------------------------------

    def _check_params(self) -> None:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        if not isinstance(sizes, Sequence | np.ndarray) or isinstance(sizes, str) or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                for s in sizes):
            raise ValueError("The 'hidden_layer_sizes' parameter must be a positive int or a "
                             f"sequence of positive ints; got {self.hidden_layer_sizes!r}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"The 'activation' parameter must be one of "
                             f"{', '.join(map(repr, ACTIVATIONS))}; got {self.activation!r}.")
        if self.init not in INITIALIZERS:
            raise ValueError(f"The 'init' parameter must be one of {INITIALIZERS}; got "
                             f"{self.init!r}.")
        if self.solver not in SOLVERS:
            raise ValueError(f"The 'solver' parameter must be one of "
                             f"{', '.join(map(repr, SOLVERS))}; got {self.solver!r}.")
        if not (self.batch_size == "auto" or isinstance(self.batch_size, numbers.Integral)
                and not isinstance(self.batch_size, bool) and self.batch_size >= 1):
            raise ValueError("The 'batch_size' parameter must be 'auto' or a positive int; "
                             f"got {self.batch_size!r}.")
        if not (isinstance(self.learning_rate, Schedule) or self.learning_rate in LEARNING_RATES):
            raise ValueError(f"The 'learning_rate' parameter must be one of {LEARNING_RATES} or "
                             f"an mlp.optim.Schedule; got {self.learning_rate!r}.")
        _check_number("alpha", self.alpha, 0)
        _check_number("learning_rate_init", self.learning_rate_init, 0, low_open=True)
        _check_number("power_t", self.power_t, 0)
        _check_number("max_iter", self.max_iter, 1, integer=True)
        _check_number("max_fun", self.max_fun, 1, integer=True)
        _check_number("tol", self.tol, 0)
        if self.n_iter_no_change != math.inf:  # inf: never stop for want of progress
            _check_number("n_iter_no_change", self.n_iter_no_change, 1, integer=True)
        if not isinstance(self.shuffle, bool | np.bool_):
            raise ValueError(f"The 'shuffle' parameter must be True or False; got "
                             f"{self.shuffle!r}.")
        if self.dtype is not None and _float_dtype(self.dtype) is None:
            raise ValueError(f"The 'dtype' parameter must be None (the input's: float32 stays "
                             f"float32, anything else trains in float64), 'float32' or "
                             f"'float64'; got {self.dtype!r}.")
        _check_number("validation_fraction", self.validation_fraction, 0, 1,
                      low_open=True, high_open=True)
        _check_number("momentum", self.momentum, 0, 1, high_open=True)
        _check_number("beta_1", self.beta_1, 0, 1, high_open=True)
        _check_number("beta_2", self.beta_2, 0, 1, high_open=True)
        _check_number("epsilon", self.epsilon, 0, low_open=True)
        if self.callbacks is not None:
            for i, cb in enumerate(self.callbacks):
                if not isinstance(cb, Callback):
                    raise TypeError(f"callbacks[{i}] must be an mlp.callbacks.Callback; got "
                                    f"{type(cb).__name__}")

    @property
    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        return [int(sizes)] if isinstance(sizes, numbers.Integral) else [int(s) for s in sizes]

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train on X (N, D) dense or sparse (CSR/CSC), y, with optional sample_weight (N,) >= 0.
        Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _can_partial_fit(self) -> bool:
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers; "
                                 f"{self.solver!r} is not stochastic.")
        return True

    def _fit(self, X, y, sample_weight, incremental: bool, classes=None):
        self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True: it trains one "
                             "epoch per call on the data it is given, with no validation set "
                             "held out")
        first = not hasattr(self, "model_") or not (incremental or self.warm_start)
        rng = check_random_state(self.random_state)
        X, targets, weights = self._prepare(X, y, sample_weight, rng, first, incremental,
                                            classes)
        if self._optimizer is None or not incremental:
            self._optimizer = self._new_optimizer()
        if self.solver == "lbfgs":
            self._run_lbfgs(X, targets, weights)
        else:
            self._run(*self._split(X, targets, weights, rng, incremental), incremental)
        return self

    def _prepare(self, X, y, sample_weight, rng, first: bool, incremental: bool = False,
                 classes=None) -> tuple:
        """X, the network's targets and the row weights, checked; on a ``first`` fit, a new
        network, its weights drawn from ``rng``'s first draw (what ``fit`` and ``lr_find``
        share)."""
        dtype = ([np.float64, np.float32] if self.dtype is None and first else
                 self.model_.dtype if not first else _float_dtype(self.dtype))
        X, y = validate_data(self, X, y, reset=first, dtype=dtype, accept_sparse=["csr", "csc"],
                             multi_output=True, y_numeric=self._y_numeric)
        targets = self._targets(y, first, classes)
        weights = self._weights(X, y, sample_weight, incremental)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if first:
            self._initialize(X.shape[1], seed, X.dtype)
        elif self.model_.hidden_sizes != self._hidden:
            raise ValueError(f"warm_start continues the fitted network, whose hidden layers are "
                             f"{tuple(self.model_.hidden_sizes)}; got hidden_layer_sizes="
                             f"{self.hidden_layer_sizes!r} (set warm_start=False to start anew)")
        return X, targets, weights

    def lr_find(self, X, y, sample_weight=None, **kw):
        """The learning-rate range test on the network a fresh ``fit`` would start from (the
        estimator itself is left unchanged): an :class:`mlp.lrfind.LRFinderResult` whose
        rates and suggestion are values of ``learning_rate_init``. See
        :func:`mlp.estimators._lrfind.lr_find` for ``kw``."""
        return _lr_find(self, X, y, sample_weight, **kw)

    def _weights(self, X, y, sample_weight, incremental: bool) -> np.ndarray | None:
        """sample_weight times the class weights, checked; None if there are neither."""
        class_weights = self._class_weights(y, incremental)
        if sample_weight is None and class_weights is None:
            return None
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if class_weights is not None:
            w = w * class_weights
        if (w < 0).any():
            raise ValueError(f"sample_weight must be >= 0; got {w.min():g}")
        if not w.any():
            raise ValueError("sample_weight (times the class weights) must not be all zero: no "
                             "example would count")
        return w

    def _class_weights(self, y, incremental: bool) -> np.ndarray | None:
        return None

    def _initialize(self, n_features: int, seed: int, dtype: np.dtype) -> None:
        output, size, loss = self._output()
        self._start_fit_state(MLP(
            n_features, self._hidden, size, activation=ACTIVATIONS[self.activation],
            output=output, seed=seed, dtype=dtype, loss=loss,
            huber_delta=getattr(self, "huber_delta", 1.0), dropout=self.dropout,
            batch_norm=self.batch_norm, init=self.init))
        self._use_preset()

    def _start_fit_state(self, model: MLP) -> None:
        """``model`` as the fitted network, with the fitted attributes of no epoch yet (the
        one place that lists them: a fit, and a conversion from scikit-learn, start here)."""
        self.model_ = model
        self.n_iter_, self.t_, self.loss_curve_ = 0, 0, []
        self.best_loss_ = math.inf
        stopping = self.early_stopping and self.solver != "lbfgs"
        self.validation_scores_ = [] if stopping else None
        self.validation_loss_curve_ = [] if stopping else None
        self.best_validation_score_ = -math.inf if stopping else None
        self.n_layers_ = model.num_layers + 1
        self.n_outputs_ = model.output_size
        self.out_activation_ = {"softmax": "softmax", "sigmoid": "logistic",
                                "linear": "identity", "exp": "exp"}[model.output]
        self._optimizer: Optimizer | None = None
        self._adaptive: Adaptive | None = None
        self._no_improvement_count = 0

    def _new_optimizer(self) -> Optimizer | None:
        if self.solver == "lbfgs":
            return None
        if self.solver == "adam":
            return Adam(self.beta_1, self.beta_2, self.epsilon)
        nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
        return SGD(momentum=self.momentum, nesterov=nesterov)

    def _split(self, X, targets, weights, rng, incremental: bool):
        """(X, y, w) for training and (X, y, w) for validation (None without early stopping)."""
        if not self.early_stopping or incremental:
            return (X, targets, weights), (None, None, None)
        arrays = [X, targets] + ([weights] if weights is not None else [])
        stratify = targets if self._stratify and targets.ndim == 1 else None
        parts = train_test_split(*arrays, random_state=rng, test_size=self.validation_fraction,
                                 stratify=stratify)
        train_part, val_part = parts[0::2], parts[1::2]
        if val_part[0].shape[0] < 2:
            raise ValueError(f"The validation set is too small: validation_fraction="
                             f"{self.validation_fraction:g} of {X.shape[0]} samples holds "
                             f"{val_part[0].shape[0]}, and a score needs at least 2. Increase "
                             "'validation_fraction' or the size of your dataset.")
        if weights is None:
            train_part, val_part = [*train_part, None], [*val_part, None]
        return tuple(train_part), tuple(val_part)

    def _schedule(self, examples_per_epoch: int, incremental: bool) -> Schedule:
        if isinstance(self.learning_rate, Schedule):
            return self.learning_rate
        if self.solver != "sgd" or self.learning_rate == "constant":  # as scikit-learn's
            return Constant()
        if self.learning_rate == "invscaling":
            return InvScaling(examples_per_epoch, self.power_t, self.t_)
        if self._adaptive is None or not incremental:
            self._adaptive = Adaptive(self.learning_rate_init)
        return self._adaptive

    def _run(self, train_part, val_part, incremental: bool) -> None:
        X, y, w = train_part
        X_val, y_val, w_val = val_part
        n = X.shape[0]
        batch = self._batch_size(n)
        # scikit-learn's penalty on a batch is 0.5 * alpha * ||W||^2 / (sum of its weights); the
        # library's is 0.5 * reg * ||W||^2, so reg = alpha / (a batch's expected weight).
        scale = self._loss_scale()
        reg = self.alpha / (scale * batch * (1.0 if w is None else float(w.mean())))
        schedule = self._schedule((n // batch) * batch, incremental)
        rule = None
        if not incremental:
            score = None
            if X_val is not None:
                def score(model):
                    return self._validation_score(model, X_val, y_val, w_val)
            rule = StoppingRule(self.tol, self.n_iter_no_change, self.best_loss_, score,
                                schedule if isinstance(schedule, Adaptive) else None,
                                bool(self.verbose))
        recorder = _Recorder(bool(self.verbose))
        callbacks = [recorder] + ([rule] if rule else []) + list(self.callbacks or ())
        try:
            # Scaled by the loss's, the same steps as scikit-learn's (see _loss_scale).
            rate = self.learning_rate_init * (scale if self.solver == "sgd" else 1.0)
            history = train(self.model_, X, y, X_val, y_val, learning_rate=rate,
                            learning_rate_decay=1.0, reg=reg,
                            num_epochs=1 if incremental else self.max_iter, batch_size=batch,
                            optimizer=self._optimizer, schedule=schedule, callbacks=callbacks,
                            sample_weight=w, shuffle=bool(self.shuffle))
        except DivergenceError as exc:
            if rule is None or rule.score is None:
                raise ValueError(f"{NON_FINITE} ({exc})" if exc.nonfinite else str(exc)) from exc
            # With early stopping, scikit-learn's answer: the best epoch's model.
            rule.diverged(self.model_)
            history = recorder.history
            history["train_loss_history"].append(math.nan)
            rule.stopped = True
        shown = self._reported_scale()
        if shown != 1:
            history = {**history, "train_loss_history": [
                shown * v for v in history["train_loss_history"]]}
        self._record(history, rule, (n // batch) * batch, incremental)
        self._optimizer.learning_rate = self._current_rate(schedule, len(
            history["train_loss_history"]))

    def _current_rate(self, schedule: Schedule, epochs: int) -> float:
        """The rate the next step would take (scikit-learn's ``_optimizer.learning_rate``)."""
        if isinstance(schedule, InvScaling):
            return self.learning_rate_init / (self.t_ + 1) ** self.power_t
        return self.learning_rate_init * schedule(epochs)

    def _run_lbfgs(self, X, y, w) -> None:
        """Full-batch L-BFGS: ``max_iter`` iterations, ``max_fun`` evaluations, gradient
        tolerance ``tol``; no early stopping (as scikit-learn's)."""
        from ..lbfgs import train_lbfgs

        scale = self._loss_scale()
        reg = self.alpha / (scale * X.shape[0] * (1.0 if w is None else float(w.mean())))
        recorder = _Recorder(bool(self.verbose))
        try:
            result = train_lbfgs(self.model_, X, y, reg=reg, max_iter=self.max_iter,
                                 max_fun=self.max_fun, tol=self.tol / scale, sample_weight=w,
                                 callbacks=[recorder, *(self.callbacks or ())])
        except DivergenceError as exc:
            raise ValueError(f"{NON_FINITE} ({exc})") from exc
        self.n_iter_ = min(result.n_iter, self.max_iter)
        shown = self._reported_scale()
        self.loss_ = shown * result.loss
        self.loss_curve_ += [shown * v for v in result.history["train_loss_history"]]
        self.best_loss_ = min([self.best_loss_, *self.loss_curve_])
        if not result.converged:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s): "
                          f"{result.message}. Increase the number of iterations (max_iter) or "
                          "the number of function evaluations (max_fun), or scale the data.",
                          ConvergenceWarning, stacklevel=4)

    def _loss_scale(self) -> float:
        """The scale of scikit-learn's gradient over the library's. The library averages a
        loss over all N*C entries; with C outputs, scikit-learn's gradient is C times that
        (multilabel, Poisson, and squared error, whose reported value is still the mean). So
        the estimators divide the penalty by C and, for plain SGD, multiply the rate by C
        (Adam's steps do not depend on the scale): the same minimum and the same steps."""
        return 1.0

    def _reported_scale(self) -> float:
        """The scale of scikit-learn's reported loss over the library's (``loss_curve_``)."""
        return 1.0

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight=None, *unused):
        """scikit-learn's L-BFGS objective, ``(loss, gradient)`` at the flat parameters
        (P,), which have its packing: every ``coefs_`` matrix, then every ``intercepts_``
        vector. y as scikit-learn holds it inside: (N, C) binarised labels for a classifier.
        Sets the network's parameters to ``packed_coef_inter``."""
        from ..lbfgs import FullBatchObjective
        from ..regularizers import penalties

        scale = self._loss_scale()
        targets = self._internal_targets(np.asarray(y))
        terms = penalties(self.alpha / (scale * X.shape[0]))
        objective = FullBatchObjective(self.model_, X, targets, terms, sample_weight)
        loss, grad = objective(np.asarray(packed_coef_inter, dtype=np.float64))
        return self._reported_scale() * loss, scale * grad

    def _internal_targets(self, y: np.ndarray) -> np.ndarray:
        return y

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            # ceil(n / 200) equal batches of at most 200 rows. The library's epoch leaves out
            # the rows that do not fill a batch: with min(200, n), 331 rows would train on one
            # batch of 200 per epoch, and the epoch's loss would be that one batch's.
            return n // -(-n // 200)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                          "to be clipped", UserWarning, stacklevel=5)
        return min(self.batch_size, n)

    def _record(self, history: dict, rule: StoppingRule | None, examples_per_epoch: int,
                incremental: bool) -> None:
        losses = history["train_loss_history"]
        # As scikit-learn's: n_iter_ counts the epochs of the last fit (a warm start included),
        # or of every partial_fit so far; t_ and the curves run on across fits.
        self.n_iter_ = self.n_iter_ + len(losses) if incremental else len(losses)
        self.t_ += len(losses) * examples_per_epoch
        self.loss_curve_ += losses
        if losses:
            self.loss_ = losses[-1]
        if rule is not None:
            self._no_improvement_count = rule.count
        if self.early_stopping and rule is not None:
            self.validation_scores_ += rule.scores
            self.validation_loss_curve_ += history["val_loss_history"]
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        elif losses and self.best_loss_ is not None:
            self.best_loss_ = min(self.best_loss_, min(losses))
        if rule is not None and not rule.stopped and len(losses) == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=5)

    # -- the fitted network ------------------------------------------------------------------

    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                             accept_sparse=["csr", "csc"])

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices ``W1 (D, H1), ..., W{L} (H{L-1}, C)``: the network's own arrays
        (``model_.params``), so writing into them changes the model. Assigning a list copies
        its arrays in; before the first fit, a ``partial_fit`` starts from the assigned
        ``coefs_`` and ``intercepts_`` (scikit-learn's way to set a network's weights)."""
        return self._arrays("W", "_preset_coefs")

    @coefs_.setter
    def coefs_(self, value) -> None:
        self._set_arrays("W", "_preset_coefs", value)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors ``b1 (H1,), ..., b{L} (C,)``, the network's own arrays (see
        ``coefs_`` for assigning them)."""
        return self._arrays("b", "_preset_intercepts")

    @intercepts_.setter
    def intercepts_(self, value) -> None:
        self._set_arrays("b", "_preset_intercepts", value)

    def _arrays(self, kind: str, preset: str) -> list[np.ndarray]:
        if "model_" not in self.__dict__ and preset in self.__dict__:
            return self.__dict__[preset]
        params = self.model_.params
        return [params[f"{kind}{k}"] for k in range(1, self.model_.num_layers + 1)]

    def _set_arrays(self, kind: str, preset: str, value) -> None:
        if "model_" not in self.__dict__:
            self.__dict__[preset] = value  # kept as given: it may still be filled in
            return
        _copy_into(self._arrays(kind, preset), value, "coefs_" if kind == "W" else "intercepts_")

    def _use_preset(self) -> None:
        """Weights assigned before the first fit go into the new network (once)."""
        for kind, preset in (("W", "_preset_coefs"), ("b", "_preset_intercepts")):
            value = self.__dict__.pop(preset, None)
            if value is not None:
                _copy_into(self._arrays(kind, preset), value,
                           "coefs_" if kind == "W" else "intercepts_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- pickling ------------------------------------------------------------------------------

    # -- model files ---------------------------------------------------------------------------

    _SAVED = ("n_features_in_", "feature_names_in_", "classes_", "n_iter_", "t_", "loss_",
              "loss_curve_", "best_loss_", "validation_scores_", "validation_loss_curve_",
              "best_validation_score_", "n_layers_", "n_outputs_", "out_activation_",
              "_multilabel", "_single_output")

    def save(self, path: os.PathLike | str) -> Path:
        """Write the fitted estimator to a pickle-free ``.npz`` model file (the library's format,
        readable by :func:`mlp.load` too). Parameters that are not plain values (callbacks, a
        Schedule object, a RandomState) are not stored and come back as their defaults; the
        optimiser's state is not stored, so ``partial_fit`` after :func:`load` starts a fresh
        one. Returns the path written."""
        check_is_fitted(self)
        params, dropped = {}, []
        for name, value in self.get_params(deep=False).items():
            plain = _plain(value)
            if plain is _UNSAVED:
                dropped.append(name)
            else:
                params[name] = plain
        fitted = {name: _plain(getattr(self, name)) for name in self._SAVED if hasattr(self, name)}
        extra = {"estimator": type(self).__name__, "params": params, "fitted": fitted,
                 "not_saved": dropped}
        return save_model(self.model_, path, extra=extra)


_UNSAVED = object()


def _float_dtype(dtype) -> np.dtype | None:
    """float32 or float64 as a NumPy dtype, None for anything else."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return None
    return dtype if dtype in (np.float32, np.float64) else None


def _copy_into(arrays: list[np.ndarray], value, name: str) -> None:
    """Values assigned to ``coefs_`` or ``intercepts_`` into the network's arrays, checked."""
    if not isinstance(value, list | tuple) or len(value) != len(arrays):
        got = (f"a list of {len(value)}" if isinstance(value, list | tuple)
               else type(value).__name__)
        raise ValueError(f"{name} must be a list of {len(arrays)} arrays, one per layer; got "
                         f"{got}")
    for k, (target, given) in enumerate(zip(arrays, value, strict=True)):
        given = np.asarray(given, dtype=target.dtype)
        if given.shape != target.shape:
            raise ValueError(f"{name}[{k}] must have shape {target.shape}; got {given.shape}")
        target[...] = given


def _plain(value: Any) -> Any:
    """``value`` as JSON (tuples as lists, class weights as [label, weight] pairs, dtypes by
    name), or ``_UNSAVED`` if it has no such form."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, type) and issubclass(value, np.generic) or isinstance(value, np.dtype):
        return np.dtype(value).name
    if isinstance(value, dict):
        pairs = [[_plain(k), _plain(v)] for k, v in value.items()]
        return _UNSAVED if any(_UNSAVED in p for p in pairs) else {"__pairs__": pairs}
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        return _UNSAVED if any(v is _UNSAVED for v in items) else items
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return _UNSAVED


def _unplain(value: Any) -> Any:
    if isinstance(value, dict) and "__pairs__" in value:
        return {_unplain(k): v for k, v in value["__pairs__"]}
    return value
