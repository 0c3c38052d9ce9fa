"""Problem 3: the penalties, their gradients and proximal maps, and the update rules they give
for one SGD step, exactly."""

import numpy as np
import pytest
from helpers import assert_gradients_match
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlp import MLP, TwoLayerMLP, eval_numerical_gradient
from mlp.demo import toy_data
from mlp.regularizers import L1, L2, ElasticNet, Regularizer, soft_threshold

REGULARIZERS = [L2(0.3), L1(0.2), ElasticNet(0.2, 0.3)]
EXACT = {"rtol": 1e-12, "atol": 1e-15}


def weights(seed=0, shape=(4, 3), away_from_zero=True):
    W = np.random.default_rng(seed).standard_normal(shape)
    if away_from_zero:  # L1's kink at 0 must stay out of the centred differences' reach
        W += np.copysign(0.1, W)
    return W


# -- penalties and their gradients ---------------------------------------------------------------


def test_penalty_values():
    W = np.array([[1.0, -2.0], [3.0, 0.0]])  # ||W||^2 = 14, ||W||_1 = 6
    assert L2(0.5).penalty(W) == 7.0
    assert L1(0.5).penalty(W) == 3.0
    assert ElasticNet(0.5, 0.25).penalty(W) == 3.0 + 3.5
    params = {"W1": W, "b1": np.array([10.0, -10.0]), "W2": 2 * W, "b2": np.array([5.0])}
    assert L2(1.0).total_penalty(params) == 14.0 + 56.0  # biases left out
    assert L2(1.0, include_biases=True).total_penalty(params) == 70.0 + 200.0 + 25.0
    assert L1(1.0).total_penalty(params) == 6.0 + 12.0
    assert L1(1.0).total_penalty({"b1": np.ones(3)}) == 0.0


def test_gradients_in_closed_form():
    W = np.array([[1.0, -2.0], [3.0, 0.0]])
    np.testing.assert_array_equal(L2(0.5).grad(W), W)  # 2 * lam * W
    np.testing.assert_array_equal(L1(0.5).grad(W), [[0.5, -0.5], [0.5, 0.0]])  # 0 at 0
    np.testing.assert_array_equal(ElasticNet(0.5, 0.5).grad(W), [[1.5, -2.5], [3.5, 0.0]])


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_gradient_of_each_penalty_matches_numeric(reg):
    W = weights()
    num = eval_numerical_gradient(lambda _: reg.penalty(W), W, verbose=False)
    np.testing.assert_allclose(reg.grad(W), num, rtol=1e-8)


@pytest.mark.parametrize("reg", [*REGULARIZERS, L2(0.1, include_biases=True)], ids=repr)
def test_network_gradients_with_a_regularizer_match_numeric(reg):
    rng = np.random.default_rng(1)
    net = MLP(5, [6], 3, activation="tanh", seed=3)
    for p in net.params.values():
        p[...] = weights(rng.integers(1000), p.shape)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, size=8)
    _, grads = net.loss(X, y, regularizer=reg)
    assert_gradients_match(lambda _: net.loss(X, y, regularizer=reg)[0], net.params, grads)


def test_biases_are_not_penalised_by_default():
    net = MLP(4, [5], 3, seed=0)
    for p in net.params.values():
        p += 1.0
    X, y = toy_data()
    loss0, g0 = net.loss(X, y)
    for reg in REGULARIZERS:
        loss, g = net.loss(X, y, regularizer=reg)
        assert loss == pytest.approx(loss0 + reg.penalty(net.params["W1"])
                                     + reg.penalty(net.params["W2"]), rel=1e-14)
        for name in ("b1", "b2"):
            np.testing.assert_array_equal(g[name], g0[name])
            assert not reg.applies_to(name)
        np.testing.assert_allclose(g["W1"], g0["W1"] + reg.grad(net.params["W1"]), rtol=1e-14)
    _, g = net.loss(X, y, regularizer=L2(0.1, include_biases=True))
    np.testing.assert_allclose(g["b1"], g0["b1"] + 0.2 * net.params["b1"], rtol=1e-14)


# -- the two conventions ---------------------------------------------------------------------------


