"""``MLPClassifier``: scikit-learn's classifier API on the library's softmax (multiclass) and
sigmoid (binary, multilabel) networks, with class weights."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from ..losses import output_head
from ..network import MLP
from ._base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier, a drop-in for scikit-learn's ``MLPClassifier``.

    Binary targets train one sigmoid output, multiclass targets a softmax, multilabel targets
    (y of shape (N, K) holding 0/1) K sigmoid outputs. Labels may be any sortable values
    (strings included).

    Parameters shared with scikit-learn's MLPClassifier mean the same: ``hidden_layer_sizes``,
    ``activation`` ('identity', 'relu', 'logistic', 'tanh'; also 'leaky_relu'), ``solver``
    ('lbfgs': full-batch L-BFGS through SciPy, with ``max_iter`` iterations, ``max_fun``
    evaluations and gradient tolerance ``tol``; 'sgd', 'adam'), ``shuffle``, ``max_fun``,
    ``alpha`` (the L2 penalty ``0.5 * alpha * ||W||^2`` divided by a batch's total sample weight,
    as scikit-learn's), ``batch_size``, ``learning_rate`` ('constant',
    'invscaling', 'adaptive' for sgd, as scikit-learn's, or any :class:`mlp.optim.Schedule`, for
    either solver), ``learning_rate_init``, ``power_t``, ``max_iter`` (epochs), ``random_state``,
    ``tol``, ``n_iter_no_change``, ``verbose``, ``warm_start``, ``momentum``,
    ``nesterovs_momentum``, ``early_stopping``, ``validation_fraction``, ``beta_1``, ``beta_2``,
    ``epsilon``. X may be dense or a SciPy CSR/CSC matrix (never densified); float32 X trains
    a float32 network, anything else float64 (``dtype`` overrides). Differences (see
    docs/estimators.md): an epoch leaves out the N mod batch_size rows that do not fill a batch
    (different ones each epoch), so ``batch_size='auto'`` means ceil(N / 200) equal batches of at
    most 200 rows; y must hold at least two classes.

    Added: ``class_weight`` (dict label -> weight, or 'balanced'; multiplies sample_weight, as
    scikit-learn's ``compute_sample_weight``), ``dropout`` (rate after each hidden layer, or a
    list), ``batch_norm``, ``callbacks`` (:mod:`mlp.callbacks` objects), ``dtype`` (None: the
    input's, 'float64' or 'float32'), ``init`` ('xavier', scikit-learn's scale, or 'he').

    Fitted attributes: ``classes_``, ``n_features_in_``, ``feature_names_in_``, ``coefs_`` /
    ``intercepts_`` (the network's own arrays), ``loss_curve_`` (per epoch), ``best_loss_``,
    ``validation_scores_`` / ``best_validation_score_`` / ``validation_loss_curve_`` (with
    early_stopping), ``n_iter_`` (epochs), ``t_`` (examples seen), ``n_layers_``,
    ``n_outputs_``, ``out_activation_``, and ``model_``, the library's :class:`mlp.MLP`.
    """

    _stratify = True
    _y_numeric = False

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
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
        class_weight=None,
        dropout=0.0,
        batch_norm=False,
        callbacks=None,
        dtype=None,
        init="xavier",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
        self.class_weight = class_weight
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.callbacks = callbacks
        self.dtype = dtype
        self.init = init

    # -- training ----------------------------------------------------------------------------

    @available_if(BaseMLP._can_partial_fit)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch on X (N, D), y. ``classes`` (every label) is required on the first call.
        Only for the stochastic solvers, without early stopping."""
        if _check_partial_fit_first_call(self, classes):
            # A new model: _fit's "first" test looks for model_.
            self.__dict__.pop("model_", None)
        return self._fit(X, y, sample_weight, incremental=True, classes=self.classes_)

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        """Checked labels -> the network's targets: (N,) class indices, or (N, K) 0/1."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multiclass-multioutput":
            raise ValueError("y of shape (N, K) must hold 0/1 labels (multilabel); "
                             "multiclass-multioutput targets are not supported")
        if first:
            self._multilabel = kind == "multilabel-indicator"
            if self._multilabel:
                self.classes_ = np.arange(y.shape[1])
            elif classes is None:
                self.classes_ = unique_labels(y)
            if not self._multilabel and len(self.classes_) < 2:
                raise ValueError(f"y has one class ({self.classes_[0]!r}); a classifier needs "
                                 "samples of at least 2 classes")
        elif self._multilabel != (kind == "multilabel-indicator"):
            raise ValueError(f"y is {kind}, but the classifier was fitted on "
                             f"{'multilabel' if self._multilabel else 'single-label'} targets")
        elif self.warm_start and classes is None and not self._multilabel:
            labels = unique_labels(y)
            if set(labels) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as "
                                 f"in the previous call to fit. Previously got {self.classes_}, "
                                 f"`y` has {labels}")
        if self._multilabel:
            if y.shape[1] != len(self.classes_):
                raise ValueError(f"y must have {len(self.classes_)} label columns as in the "
                                 f"first fit; got {y.shape[1]}")
            return np.asarray(y, dtype=np.int64)
        return self._encode(y)

    def _encode(self, y: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(self.classes_, y)
        inside = codes < len(self.classes_)
        known = inside.copy()
        known[inside] = self.classes_[codes[inside]] == y[inside]
        if not known.all():
            raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()}: "
                             f"{np.unique(y[~known]).tolist()}")
        return codes.astype(np.int64)

    def _output(self) -> tuple[str, int, None]:
        if self._multilabel:  # K independent yes/no labels
            return "sigmoid", len(self.classes_), None
        return (*output_head("classification", len(self.classes_)), None)

    def _loss_scale(self) -> float:
        return float(len(self.classes_)) if self._multilabel else 1.0

    _reported_scale = _loss_scale  # scikit-learn sums its multilabel loss over the labels

    def _internal_targets(self, y: np.ndarray) -> np.ndarray:
        """scikit-learn's binarised labels -> the network's targets."""
        if self._multilabel:
            return y.astype(np.int64)
        return (y.ravel() if y.shape[1] == 1 else np.argmax(y, axis=1)).astype(np.int64)

    def _class_weights(self, y, incremental: bool) -> np.ndarray | None:
        if self.class_weight is None:
            return None
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(f"class_weight={self.class_weight!r} is not supported for "
                             "partial_fit (the class frequencies of later batches are unknown); "
                             "pass a dict of weights")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        return compute_sample_weight(self.class_weight, y)

    def _weights(self, X, y, sample_weight, incremental):
        w = super()._weights(X, y, sample_weight, incremental)
        if w is not None and not self._multilabel:
            labels = np.asarray(y).ravel()
            weighted = np.unique(labels[w > 0])
            if len(weighted) < 2 and len(np.unique(labels)) >= 2:
                raise ValueError(f"only one class ({weighted[0]!r}) has a nonzero sample weight; "
                                 "a classifier needs samples of at least 2 classes")
        return w

    def _validation_score(self, model: MLP, X, y, sample_weight) -> float:
        return float(accuracy_score(y, model.predict(X), sample_weight=sample_weight))

    # -- prediction --------------------------------------------------------------------------

    def decision_function(self, X) -> np.ndarray:
        """The logits: (N,) for a binary classifier (positive: ``classes_[1]``), else (N, C)."""
        X = self._check_X(X)
        scores = self.model_.scores(X)
        return scores[:, 0] if scores.shape[1] == 1 and not self._multilabel else scores

    def predict(self, X) -> np.ndarray:
        """Labels (N,) from ``classes_``; for multilabel targets, (N, K) of 0/1."""
        X = self._check_X(X)
        codes = self.model_.predict(X)
        return codes if self._multilabel else self.classes_[codes]

    def predict_proba(self, X) -> np.ndarray:
        """(N, C) probabilities in the order of ``classes_``; multilabel: (N, K), one per label."""
        X = self._check_X(X)
        return self.model_.predict_proba(X)

    def predict_log_proba(self, X) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multilabel": True}
