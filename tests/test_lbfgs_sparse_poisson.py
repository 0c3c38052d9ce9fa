"""L-BFGS, sparse input, the Poisson head, the identity activation, and the scikit-learn
behaviours of the estimators that come with them: each compared with scikit-learn's own MLPs,
SciPy or a numeric gradient."""

import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit, xlogy
from sklearn import neural_network as sk
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import mlp
from mlp.estimators import MLPClassifier, MLPRegressor
from mlp.gradcheck import check_gradients
from mlp.lbfgs import FullBatchObjective, train_lbfgs
from mlp.losses import half_poisson_deviance


def digits(n=300):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


@pytest.mark.parametrize("kind", ["multiclass", "binary", "regression"])
def test_lbfgs_follows_scikit_learns_path_from_the_same_start(kind):
    """Same objective, same SciPy minimiser, same start: the same minimum."""
    X, y = digits()
    if kind == "binary":
        y = (y % 2).astype(int)
    if kind == "regression":
        y = X[:, 10] * 2 - X[:, 30] + 0.1 * y
    Est, SkEst = (MLPRegressor, sk.MLPRegressor) if kind == "regression" else (
        MLPClassifier, sk.MLPClassifier)
    params = dict(hidden_layer_sizes=(12,), activation="tanh", solver="lbfgs", alpha=1e-3,
                  max_iter=1, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = Est(**params).fit(X, y)
        theirs = SkEst(**params).fit(X, y)
        # scikit-learn's warm start continues from whatever coefs_ hold: ours.
        theirs.coefs_ = [c.astype(np.float64) for c in ours.coefs_]
        theirs.intercepts_ = [b.astype(np.float64) for b in ours.intercepts_]
        ours.set_params(max_iter=25).fit(X, y)
        theirs.set_params(max_iter=25).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-6)
    if kind == "regression":
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)


def test_full_batch_objective_gradient_matches_central_differences():
    X, y = digits(60)
    model = mlp.MLP(64, [7], 10, activation="sigmoid", seed=1)
    terms = mlp.regularizers.penalties(0.01)
    objective = FullBatchObjective(model, X, y, terms)
    theta = objective.theta
    loss, grad = objective(theta)
    rng = np.random.default_rng(0)
    for i in rng.choice(theta.size, 25, replace=False):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric = (objective(theta + step)[0] - objective(theta - step)[0]) / 2e-6
        assert abs(numeric - grad[i]) <= 1e-7 + 1e-5 * abs(grad[i])


def test_train_lbfgs_and_its_result():
    X, y = digits(200)
    model = mlp.MLP(64, [16], 10, seed=0)
    history = mlp.train_lbfgs(model, X, y, max_iter=40, reg=1e-4).history
    assert len(history["train_loss_history"]) == 40
    assert history["train_loss_history"][-1] < 0.05 < history["train_loss_history"][0]
    assert len(history["loss_history"]) >= 40  # one per evaluation
    model2 = mlp.MLP(64, [16], 10, seed=0)
    result = train_lbfgs(model2, X, y, reg=1e-4, max_iter=40)
    assert result.n_iter == 40 and not result.converged and result.n_fun >= 40
    np.testing.assert_array_equal(model.params["W1"], model2.params["W1"])  # reproducible
    with pytest.raises(TypeError, match="for L-BFGS call mlp.train_lbfgs"):
        mlp.train(model, X, y, optimizer="lbfgs")


def test_lbfgs_max_fun_and_tol_as_scikit_learn_means_them():
    X, y = digits(200)
    model = mlp.MLP(64, [16], 10, seed=0)
    result = train_lbfgs(model, X, y, max_iter=500, max_fun=7)
    assert result.n_fun <= 8 and not result.converged and "EVALUATIONS" in result.message
    model = mlp.MLP(64, [], 10, seed=0)
    result = train_lbfgs(model, X, y, max_iter=5000, tol=1e-2)
    assert result.converged
    _, grad = FullBatchObjective(model, X, y, [])(np.concatenate(
        [model.params["W1"].ravel(), model.params["b1"]]))
    assert np.abs(grad).max() <= 1e-2