def test_seed_reg_is_L2_of_half_reg_on_TwoLayerMLP():
    X, y = toy_data()
    r = 0.1
    np.random.seed(0)
    net = TwoLayerMLP(4, 10, 3, std=1e-1, activation="sigmoid")
    loss_a, g_a = net.loss(X, y, reg=r)
    loss_b, g_b = net.loss(X, y, reg=0.0, regularizer=L2(r / 2))
    assert loss_b == pytest.approx(loss_a, rel=1e-14)
    for name in net.params:
        np.testing.assert_allclose(g_b[name], g_a[name], **EXACT)

    def trained(**kwargs):
        model = TwoLayerMLP(4, 10, 3, std=1e-1, activation="sigmoid", seed=7)
        model.train(X, y, learning_rate=0.5, num_epochs=20, batch_size=5, **kwargs)
        return model.params

    a, b = trained(reg=r), trained(reg=0.0, regularizer=L2(r / 2))
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-10, atol=1e-13)


# -- one SGD step equals the closed-form update -------------------------------------------------------


ETA = 0.05


def one_step(reg, proximal=False, model=MLP):
    """(theta_t, g_t, theta_{t+1}) for one full-batch step of plain SGD on the toy data."""
    X, y = toy_data()
    net = (MLP(4, [10], 3, activation="sigmoid", std=0.1, seed=0) if model is MLP
           else TwoLayerMLP(4, 10, 3, std=0.1, activation="sigmoid", seed=0))
    theta = {k: v.copy() for k, v in net.params.items()}
    _, g = net.loss(X, y)  # the data gradient g_t, without any penalty
    net.train(X, y, learning_rate=ETA, learning_rate_decay=1.0, reg=0.0, num_epochs=1,
              batch_size=len(X), regularizer=reg, proximal=proximal)
    return theta, g, net.params


@pytest.mark.parametrize("model", [MLP, TwoLayerMLP])
def test_one_L2_step_is_weight_decay(model):
    lam = 0.4
    theta, g, new = one_step(L2(lam), model=model)
    for name in ("W1", "W2"):
        np.testing.assert_allclose(new[name], theta[name] - ETA * (g[name] + 2 * lam * theta[name]),
                                   **EXACT)
        np.testing.assert_allclose(new[name], (1 - 2 * ETA * lam) * theta[name] - ETA * g[name],
                                   **EXACT)
    for name in ("b1", "b2"):
        np.testing.assert_allclose(new[name], theta[name] - ETA * g[name], **EXACT)


def test_one_L1_step_moves_every_weight_by_eta_lam_towards_zero():
    lam = 0.4
    theta, g, new = one_step(L1(lam))
    for name in ("W1", "W2"):
        expected = theta[name] - ETA * (g[name] + lam * np.sign(theta[name]))
        np.testing.assert_allclose(new[name], expected, **EXACT)
        assert np.count_nonzero(new[name]) == new[name].size  # it steps over zero, never onto it
    for name in ("b1", "b2"):
        np.testing.assert_allclose(new[name], theta[name] - ETA * g[name], **EXACT)


def test_one_elastic_net_step():
    l1, l2 = 0.3, 0.2
    theta, g, new = one_step(ElasticNet(l1, l2))
    for name in ("W1", "W2"):
        expected = theta[name] - ETA * (g[name] + l1 * np.sign(theta[name]) + 2 * l2 * theta[name])
        np.testing.assert_allclose(new[name], expected, **EXACT)


def test_the_seeds_printed_update_rules_climb_the_loss():
    """theta_t + g_t - eta lam theta_t steps *up* the gradient (and by g_t, not eta g_t)."""
    X, y = toy_data()
    lam = 0.4
    for reg, penalty_step in ((L2(lam), lambda t: ETA * lam * t),
                              (L1(lam), lambda t: ETA * lam * np.sign(t))):
        theta, g, new = one_step(reg)
        seed_rule = {k: theta[k] + g[k] - (penalty_step(theta[k]) if k[0] == "W" else 0)
                     for k in theta}
        assert not np.allclose(seed_rule["W1"], new["W1"])

        def objective(params, reg=reg):
            net = MLP(4, [10], 3, activation="sigmoid")
            net.params = params
            return net.loss(X, y, regularizer=reg)[0]

        assert objective(new) < objective(theta) < objective(seed_rule)


# -- the proximal step -------------------------------------------------------------------------------


def test_proximal_L1_step_is_soft_thresholding_and_makes_exact_zeros():
    counts = []
    for lam in (0.2, 0.5, 1.0, 2.0):
        theta, g, new = one_step(L1(lam), proximal=True)
        for name in ("W1", "W2"):
            plain = theta[name] - ETA * g[name]
            t = ETA * lam
            expected = np.where(np.abs(plain) <= t, 0.0, plain - t * np.sign(plain))
            np.testing.assert_allclose(new[name], expected, **EXACT)
        for name in ("b1", "b2"):  # not penalised, so no thresholding
            np.testing.assert_allclose(new[name], theta[name] - ETA * g[name], **EXACT)
        counts.append(int(np.sum(new["W1"] == 0) + np.sum(new["W2"] == 0)))
    assert counts[0] > 0
    assert all(a < b for a, b in zip(counts, counts[1:], strict=False)), counts
    _, _, subgradient = one_step(L1(2.0))
    assert np.sum(subgradient["W1"] == 0) == 0  # the subgradient step makes none


