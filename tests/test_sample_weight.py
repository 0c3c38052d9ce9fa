"""Sample weights: the weighted mean loss, its gradients, and integer weights as repeated rows."""

import numpy as np
import pytest
from helpers import assert_gradients_match

from mlp import MLP
from mlp.losses import row_weights

HEADS = [
    dict(output="softmax", output_size=3),
    dict(output="sigmoid", output_size=1),
    dict(output="sigmoid", output_size=4),
    dict(output="linear", output_size=2, loss="mse"),
    dict(output="linear", output_size=1, loss="huber", huber_delta=0.5),
]


def _net(head, **kw):
    head = dict(head)
    size = head.pop("output_size")
    return MLP(5, [6], size, activation="tanh", seed=4, dtype="float64", **head, **kw)


def _targets(net, rng, n):
    return net.head.random_targets(rng, n, net.output_size)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: f"{h['output']}{h['output_size']}")
def test_weighted_loss_gradients_match_numeric(head, rng):
    net = _net(head)
    X = rng.standard_normal((9, 5))
    y = _targets(net, rng, 9)
    w = rng.uniform(0, 3, 9)
    loss, grads = net.loss(X, y, reg=0.1, sample_weight=w)
    assert_gradients_match(lambda _: net.loss(X, y, reg=0.1, sample_weight=w)[0], net.params,
                           grads)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: f"{h['output']}{h['output_size']}")
def test_integer_weights_are_repeated_rows(head, rng):
    net = _net(head)
    X = rng.standard_normal((7, 5))
    y = _targets(net, rng, 7)
    counts = np.array([1, 0, 3, 2, 1, 4, 1])
    loss_w, grads_w = net.loss(X, y, reg=0.05, sample_weight=counts)
    loss_r, grads_r = net.loss(np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0),
                               reg=0.05)
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    for name in grads_r:
        np.testing.assert_allclose(grads_w[name], grads_r[name], rtol=1e-10, atol=1e-14)


def test_the_weighted_loss_is_the_weighted_mean_of_row_losses(rng):
    net = _net(HEADS[0])
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    w = np.array([0.5, 2.0, 0.0, 1.0, 3.0, 0.25])
    rows = [net.loss(X[i:i + 1], y[i:i + 1])[0] for i in range(6)]
    assert net.loss(X, y, sample_weight=w)[0] == pytest.approx(np.dot(w, rows) / w.sum(),
                                                               rel=1e-12)


def test_training_with_integer_weights_equals_training_on_repeated_rows(rng):
    X, y = rng.standard_normal((12, 5)), rng.integers(0, 3, 12)
    counts = rng.integers(0, 4, 12)
    settings = dict(learning_rate=0.1, reg=1e-3, num_epochs=5, learning_rate_decay=1.0)
    weighted, repeated = _net(HEADS[0]), _net(HEADS[0])
    # One batch holding every row: the order within it does not change the mean.
    weighted.train(X, y, batch_size=12, sample_weight=counts, **settings)
    repeated.train(np.repeat(X, counts, axis=0), np.repeat(y, counts), batch_size=counts.sum(),
                   **settings)
    for name in weighted.params:
        np.testing.assert_allclose(weighted.params[name], repeated.params[name], rtol=1e-9,
                                   atol=1e-12)


def test_equal_weights_give_exactly_the_unweighted_run(rng):
    X, y = rng.standard_normal((40, 5)), rng.integers(0, 3, 40)
    plain, weighted = _net(HEADS[0]), _net(HEADS[0])
    h_plain = plain.train(X, y, batch_size=8, num_epochs=3, learning_rate=0.1)
    h_weighted = weighted.train(X, y, batch_size=8, num_epochs=3, learning_rate=0.1,
                                sample_weight=np.full(40, 2.5))
    assert h_plain["loss_history"] == h_weighted["loss_history"]
    for name in plain.params:
        np.testing.assert_array_equal(plain.params[name], weighted.params[name])


def test_a_heavier_class_is_fitted_better(rng):
    """Weighting class 1's rows up moves the decision towards it: more of class 1 recalled."""
    X = rng.standard_normal((300, 5))
    y = (X[:, 0] + 0.8 * rng.standard_normal(300) > 1.0).astype(int)  # about 1 in 6 are 1
    recalls = []
    for w1 in (1.0, 5.0):
        net = _net(dict(output="softmax", output_size=2))
        net.train(X, y, batch_size=50, num_epochs=30, learning_rate=0.2, reg=0.0,
                  learning_rate_decay=1.0, sample_weight=np.where(y == 1, w1, 1.0))
        recalls.append(float(np.mean(net.predict(X[y == 1]) == 1)))
    assert recalls[1] > recalls[0] + 0.15, recalls


def test_row_weights_have_mean_one_and_zeros_stay_zero():
    np.testing.assert_allclose(row_weights(np.array([1.0, 3.0]), np.float64), [0.5, 1.5])
    np.testing.assert_array_equal(row_weights(np.zeros(3), np.float32), np.zeros(3))


@pytest.mark.parametrize("weights, message", [
    (np.ones(5), r"sample_weight must have shape \(6,\), one weight per row of X; got shape \(5,\)"),
    (np.array([1, 1, -1, 1, 1, 1.0]), "sample_weight must be >= 0; got -1"),
    (np.array([1, 1, np.nan, 1, 1, 1.0]), "sample_weight must be finite; got nan"),
    (np.zeros(6), "sample_weight must not be all zero"),
    (np.array(["a"] * 6), "sample_weight must hold real numbers; got dtype <U1"),
])
def test_bad_sample_weights_are_named(weights, message, rng):
    net = _net(HEADS[0])
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    error = TypeError if "real numbers" in message else ValueError
    with pytest.raises(error, match=message):
        net.train(X, y, sample_weight=weights)
    with pytest.raises(error, match=message):
        net.loss(X, y, sample_weight=weights)