def test_lbfgs_callbacks_can_stop_it():
    class StopAt(mlp.callbacks.Callback):
        def on_epoch_end(self, state):
            state.stop = state.epoch >= 3

    X, y = digits(100)
    result = train_lbfgs(mlp.MLP(64, [8], 10, seed=0), X, y, max_iter=100,
                         callbacks=[StopAt()])
    assert len(result.history["train_loss_history"]) == 3


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_gives_the_dense_numbers(fmt):
    X, y = digits(120)
    X[X < 0.5] = 0
    Xs = sparse.csr_matrix(X) if fmt == "csr" else sparse.csc_matrix(X)
    for solver in ("lbfgs", "adam"):
        dense = MLPClassifier(hidden_layer_sizes=(10,), solver=solver, max_iter=20,
                              random_state=0)
        sparse_fit = MLPClassifier(hidden_layer_sizes=(10,), solver=solver, max_iter=20,
                                   random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dense.fit(X, y)
            sparse_fit.fit(Xs, y)
        np.testing.assert_allclose(sparse_fit.coefs_[0], dense.coefs_[0], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(sparse_fit.predict_proba(Xs), dense.predict_proba(X),
                                   atol=1e-9)


def test_sparse_input_gradient_check_and_first_layer_rule():
    rng = np.random.default_rng(0)
    X = sparse.random(30, 40, density=0.1, format="csr", random_state=1)
    y = rng.integers(0, 3, 30)
    model = mlp.MLP(40, [6], 3, activation="tanh", seed=0)
    errors = check_gradients(model, X, y, reg=0.1)
    assert max(errors.values()) < 1e-7, errors
    loss_sparse, grads = model.loss(X, y, reg=0.1)
    loss_dense, grads_dense = model.loss(X.toarray(), y, reg=0.1)
    assert loss_sparse == pytest.approx(loss_dense, rel=1e-12)
    np.testing.assert_allclose(grads["W1"], grads_dense["W1"], atol=1e-14)
    odd = mlp.MLP.from_layers([mlp.layers.Dropout(0.1), mlp.layers.Dense(40, 3)],
                              output="softmax", seed=0)
    with pytest.raises(TypeError, match="sparse input needs a Dense first layer; this "
                                        "network's first layer is Dropout"):
        odd.predict(X)


def test_sparse_input_is_never_densified():
    """200 rows of 2,000,000 features (3.2 GB dense) train within a few MB."""
    n, d = 200, 2_000_000
    rng = np.random.default_rng(0)
    cols = rng.integers(0, d, size=(n, 5))
    X = sparse.csr_matrix((np.ones(n * 5), cols.ravel(), np.arange(0, n * 5 + 1, 5)),
                          shape=(n, d))
    y = (cols[:, 0] % 2).astype(int)
    model = mlp.MLP(d, [], 2, seed=0)  # W1 alone is 32 MB
    tracemalloc.start()
    mlp.train(model, X, y, num_epochs=2, batch_size=50, learning_rate=0.1)
    model.predict(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 6 * 32e6, peak  # the flat parameters, their gradient, a few W-sized arrays


def test_bad_sparse_input():
    model = mlp.MLP(4, [3], 2, seed=0)
    bad = sparse.csr_matrix(np.array([[np.inf, 0, 0, 1.0]]))
    with pytest.raises(ValueError, match="X's stored values must be finite; got inf"):
        model.predict(bad)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 4\) with N >= 1; got a sparse "
                                         r"matrix of shape \(1, 3\)"):
        model.predict(sparse.csr_matrix(np.ones((1, 3))))


def test_poisson_loss_is_scikit_learns_and_its_gradient_is_exact():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(50, 1))
    y = rng.poisson(np.exp(s[:, 0])).astype(float)
    loss, grad = half_poisson_deviance(s, y)
    mu = np.exp(s[:, 0])
    assert loss == pytest.approx(np.mean(xlogy(y, y / mu) - y + mu), rel=1e-12)
    np.testing.assert_allclose(grad[:, 0], (mu - y) / 50, rtol=1e-12)
    model = mlp.MLP(3, [4], 2, output="exp", loss="poisson", seed=0)
    X = rng.normal(size=(20, 3))
    Y = rng.poisson(2.0, size=(20, 2)).astype(float)
    assert max(check_gradients(model, X, Y, reg=0.1).values()) < 1e-7
    with pytest.raises(ValueError, match="y must be >= 0 for the Poisson loss"):
        model.loss(X, -Y)


def test_poisson_regressor_matches_scikit_learns_glm():
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(300, 2))
    y = rng.poisson(np.exp(1 + X @ [0.5, -1.0]))
    glm = sk.MLPRegressor(loss="poisson", hidden_layer_sizes=(1,), activation="identity",
                          alpha=0, solver="lbfgs", tol=1e-8, random_state=0).fit(X, y)
    ours = MLPRegressor(loss="poisson", hidden_layer_sizes=(1,), activation="identity",
                        alpha=0, solver="lbfgs", tol=1e-8, random_state=0).fit(X, y)
    assert ours.out_activation_ == "exp" and ours.predict(X).min() > 0
    np.testing.assert_allclose(ours.predict(X), glm.predict(X), rtol=1e-4)
    np.testing.assert_allclose(ours.loss_, glm.loss_, rtol=1e-6)
    with pytest.raises(ValueError, match="y must be >= 0 for loss='poisson'"):
        MLPRegressor(loss="poisson").fit(X, -y)
    saved = mlp.MLP.from_layers(ours.model_.layers, output="exp", loss="poisson")
    np.testing.assert_allclose(saved.predict(X), ours.predict(X))


