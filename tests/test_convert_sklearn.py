"""Conversion both ways between scikit-learn's MLPs and the library's: the same predictions to the
last bits, for every target kind and activation; what scikit-learn cannot express, named."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

from mlp import MLP  # noqa: E402
from mlp.estimators import MLPClassifier, MLPRegressor, from_sklearn, to_sklearn  # noqa: E402
from mlp.layers import Activation, BatchNorm, Dense, Dropout, Layer  # noqa: E402
from mlp.losses import OUTPUTS  # noqa: E402

#: float64 predictions of the same network agree to this (they are usually equal).
EXACT = 1e-12


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((150, 5))
    return {
        "X": X,
        "binary": np.array(["no", "yes"])[(X[:, 0] + X[:, 1] > 0).astype(int)],
        "multiclass": (X[:, 0] > 0).astype(int) + 2 * (X[:, 2] > 0.3) + 10,
        "multilabel": (X[:, :3] > 0).astype(int),
        "single": X @ [1.0, -2.0, 0.5, 0.0, 3.0],
        "multi": X @ rng.standard_normal((5, 3)),
    }


def assert_same_classifier(a, b, X):
    assert_array_equal(a.predict(X), b.predict(X))
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=0, atol=EXACT)
    assert_array_equal(a.classes_, b.classes_)


# -- scikit-learn's -> ours ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_from_sklearn_classifier(data, target, activation):
    X, y = data["X"], data[target]
    theirs = sk.MLPClassifier((8, 5), activation=activation, max_iter=40, alpha=1e-3,
                              random_state=0).fit(X, y)
    ours = from_sklearn(theirs)
    assert isinstance(ours, MLPClassifier)
    assert_same_classifier(ours, theirs, X)
    assert ours.get_params()["alpha"] == 1e-3 and ours.activation == activation
    assert ours.hidden_layer_sizes == (8, 5) and ours.n_features_in_ == 5
    assert ours.n_layers_ == 4 and ours.out_activation_ == theirs.out_activation_
    assert ours.loss_curve_ == theirs.loss_curve_ and ours.n_iter_ == theirs.n_iter_
    # Copies: training one does not change the other.
    assert not np.shares_memory(ours.coefs_[0], theirs.coefs_[0])


@pytest.mark.parametrize("target", ["single", "multi"])
def test_from_sklearn_regressor(data, target):
    X, y = data["X"], data[target]
    theirs = sk.MLPRegressor(hidden_layer_sizes=(9,), activation="tanh", max_iter=60,
                             random_state=0).fit(X, y)
    ours = from_sklearn(theirs)
    assert isinstance(ours, MLPRegressor) and ours.model_.output == "linear"
    assert ours.predict(X).shape == theirs.predict(X).shape == y.shape
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=EXACT)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=EXACT)


def test_from_sklearn_keeps_float32_and_feature_names(data):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(data["X"].astype(np.float32), columns=list("abcde"))
    theirs = sk.MLPClassifier((6,), max_iter=30, random_state=0).fit(X, data["binary"])
    ours = from_sklearn(theirs)
    assert ours.model_.dtype == np.float32 and ours.dtype == "float32"
    assert ours.feature_names_in_.tolist() == list("abcde")
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-6)


@pytest.mark.skipif("exp" not in OUTPUTS, reason="this version has no Poisson output")
def test_a_poisson_regressor_both_ways(data):
    X = data["X"]
    theirs = sk.MLPRegressor(loss="poisson", hidden_layer_sizes=(6,), max_iter=60,
                             random_state=0).fit(X, np.exp(0.5 * X[:, 0]))
    ours = from_sklearn(theirs)
    assert ours.model_.output == "exp" and ours.loss == "poisson"
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=EXACT)
    back = to_sklearn(ours)
    assert back.loss == "poisson" and back.out_activation_ == "exp"
    assert_allclose(back.predict(X), theirs.predict(X), rtol=EXACT)


def test_the_converted_estimators_train_on(data):
    X, y = data["X"], data["multiclass"]
    theirs = sk.MLPClassifier((6,), max_iter=20, random_state=0).fit(X, y)
    ours = from_sklearn(theirs)
    before = ours.coefs_[0].copy()
    ours.partial_fit(X, y)
    assert not np.allclose(ours.coefs_[0], before) and ours.n_iter_ == theirs.n_iter_ + 1
    back = to_sklearn(ours)
    back.partial_fit(X, y)
    assert not np.allclose(back.coefs_[0], ours.coefs_[0])
    assert back.loss_curve_[:-1] == ours.loss_curve_ and len(back.loss_curve_) == ours.n_iter_ + 1


def test_from_sklearn_refuses_what_is_not_a_fitted_mlp():
    with pytest.raises(NotFittedError):
        from_sklearn(sk.MLPClassifier())
    with pytest.raises(TypeError, match="est must be a fitted sklearn.neural_network"):
        from_sklearn(MLPClassifier())


# -- ours -> scikit-learn's ---------------------------------------------------------------------


@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_to_sklearn_classifier_round_trip(data, target):
    X, y = data["X"], data[target]
    ours = MLPClassifier((7, 4), activation="tanh", max_iter=30, random_state=0,
                         alpha=1e-3).fit(X, y)
    theirs = to_sklearn(ours)
    assert isinstance(theirs, sk.MLPClassifier)
    assert_same_classifier(theirs, ours, X)
    assert theirs.activation == "tanh" and theirs.hidden_layer_sizes == (7, 4)
    assert theirs.alpha == 1e-3 and theirs.n_layers_ == 4
    assert_same_classifier(from_sklearn(theirs), ours, X)


@pytest.mark.parametrize("target", ["single", "multi"])
def test_to_sklearn_regressor_round_trip(data, target):
    X, y = data["X"], data[target]
    ours = MLPRegressor((8,), activation="logistic", max_iter=40, random_state=0).fit(X, y)
    theirs = to_sklearn(ours)
    assert isinstance(theirs, sk.MLPRegressor) and theirs.activation == "logistic"
    assert_allclose(theirs.predict(X), ours.predict(X), rtol=0, atol=EXACT)
    assert_allclose(from_sklearn(theirs).predict(X), ours.predict(X), rtol=0, atol=EXACT)


def test_to_sklearn_folds_batch_norm_and_drops_dropout(data):
    X = data["X"]
    rng = np.random.default_rng(1)
    net = MLP(5, [8, 6], 4, activation="relu", batch_norm=True, dropout=0.3, seed=0)
    for layer in net.layers:
        if isinstance(layer, BatchNorm):
            layer.state["running_mean"][:] = rng.standard_normal(layer.features)
            layer.state["running_var"][:] = rng.uniform(0.3, 3.0, layer.features)
            layer.params["gamma"][:] = rng.uniform(0.5, 2.0, layer.features)
    theirs = to_sklearn(net)
    assert [W.shape for W in theirs.coefs_] == [(5, 8), (8, 6), (6, 4)]
    assert_allclose(theirs.predict_proba(X), net.predict_proba(X), rtol=0, atol=EXACT)
    assert_array_equal(theirs.predict(X), net.predict(X))
    assert_array_equal(theirs.classes_, np.arange(4))


def _norm(features, rng):
    bn = BatchNorm(features)
    bn.state["running_mean"][:] = rng.standard_normal(features)
    bn.state["running_var"][:] = rng.uniform(0.3, 3.0, features)
    bn.params["gamma"][:] = rng.uniform(0.5, 2.0, features)
    bn.params["beta"][:] = rng.standard_normal(features)
    return bn


def test_to_sklearn_folds_a_batch_norm_on_either_side_of_a_dense_layer(data):
    """Before a Dense layer (the input's, or an activation's output) and after it (its hidden
    units, or the output's scores)."""
    X, rng = data["X"], np.random.default_rng(2)
    layers = [Dense(5, 6, rng=rng), Activation("sigmoid"), Dropout(0.5), _norm(6, rng),
              Dense(6, 4, rng=rng), _norm(4, rng), Activation("sigmoid"), Dense(4, 1, rng=rng),
              _norm(1, rng)]
    first = [_norm(5, rng), Dense(5, 3, rng=rng), Activation("sigmoid"), Dense(3, 1, rng=rng)]
    for net in (MLP.from_layers(layers, "linear"), MLP.from_layers(first, "linear")):
        theirs = to_sklearn(net)
        assert len(theirs.coefs_) == net.num_layers and theirs.activation == "logistic"
        assert_allclose(theirs.predict(X), net.predict(X), rtol=EXACT, atol=EXACT)


def test_a_two_class_softmax_becomes_one_logistic_unit(data):
    X = data["X"]
    net = MLP(5, [6], 2, output="softmax", seed=3)
    theirs = to_sklearn(net)
    assert theirs.out_activation_ == "logistic" and theirs.coefs_[-1].shape == (6, 1)
    assert_allclose(theirs.predict_proba(X), net.predict_proba(X), rtol=0, atol=EXACT)
    assert_array_equal(theirs.predict(X), net.predict(X))


class Square(Layer):
    def forward(self, x, training=False, scratch=None):
        return x * x


@pytest.mark.parametrize("make, message", [
    (lambda: MLP(5, [8, 4], 3, activation="leaky_relu"),
     r"scikit-learn's MLPs cannot express layers\[1\] \(Activation 'leaky_relu'\): their hidden "
     r"layers use identity, logistic \(sigmoid\), tanh or relu"),
    (lambda: MLP(5, [8, 4], 3, activation=["relu", "tanh"]),
     r"scikit-learn's MLPs use one activation for every hidden layer; layers\[1\] is 'relu' but "
     r"layers\[3\] is 'tanh'"),
    (lambda: MLP.from_layers([Dense(5, 4), Dense(4, 3)]),
     r"scikit-learn's MLPs cannot express layers\[0\] and layers\[1\]: two Dense layers with no "
     "activation between them"),
    (lambda: MLP.from_layers([Dense(5, 4), Activation("relu"), Activation("relu"), Dense(4, 3)]),
     r"scikit-learn's MLPs need one Dense layer after layers\[1\] \(relu\); there is none"),
    (lambda: MLP.from_layers([Dense(5, 4), Square(), Dense(4, 3)]),
     r"scikit-learn's MLPs cannot express layers\[1\] \(Square\)"),
])
def test_what_scikit_learn_cannot_express_is_named(make, message):
    with pytest.raises(ValueError, match=message):
        to_sklearn(make())


def test_to_sklearn_refuses_what_is_not_a_model():
    with pytest.raises(NotFittedError):
        to_sklearn(MLPRegressor())
    with pytest.raises(TypeError, match="model must be an mlp.MLP or a fitted"):
        to_sklearn(sk.MLPRegressor())
