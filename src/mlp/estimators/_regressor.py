"""``MLPRegressor``: scikit-learn's regressor API on the library's linear-output networks, with
the squared error or the Huber loss and any number of targets."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from ..losses import output_head
from ..network import MLP
from ._base import BaseMLP

#: scikit-learn's loss names -> the library's.
LOSSES = {"squared_error": "mse", "huber": "huber", "poisson": "poisson"}


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor, a drop-in for scikit-learn's ``MLPRegressor``.

    ``loss``: 'squared_error' (half the mean squared error, as scikit-learn's), 'poisson'
    (half the Poisson deviance with the log link: the network's output is the log of the
    prediction, as scikit-learn's; targets >= 0) or 'huber' (PyTorch's Huber loss with
    threshold ``huber_delta``), averaged over the targets of a row.
    y may be (N,) or (N, K) for K targets. Every other parameter, and the fitted attributes,
    are :class:`MLPClassifier`'s (without ``class_weight`` and ``classes_``).
    """

    _y_numeric = True

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        huber_delta=1.0,
        dropout=0.0,
        batch_norm=False,
        callbacks=None,
        dtype=None,
        init="xavier",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.huber_delta = huber_delta
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.callbacks = callbacks
        self.dtype = dtype
        self.init = init

    @available_if(BaseMLP._can_partial_fit)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on X (N, D), y (N,) or (N, K), continuing from the last call."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_params(self) -> None:
        super()._check_params()
        if self.loss not in LOSSES:
            raise ValueError(f"The 'loss' parameter must be one of {', '.join(map(repr, LOSSES))}"
                             f"; got {self.loss!r}.")

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        """Checked targets -> float64 (N,) or (N, K)."""
        if first:
            self._single_output = y.ndim == 1
            self._n_targets = 1 if y.ndim == 1 else y.shape[1]
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if not first and n_targets != self.model_.output_size:
            raise ValueError(f"y must have {self.model_.output_size} targets as in the first "
                             f"fit; got {n_targets}")
        y = np.asarray(y, dtype=np.float64)
        if self.loss == "poisson" and y.size and y.min() < 0:
            raise ValueError(f"y must be >= 0 for loss='poisson' (counts or rates); got "
                             f"{y.min():g}")
        return y

    def _loss_scale(self) -> float:
        return float(self._n_targets) if self.loss in ("poisson", "squared_error") else 1.0

    def _reported_scale(self) -> float:
        return float(self._n_targets) if self.loss == "poisson" else 1.0

    def _output(self) -> tuple[str, int, str]:
        if self.loss == "poisson":
            return "exp", self._n_targets, "poisson"
        return (*output_head("regression", self._n_targets), LOSSES[self.loss])

    def _validation_score(self, model: MLP, X, y, sample_weight) -> float:
        return float(r2_score(y, model.predict(X), sample_weight=sample_weight))

    def predict(self, X) -> np.ndarray:
        """Predictions in the network's dtype: (N,) for one target (y fitted as (N,) or
        (N, 1)), else (N, K)."""
        X = self._check_X(X)
        return self.model_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multioutput": True}