def test_identity_activation_is_a_linear_network():
    model = mlp.MLP(3, [5, 4], 2, activation="identity", output="linear", seed=0)
    X = np.random.default_rng(0).normal(size=(6, 3))
    # An affine map: f(a x1 + (1 - a) x2) = a f(x1) + (1 - a) f(x2).
    mid = model.predict(0.3 * X[:3] + 0.7 * X[3:])
    np.testing.assert_allclose(mid, 0.3 * model.predict(X[:3]) + 0.7 * model.predict(X[3:]))


def test_float32_input_keeps_float32():
    X, y = digits(200)
    X32 = X.astype(np.float32)
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5).fit(X32, y)
    assert reg.model_.dtype == np.float32 and reg.predict(X32).dtype == np.float32
    assert reg.predict(X).dtype == np.float32  # the network's dtype, whatever the input's
    assert MLPRegressor(hidden_layer_sizes=(8,), max_iter=5).fit(X, y).model_.dtype == np.float64
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, dtype="float64").fit(X32, y)
    assert clf.model_.dtype == np.float64


def test_shuffle_false_takes_rows_in_order():
    X, y = digits(100)
    a = mlp.MLP(64, [8], 10, seed=0)
    b = mlp.MLP(64, [8], 10, seed=0)
    mlp.train(a, X, y, num_epochs=1, batch_size=50, learning_rate=0.1, learning_rate_decay=1,
              reg=0, shuffle=False)
    for half in (slice(0, 50), slice(50, 100)):
        mlp.train(b, X[half], y[half], num_epochs=1, batch_size=50, learning_rate=0.1,
                  learning_rate_decay=1, reg=0)
    np.testing.assert_allclose(a.params["W1"], b.params["W1"], rtol=1e-12, atol=1e-15)
    with pytest.raises(TypeError, match="shuffle must be True or False; got 1"):
        mlp.train(a, X, y, shuffle=1)


def test_warm_start_n_iter_counts_the_last_fit_and_partial_fit_counts_on():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=7, warm_start=True,
                            n_iter_no_change=np.inf, random_state=0).fit(X, y)
        clf.set_params(max_iter=3).fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 10
    clf.partial_fit(X, y)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 12


def test_partial_fit_refuses_early_stopping_and_lbfgs():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        MLPRegressor(solver="lbfgs").partial_fit(X, y)
    assert "only available for stochastic optimizers; 'lbfgs'" in str(info.value.__cause__)


def test_too_small_validation_set_is_an_error():
    X, y = make_regression(n_samples=8, n_features=3, random_state=0)
    with pytest.raises(ValueError, match=r"The validation set is too small: "
                                         r"validation_fraction=0.1 of 8 samples holds 1"):
        MLPRegressor(early_stopping=True).fit(X, y)


def test_divergence_is_a_value_error_or_with_early_stopping_the_best_model():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X) * 1e3
    params = dict(hidden_layer_sizes=(50,), solver="sgd", learning_rate_init=5.0, momentum=0.9,
                  max_iter=30, random_state=0)
    with pytest.raises(ValueError, match="training diverged at epoch 2, iteration 1: the loss "
                                         "grew to"):
        MLPRegressor(**params).fit(X, y)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights") as info:
        MLPRegressor(**params).fit(X * 1e150, y)
    assert "diverged" in str(info.value)
    est = MLPRegressor(**params, early_stopping=True, n_iter_no_change=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert np.isnan(est.validation_scores_[-1])
    assert np.isfinite(est.predict(X)).all()
    assert all(np.isfinite(c).all() for c in est.coefs_)
    assert est.n_iter_ == len(est.validation_scores_)


def test_coefs_assigned_before_the_first_partial_fit_are_its_start():
    clf = MLPClassifier(hidden_layer_sizes=2, activation="logistic", solver="sgd",
                        learning_rate_init=0.1, momentum=0, alpha=0)
    clf.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([[0.1], [0.2]])]
    clf.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    clf.partial_fit(np.array([[0.6, 0.8, 0.7]]), [0], classes=[0, 1])
    # One SGD step on one example, worked out by hand (scikit-learn's test_fit, alpha = 0):
    # h = sigmoid(0.75, 0.3), yhat = sigmoid(0.1 h1 + 0.2 h2 + 1), b2 <- 1 - 0.1 (yhat - 0).
    h = expit(np.array([0.75, 0.3]))
    yhat = expit(0.1 * h[0] + 0.2 * h[1] + 1.0)
    np.testing.assert_allclose(clf.intercepts_[1], [1.0 - 0.1 * yhat], rtol=1e-12)
    delta = yhat * 0.1 * h[0] * (1 - h[0])  # the first hidden unit's error
    np.testing.assert_allclose(clf.coefs_[0][0, 0], 0.1 - 0.1 * 0.6 * delta, rtol=1e-12)
    with pytest.raises(ValueError, match=r"coefs_\[1\] must have shape \(2, 1\); got \(3, 1\)"):
        clf.coefs_ = [clf.coefs_[0], np.zeros((3, 1))]