@pytest.mark.parametrize(("reg", "l1", "l2"), [(L2(0.3), 0.0, 0.3), (L1(0.2), 0.2, 0.0),
                                             (ElasticNet(0.2, 0.3), 0.2, 0.3)], ids=repr)
def test_prox_is_the_minimiser_of_its_objective(reg, l1, l2):
    """0 is in the subdifferential of ||V - W||^2 / (2 step) + penalty(V) at V = prox(W)."""
    step = 1.5
    W = np.random.default_rng(2).standard_normal((6, 5))
    V = reg.prox(W.copy(), step)
    smooth = (V - W) / step + 2 * l2 * V
    nonzero = V != 0
    np.testing.assert_allclose(smooth[nonzero] + l1 * np.sign(V[nonzero]), 0, atol=1e-12)
    assert np.all(np.abs(smooth[~nonzero]) <= l1 + 1e-12)
    if l1 > 0:
        assert np.any(~nonzero)


def test_prox_of_L2_is_the_implicit_step():
    W = weights()
    np.testing.assert_allclose(L2(0.5).prox(W.copy(), 0.1), W / 1.1, **EXACT)


@given(arrays(np.float64, st.integers(1, 30),
              elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
       st.floats(0, 10))
def test_soft_threshold(W, t):
    expected = np.sign(W) * np.maximum(np.abs(W) - t, 0)
    out = soft_threshold(W.copy(), t)
    np.testing.assert_array_equal(out, expected)
    assert not np.any(np.signbit(out[out == 0]))  # +0.0, never -0.0


def test_soft_threshold_works_in_place_and_keeps_float32():
    W = np.array([-0.5, -0.1, 0.0, 0.05, 2.0], dtype=np.float32)
    out = soft_threshold(W, 0.1)
    assert out is W and W.dtype == np.float32
    np.testing.assert_allclose(W, [-0.4, 0.0, 0.0, 0.0, 1.9], rtol=1e-6)
    for reg in REGULARIZERS:
        assert reg.grad(W).dtype == np.float32
        assert reg.prox(W.copy(), 0.1).dtype == np.float32


def test_a_regularizer_without_prox_falls_back_to_a_gradient_step():
    class Quartic(Regularizer):
        def penalty(self, W):
            return float(np.sum(W**4))

        def grad(self, W):
            return 4 * W**3

    W = weights()
    np.testing.assert_allclose(Quartic().prox(W.copy(), 0.01), W - 0.04 * W**3, **EXACT)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="lam must be a number >= 0"):
        L1(-1)
    with pytest.raises(TypeError, match="lam must be a number"):
        L2("0.1")
    with pytest.raises(ValueError, match="l2 must be a number >= 0"):
        ElasticNet(0.1, float("nan"))
    with pytest.raises(TypeError, match="include_biases must be True or False"):
        L2(0.1, include_biases="yes")
    with pytest.raises(ValueError, match="threshold must be a number >= 0"):
        soft_threshold(np.ones(3), -0.1)
    assert repr(L2(0.001)) == "L2(0.001)" and repr(ElasticNet(1, 2)) == "ElasticNet(l1=1, l2=2)"


class _PerParameter(ElasticNet):
    """The same penalty, declared non-separable: the loop takes it parameter by parameter."""

    separable = False


@pytest.mark.parametrize("include_biases", [False, True])
def test_penalties_on_the_flat_parameters_match_the_per_parameter_path(include_biases, rng):
    X, y = rng.standard_normal((64, 5)), rng.integers(0, 3, 64)
    runs = []
    for term in (ElasticNet(1e-3, 1e-2, include_biases=include_biases),
                 _PerParameter(1e-3, 1e-2, include_biases=include_biases)):
        net = MLP(5, [7, 6], 3, seed=3, batch_norm=True)
        history = net.train(X, y, learning_rate=0.05, reg=0.1, regularizer=term, num_epochs=3,
                            batch_size=16)
        runs.append((net, history))
    (flat, h_flat), (per, h_per) = runs
    for name in flat.params:
        np.testing.assert_array_equal(flat.params[name], per.params[name], err_msg=name)
    # The penalty's value is summed in another order: equal to rounding.
    np.testing.assert_allclose(h_flat["loss_history"], h_per["loss_history"], rtol=1e-13)
