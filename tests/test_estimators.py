"""MLPClassifier and MLPRegressor: agreement with scikit-learn's own MLP step for step, sample and
class weights, targets of every kind, model selection, persistence, the extras."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("sklearn")

from scipy import sparse  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import log_loss, recall_score  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import mlp  # noqa: E402
from mlp.callbacks import EarlyStopping  # noqa: E402
from mlp.estimators import MLPClassifier, MLPRegressor, load  # noqa: E402
from mlp.optim import CosineDecay  # noqa: E402
from mlp.training import Callback  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# -- the same numbers as scikit-learn's MLP -----------------------------------------------------


def _one_step_each(ours, theirs, X, y, w):
    """Both estimators take one full-batch SGD step from the same parameters (ours after its
    own first step); returns them for comparison."""
    ours.fit(X, y, sample_weight=w)
    start = [a.copy() for a in ours.coefs_], [b.copy() for b in ours.intercepts_]
    ours.fit(X, y, sample_weight=w)  # warm start: the second step, from `start`
    theirs.fit(X, y, sample_weight=w)  # builds its network; then put ours in
    theirs.coefs_ = [a.copy() for a in start[0]]  # scikit-learn steps them in place
    theirs.intercepts_ = [b.copy() for b in start[1]]
    theirs.fit(X, y, sample_weight=w)
    return ours, theirs, start


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_step_equals_sklearn(n_classes):
    """alpha, the weighted mean loss and the SGD step are scikit-learn's exactly: one step from
    the same parameters gives the same objective and the same new parameters."""
    X, y = make_classification(80, 6, n_informative=4, n_classes=n_classes, random_state=0)
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    common = dict(hidden_layer_sizes=(7, 5), solver="sgd", momentum=0.0, alpha=0.5,
                  learning_rate_init=0.1, batch_size=80, max_iter=1, warm_start=True,
                  random_state=0)
    ours, theirs, start = _one_step_each(MLPClassifier(**common),
                                  sk.MLPClassifier(**common, shuffle=False), X, y, w)
    assert ours.loss_curve_[-1] == pytest.approx(theirs.loss_curve_[-1], rel=1e-12)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)


@pytest.mark.parametrize("n_targets", [1, 3])
def test_regressor_step_equals_sklearn(n_targets):
    """With several targets scikit-learn reports the mean over them but steps along the
    gradient of their sum (its deltas are not divided by their number): the estimator scales
    its rate and penalty so that the step is the same. The reported loss is then the mean plus
    the penalty divided by the number of targets (the objective whose gradient is taken)."""
    X, y = make_regression(60, 5, n_targets=n_targets, noise=1.0, random_state=0)
    y /= y.std()
    w = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    common = dict(hidden_layer_sizes=(8,), solver="sgd", momentum=0.0, alpha=0.3,
                  learning_rate_init=0.01, batch_size=60, max_iter=1, warm_start=True,
                  random_state=0)
    ours, theirs, start = _one_step_each(MLPRegressor(**common),
                                  sk.MLPRegressor(**common, shuffle=False), X, y, w)
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)
    penalty = 0.5 * 0.3 * sum(float(np.sum(c ** 2)) for c in start[0]) / w.sum()
    assert theirs.loss_curve_[-1] - ours.loss_curve_[-1] == pytest.approx(
        penalty * (1 - 1 / n_targets), rel=1e-9, abs=1e-14)


def test_multilabel_step_equals_sklearn():
    """scikit-learn sums the multilabel loss over the labels (value and gradient): the
    estimator reports and steps the same."""
    X, Y = make_multilabel_classification(70, 6, n_classes=4, random_state=0)
    common = dict(hidden_layer_sizes=(8,), solver="sgd", momentum=0.0, alpha=0.3,
                  learning_rate_init=0.05, batch_size=70, max_iter=1, warm_start=True,
                  random_state=0)
    ours, theirs, start = _one_step_each(MLPClassifier(**common),
                                  sk.MLPClassifier(**common, shuffle=False), X, Y, None)
    assert ours.loss_curve_[-1] == pytest.approx(theirs.loss_curve_[-1], rel=1e-12)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)


# -- sample and class weights -------------------------------------------------------------------


def test_weighted_loss_value_and_gradients():
    """MLP.loss with sample_weight: the value is scikit-learn's weighted log loss, the
    gradients match centred differences."""
    rng = np.random.default_rng(0)
    net = mlp.MLP(5, [7], 3, activation="tanh", seed=0)
    X, y = rng.standard_normal((11, 5)), rng.integers(0, 3, 11)
    w = rng.uniform(0.0, 4.0, 11)
    loss, grads = net.loss(X, y, sample_weight=w)
    assert loss == pytest.approx(log_loss(y, net.predict_proba(X), sample_weight=w,
                                          labels=[0, 1, 2]), rel=1e-12)
    for name, param in net.params.items():
        numeric = mlp.eval_numerical_gradient(lambda _: net.loss(X, y, sample_weight=w)[0],
                                              param, verbose=False)
        assert mlp.rel_error(numeric, grads[name]) < 1e-7, name


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_integer_weights_equal_repeated_rows(Estimator):
    X, y = iris()
    if Estimator is MLPRegressor:
        X, y = X[:, 1:], X[:, 0]
    w = np.random.default_rng(0).integers(0, 3, len(y))  # 0 drops a row; sum(w) < 200
    params = dict(hidden_layer_sizes=(10,), max_iter=40, random_state=0)
    weighted = Estimator(**params).fit(X, y, sample_weight=w)
    repeated = Estimator(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weighted.n_iter_ == repeated.n_iter_ == 40
    assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)
    out = "predict_proba" if Estimator is MLPClassifier else "predict"
    assert_allclose(getattr(weighted, out)(X), getattr(repeated, out)(X), rtol=1e-8)


def test_balanced_class_weight_raises_minority_recall():
    """95:5 classes: the unweighted fit finds 24% of the minority class on held-out data, the
    balanced one 64% (at some cost in accuracy, 96.2% -> 86.4%)."""
    X, y = make_classification(2000, 20, n_informative=5, weights=[0.95], flip_y=0.0,
                               class_sep=0.5, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
    params = dict(hidden_layer_sizes=(32,), max_iter=50, random_state=0)
    plain = MLPClassifier(**params).fit(X_tr, y_tr)
    balanced = MLPClassifier(**params, class_weight="balanced").fit(X_tr, y_tr)
    assert recall_score(y_te, plain.predict(X_te)) == pytest.approx(0.24)
    assert recall_score(y_te, balanced.predict(X_te)) == pytest.approx(0.64)
    assert plain.score(X_te, y_te) == pytest.approx(0.962)
    assert balanced.score(X_te, y_te) == pytest.approx(0.864)


def test_class_weight_dict_is_sample_weight():
    X, y = iris()
    params = dict(hidden_layer_sizes=(6,), max_iter=20, random_state=0)
    by_class = MLPClassifier(**params, class_weight={0: 3.0, 2: 0.5}).fit(X, y)
    by_row = MLPClassifier(**params).fit(X, y, sample_weight=np.array([3.0, 1.0, 0.5])[y])
    assert_array_equal(by_class.predict_proba(X), by_row.predict_proba(X))


def test_weight_errors():
    X, y = iris()
    with pytest.raises(ValueError, match="at least one non-zero"):  # scikit-learn's check
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match=r"sample_weight \(times the class weights\) must not "
                                         "be all zero"):
        MLPClassifier(max_iter=1, class_weight={0: 0, 1: 0, 2: 0}).fit(X, y)
    with pytest.raises(ValueError, match="only one class .* nonzero sample weight"):
        MLPClassifier(max_iter=1).fit(X, y, sample_weight=(y == 1).astype(float))
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


# -- targets of every kind ----------------------------------------------------------------------


def test_string_labels():
    X, y = iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(10,), max_iter=100, learning_rate_init=0.01,
                        random_state=0).fit(X, names)
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert clf.predict(X).dtype == names.dtype
    assert clf.score(X, names) > 0.9
    assert clf.model_.output == "softmax" and clf.predict_proba(X).shape == (150, 3)


def test_binary_uses_one_logistic_output():
    X, y = iris()
    labels = np.where(y == 0, "no", "yes")
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0).fit(X, labels)
    assert (clf.model_.output, clf.model_.output_size, clf.out_activation_) == (
        "sigmoid", 1, "logistic")
    p, d = clf.predict_proba(X), clf.decision_function(X)
    assert p.shape == (150, 2) and d.shape == (150,)
    assert_allclose(p[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-12)
    assert_array_equal(clf.predict(X), np.where(d > 0, "yes", "no"))
    assert_allclose(clf.predict_log_proba(X), np.log(p))


def test_multilabel():
    X, _ = iris()
    Y = np.stack([X[:, 0] > 0, X[:, 2] > 0, X[:, 1] > 0.5], axis=1).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01,
                        random_state=0).fit(X, Y)
    assert (clf.model_.output, clf.model_.output_size) == ("sigmoid", 3)
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict(X).shape == clf.predict_proba(X).shape == (150, 3)
    assert clf.score(X, Y) > 0.85  # every label of a row right


def test_multi_output_regression_and_huber():
    X, Y = make_regression(300, 8, n_targets=3, noise=5.0, random_state=0)
    Y /= Y.std(axis=0)
    for loss in ("squared_error", "huber"):
        reg = MLPRegressor(hidden_layer_sizes=(32,), loss=loss, max_iter=200,
                           learning_rate_init=0.01, random_state=0).fit(X, Y)
        assert reg.predict(X).shape == (300, 3) and reg.predict(X).dtype == np.float64
        assert reg.score(X, Y) > 0.95, loss
        assert reg.model_.head.loss_name == {"squared_error": "mse", "huber": "huber"}[loss]


def test_sparse_formats_other_than_csr_csc_are_converted():
    X, y = iris()
    dense = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30,
                          random_state=0).fit(X, y)
    coo = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30,
                        random_state=0).fit(sparse.coo_matrix(X), y)
    np.testing.assert_allclose(coo.coefs_[0], dense.coefs_[0], rtol=1e-7, atol=1e-9)


# -- scikit-learn's model selection -------------------------------------------------------------


def test_pipeline_grid_search_and_cross_validation_in_two_processes():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(),
                         MLPClassifier(hidden_layer_sizes=(8,), max_iter=100,
                                       learning_rate_init=0.01, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3, n_jobs=2)
    assert scores.shape == (3,) and scores.min() > 0.8
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 10.0],
                               "mlpclassifier__dropout": [0.0, 0.2]}, cv=3, n_jobs=2).fit(X, y)
    assert grid.best_params_["mlpclassifier__alpha"] == 1e-4
    assert grid.best_score_ > 0.8
    assert grid.best_estimator_.score(X, y) > 0.9


# -- fitted attributes, training options --------------------------------------------------------


def test_coefs_are_the_networks_arrays():
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=5, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 6), (6, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(6,), (4,), (3,)]
    assert clf.coefs_[1] is clf.model_.params["W2"]
    clf.coefs_[2][...] = 0.0
    clf.intercepts_[2][...] = [0.0, 5.0, 0.0]
    assert_array_equal(clf.predict(X), np.ones(150))
    assert (clf.n_layers_, clf.n_outputs_, clf.n_features_in_) == (4, 3, 4)


def test_same_random_state_same_numbers():
    X, y = iris()
    a = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=3,
                      dropout=0.2).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=3,
                      dropout=0.2).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_tol_stops_early_and_curves():
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=500, tol=1e-2, n_iter_no_change=3,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ < 500 and len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == min(clf.loss_curve_)
    # scikit-learn's rule, replayed: an epoch not beating the best so far by tol is a stall;
    # the run ends at the first epoch that makes n_iter_no_change + 1 stalls in a row.
    best, stalls = np.inf, []
    for loss in clf.loss_curve_:
        stalls.append(stalls[-1] + 1 if stalls and loss > best - 1e-2 else int(loss > best - 1e-2))
        best = min(best, loss)
    assert stalls[-1] == 4 and max(stalls[:-1]) <= 3
    assert clf.t_ == clf.n_iter_ * 150
    assert clf.validation_scores_ is None and clf.validation_loss_curve_ is None


def test_max_iter_reached_warns():
    X, y = iris()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(max_iter=3).fit(X, y)


def test_early_stopping_keeps_the_best_epoch():
    X, y = make_classification(600, 10, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, early_stopping=True,
                        n_iter_no_change=5, learning_rate_init=0.05, random_state=0).fit(X, y)
    assert clf.n_iter_ < 300
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    # The validation split is scikit-learn's (same random_state draws): the restored network
    # scores the best epoch's accuracy on it.
    rng = np.random.RandomState(0)
    rng.randint(np.iinfo(np.int32).max)  # the network's seed comes first
    _, X_val, _, y_val = train_test_split(X, y, random_state=rng, test_size=0.1, stratify=y)
    assert clf.score(X_val, y_val) == clf.best_validation_score_


class _Rates(Callback):
    def __init__(self):
        self.rates = []

    def on_batch_end(self, state):
        self.rates.append(state.learning_rate)


def test_learning_rate_schedules():
    X, y = iris()
    rates = _Rates()
    MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                  power_t=0.5, batch_size=50, max_iter=2, callbacks=[rates],
                  random_state=0).fit(X, y)
    seen = np.arange(6) * 50  # examples seen before each batch
    assert_allclose(rates.rates, 0.5 / np.sqrt(seen + 1), rtol=1e-12)
    rates = _Rates()
    MLPClassifier(learning_rate=CosineDecay(4), learning_rate_init=0.1, batch_size=150,
                  max_iter=4, callbacks=[rates], random_state=0).fit(X, y)
    assert_allclose(rates.rates, 0.1 * 0.5 * (1 + np.cos(np.pi * np.arange(4) / 4)))
    # 'adaptive' divides the rate by 5 each time the loss stalls, as scikit-learn's.
    rates = _Rates()
    clf = MLPClassifier(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1,
                        tol=0.5, n_iter_no_change=2, max_iter=20, callbacks=[rates],
                        random_state=0).fit(X, y)
    distinct = sorted(set(rates.rates), reverse=True)
    assert_allclose(distinct, 0.1 / 5.0 ** np.arange(len(distinct)))
    assert len(distinct) >= 3 and clf.n_iter_ == 20


def test_library_callbacks():
    X, y = iris()
    stop = EarlyStopping("train_loss", patience=1, min_delta=10.0, restore_best=False)
    clf = MLPClassifier(max_iter=100, callbacks=[stop], random_state=0).fit(X, y)
    assert clf.n_iter_ == 2 and stop.stopped_epoch == 2


def test_partial_fit():
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(8,), batch_size=50, learning_rate_init=0.01,
                        random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.model_.output == "softmax" and clf.n_iter_ == 1 and clf.t_ == 100
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 31 and len(clf.loss_curve_) == 31
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match=r"labels not in classes_ \[0, 1, 2\]: \[7\]"):
        clf.partial_fit(X[:2], [0, 7])


def test_warm_start_continues():
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0)
    clf.fit(X, y)
    w = clf.coefs_[0].copy()
    clf.fit(X, y)
    # As scikit-learn's: n_iter_ counts the last fit's epochs; the loss curve runs on.
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 10
    assert not np.array_equal(w, clf.coefs_[0])
    with pytest.raises(ValueError, match=r"hidden layers are \(8,\); got hidden_layer_sizes=\(9,\)"):
        clf.set_params(hidden_layer_sizes=(9,)).fit(X, y)


def test_float32():
    X, y = iris()
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, dtype="float32",
                        learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.model_.dtype == np.float32 and clf.coefs_[0].dtype == np.float32
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("params, message", [
    (dict(solver="newton"), "'solver' parameter must be one of 'lbfgs', 'sgd', 'adam'; got "
                            "'newton'"),
    (dict(activation="softplus"), "'activation' parameter must be one of 'identity', 'relu'"),
    (dict(max_fun=0), "'max_fun' parameter must be an int >= 1; got 0"),
    (dict(n_iter_no_change=0), "'n_iter_no_change' parameter must be an int >= 1; got 0"),
    (dict(shuffle="yes"), "'shuffle' parameter must be True or False; got 'yes'"),
    (dict(dtype="int8"), "'dtype' parameter must be None"),
    (dict(hidden_layer_sizes=(10, 0)), "'hidden_layer_sizes' parameter must be a positive"),
    (dict(batch_size=0), "'batch_size' parameter must be 'auto' or a positive int; got 0"),
    (dict(learning_rate="cyclic"), "'learning_rate' parameter must be one of"),
    (dict(validation_fraction=1.0), r"'validation_fraction' parameter must be a number in "
                                    r"\(0, 1\); got 1.0"),
    (dict(dropout=1.5), "dropout"),
])
def test_bad_parameters(params, message):
    X, y = iris()
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**params).fit(X, y)


def test_bad_callback():
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be an mlp.callbacks.Callback"):
        MLPRegressor(callbacks=[print]).fit(np.ones((3, 2)), np.ones(3))


# -- persistence --------------------------------------------------------------------------------


def test_pickle_and_model_file_round_trips(tmp_path):
    X, y = iris()
    names = np.array(["a", "b", "c"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(8,), batch_norm=True, max_iter=20,
                        class_weight={"a": 2.0}, random_state=0).fit(X, names)
    again = pickle.loads(pickle.dumps(clf))
    assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    again.partial_fit(X, names)  # the optimiser's state came along
    path = clf.save(tmp_path / "clf.npz")
    loaded = load(path)
    assert isinstance(loaded, MLPClassifier)
    assert loaded.get_params() == {**clf.get_params(), "callbacks": None}
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.loss_curve_ == clf.loss_curve_ and loaded.n_iter_ == 20
    # The file is an ordinary model file of the library.
    assert_array_equal(mlp.load(path).predict_proba(X), clf.predict_proba(X))
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, X[:, :2])
    assert_array_equal(load(reg.save(tmp_path / "reg.npz")).predict(X), reg.predict(X))


def test_load_refuses_a_plain_model_file(tmp_path):
    path = mlp.save(mlp.MLP(3, [2], 2, seed=0), tmp_path / "net.npz")
    with pytest.raises(ValueError, match="not one written by MLPClassifier.save"):
        load(path)
