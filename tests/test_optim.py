"""Optimisers: one step against hand-computed values, state round trips, convergence; and the
learning-rate schedules."""

import math

import numpy as np
import pytest

from mlp import MLP, TwoLayerMLP
from mlp.demo import toy_data, toy_model
from mlp.optim import (
    SGD,
    Adam,
    Constant,
    CosineDecay,
    ExponentialDecay,
    StepDecay,
    Warmup,
)

P = np.array([[1.0, -2.0], [0.5, 3.0]])
G1 = np.array([[0.1, 0.2], [-0.3, 0.4]])
G2 = np.array([[-0.2, 0.1], [0.3, 0.0]])


def run(opt, grads, lr=0.1):
    p = P.copy()
    for g in grads:
        opt.begin_iteration()
        p = p - opt.step("W1", p, g.copy(), lr)
    return p


def test_plain_sgd_is_the_problem_sets_update():
    np.testing.assert_array_equal(run(SGD(), [G1]), P - 0.1 * G1)


def test_sgd_momentum_two_steps_by_hand():
    mu = 0.9
    v1 = G1
    p1 = P - 0.1 * v1
    v2 = mu * v1 + G2
    p2 = p1 - 0.1 * v2
    np.testing.assert_allclose(run(SGD(momentum=mu), [G1, G2]), p2, rtol=1e-15)


def test_sgd_nesterov_two_steps_by_hand():
    mu = 0.9
    v1 = G1
    p1 = P - 0.1 * (G1 + mu * v1)
    v2 = mu * v1 + G2
    p2 = p1 - 0.1 * (G2 + mu * v2)
    np.testing.assert_allclose(run(SGD(momentum=mu, nesterov=True), [G1, G2]), p2, rtol=1e-15)


def test_sgd_weight_decay_adds_wd_times_param():
    np.testing.assert_allclose(run(SGD(weight_decay=0.5), [G1]), P - 0.1 * (G1 + 0.5 * P),
                               rtol=1e-15)


def adam_by_hand(grads, lr=0.1, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    p, m, v = P.copy(), np.zeros_like(P), np.zeros_like(P)
    for t, g in enumerate(grads, start=1):
        if wd and not decoupled:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p_new = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        if wd and decoupled:
            p_new -= lr * wd * p
        p = p_new
    return p


def test_adam_two_steps_by_hand():
    np.testing.assert_allclose(run(Adam(), [G1, G2]), adam_by_hand([G1, G2]), rtol=1e-13)
    # The first step of Adam moves every weight by ~lr, whatever the gradient's scale.
    np.testing.assert_allclose(np.abs(run(Adam(), [1e-3 * G1]) - P), 0.1, rtol=1e-4)


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_weight_decay_by_hand(decoupled):
    got = run(Adam(weight_decay=0.3, decoupled=decoupled), [G1, G2])
    np.testing.assert_allclose(got, adam_by_hand([G1, G2], wd=0.3, decoupled=decoupled),
                               rtol=1e-13)


def test_optimizer_state_round_trip():
    a = Adam()
    run(a, [G1])
    b = Adam()
    b.load_state_dict(a.state_dict())
    p = P.copy()
    a.begin_iteration()
    b.begin_iteration()
    np.testing.assert_array_equal(a.step("W1", p, G2.copy(), 0.1), b.step("W1", p, G2.copy(), 0.1))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\); got 1.0"),
        ({"momentum": -0.1}, "momentum must be a number >= 0; got -0.1"),
        ({"nesterov": True}, "nesterov=True needs a momentum > 0"),
        ({"weight_decay": -1}, "weight_decay must be a number >= 0; got -1"),
    ],
)
def test_sgd_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD(**kwargs)


def test_adam_bad_settings():
    with pytest.raises(ValueError, match=r"beta1 must be in \[0, 1\); got 1.5"):
        Adam(beta1=1.5)
    with pytest.raises(ValueError, match="eps must be a positive number; got 0"):
        Adam(eps=0)


def test_schedules_values():
    assert ExponentialDecay(0.5)(0.0) == 1 and ExponentialDecay(0.5)(2.7) == 0.25
    assert StepDecay(3, gamma=0.1)(2.9) == 1 and StepDecay(3, gamma=0.1)(3.0) == pytest.approx(0.1)
    cos = CosineDecay(10, min_factor=0.1)
    assert cos(0) == 1 and cos(10) == pytest.approx(0.1) and cos(5) == pytest.approx(0.55)
    assert cos(20) == pytest.approx(0.1)
    warm = Warmup(2, after=ExponentialDecay(0.5), start_factor=0.1)
    assert warm(0) == pytest.approx(0.1) and warm(1) == pytest.approx(0.55)
    assert warm(2) == 1 and warm(3) == 0.5
    assert Constant()(123.4) == 1


def test_schedule_is_applied_per_iteration():
    X, y = toy_data()
    X = np.repeat(X, 4, axis=0)
    y = np.repeat(y, 4)
    seen = []

    class Spy(Constant):
        def __call__(self, epoch):
            seen.append(epoch)
            return 1.0

    net = toy_model("relu")
    net.train(X, y, num_epochs=2, batch_size=5, schedule=Spy())
    assert seen == [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]


def test_seed_training_is_sgd_with_exponential_decay():
    X, y = toy_data()
    ha = toy_model("sigmoid").train(X, y, learning_rate=0.5, learning_rate_decay=0.9,
                                    num_epochs=5)
    hb = toy_model("sigmoid").train(X, y, learning_rate=0.5, num_epochs=5, optimizer=SGD(),
                                    schedule=ExponentialDecay(0.9))
    assert ha == hb


def blobs(rng, n=300):
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    y = rng.integers(0, 3, n)
    return centers[y] + 0.6 * rng.standard_normal((n, 2)), y


@pytest.mark.parametrize(
    "optimizer",
    [SGD(), SGD(momentum=0.9), SGD(momentum=0.9, nesterov=True), Adam(),
     Adam(weight_decay=1e-2, decoupled=True)],
    ids=["sgd", "momentum", "nesterov", "adam", "adamw"],
)
def test_optimisers_converge_on_a_small_problem(optimizer):
    rng = np.random.default_rng(0)
    X, y = blobs(rng)
    net = MLP(2, [16], 3, seed=0)
    lr = 1e-2 if isinstance(optimizer, Adam) else 5e-2
    stats = net.train(X, y, learning_rate=lr, num_epochs=30, batch_size=20, reg=0,
                      optimizer=optimizer, schedule=CosineDecay(30))
    assert stats["loss_history"][-1] < 0.25 * stats["loss_history"][0]
    assert net.accuracy(X, y) > 0.95


def test_momentum_beats_plain_sgd_at_the_same_rate():
    rng = np.random.default_rng(1)
    X, y = blobs(rng)
    final = {}
    for name, opt in (("sgd", SGD()), ("momentum", SGD(momentum=0.9))):
        net = MLP(2, [16], 3, seed=0)
        final[name] = net.train(X, y, learning_rate=1e-2, num_epochs=5, batch_size=20, reg=0,
                                optimizer=opt)["loss_history"][-1]
    assert final["momentum"] < final["sgd"]


def test_bad_optimizer_and_schedule_types():
    X, y = toy_data()
    net = TwoLayerMLP(4, 5, 3, seed=0)
    with pytest.raises(TypeError, match="optimizer must be an mlp.optim.Optimizer; got str"):
        net.train(X, y, optimizer="adam")
    with pytest.raises(TypeError, match="schedule must be an mlp.optim.Schedule; got function"):
        net.train(X, y, schedule=lambda e: 1.0)
    assert math.isfinite(net.loss(X, y)[0])
