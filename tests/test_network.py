import numpy as np
import pytest
from helpers import assert_gradients_match
from hypothesis import assume, given
from hypothesis import strategies as st

from mlp import MLP, TwoLayerMLP, check_gradients
from mlp.demo import REFERENCE_FIGURES, toy_data, toy_model
from mlp.layers import Dense


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_toy_loss_matches_the_seed(activation):
    X, y = toy_data()
    loss, _ = toy_model(activation).loss(X, y, reg=0.1)
    assert abs(loss - REFERENCE_FIGURES[f"{activation}_loss"]) < 1e-9


def test_toy_loss_matches_the_correct_loss_of_q21():
    X, y = toy_data()
    loss, _ = toy_model("sigmoid").loss(X, y, reg=0.1)
    assert abs(loss - 1.182248) < 1e-6


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_toy_gradients_match_numeric(activation):
    X, y = toy_data()
    errors = check_gradients(toy_model(activation), X, y, reg=0.1)
    assert list(errors) == ["W1", "b1", "W2", "b2"]
    assert max(errors.values()) < 1e-6, errors


def test_scores_without_labels():
    X, y = toy_data()
    net = toy_model("relu")
    scores = net.loss(X)
    assert scores.shape == (5, 3)
    p = net.params
    expected = np.maximum(X @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    np.testing.assert_allclose(scores, expected, rtol=1e-14)
    np.testing.assert_array_equal(net.predict(X), expected.argmax(axis=1))


def test_initialisation_follows_the_global_random_state():
    np.random.seed(0)
    W1 = 1e-1 * np.random.randn(4, 10)
    W2 = 1e-1 * np.random.randn(10, 3)
    net = toy_model("relu")
    assert set(net.params) == {"W1", "b1", "W2", "b2"}
    np.testing.assert_array_equal(net.params["W1"], W1)
    np.testing.assert_array_equal(net.params["W2"], W2)
    np.testing.assert_array_equal(net.params["b1"], np.zeros(10))
    np.testing.assert_array_equal(net.params["b2"], np.zeros(3))
    assert TwoLayerMLP(4, 10, 3).params["W1"].std() < 1e-3  # the problem set's default std=1e-4


def test_explicit_seed_gives_a_private_reproducible_generator():
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    a = MLP(6, [5, 4], 3, seed=42)
    b = MLP(6, [5, 4], 3, seed=42)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(MLP(6, [5, 4], 3, seed=43).params["W1"], a.params["W1"])


def test_default_init_scales_with_fan_in():
    relu = MLP(2000, [500], 10, activation="relu", seed=0)
    sig = MLP(2000, [500], 10, activation="sigmoid", seed=0)
    assert relu.params["W1"].std() == pytest.approx(np.sqrt(2 / 2000), rel=0.02)
    assert sig.params["W1"].std() == pytest.approx(np.sqrt(2 / 2500), rel=0.02)
    assert relu.params["W2"].std() == pytest.approx(np.sqrt(2 / 510), rel=0.1)


def test_two_layer_mlp_is_the_general_network():
    net = TwoLayerMLP(4, 10, 3, activation="sigmoid", seed=1)
    general = MLP(4, [10], 3, activation="sigmoid", std=1e-4, seed=1)
    assert isinstance(net, MLP) and net.hidden_size == 10
    X, y = toy_data()
    np.testing.assert_array_equal(net.loss(X, y, 0.1)[0], general.loss(X, y, 0.1)[0])


def test_zero_hidden_layers_is_softmax_regression(rng):
    net = MLP(3, [], 4, seed=0)
    X = rng.standard_normal((5, 3))
    np.testing.assert_allclose(net.loss(X), X @ net.params["W1"] + net.params["b1"])
    assert list(net.params) == ["W1", "b1"]


def test_sigmoid_output_probabilities_and_predictions(rng):
    net = MLP(3, [4], 1, activation="tanh", output="sigmoid", seed=0)
    X = rng.standard_normal((6, 3))
    z = net.loss(X)[:, 0]
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(net.predict(X), (z > 0).astype(int))


def test_softmax_probabilities(rng):
    net = MLP(3, [4, 4], 5, activation="leaky_relu", seed=0)
    X = rng.standard_normal((6, 3))
    proba = net.predict_proba(X)
    assert proba.shape == (6, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), net.predict(X))


def test_float32_end_to_end(rng):
    net = MLP(8, [16], 4, dtype=np.float32, seed=0)
    X, y = rng.standard_normal((10, 8)), rng.integers(0, 4, 10)
    loss, grads = net.loss(X, y, reg=0.1)
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.loss(X).dtype == np.float32
    ref = MLP(8, [16], 4, dtype=np.float64, seed=0)
    ref.params = {k: v.astype(np.float64) for k, v in net.params.items()}
    assert loss == pytest.approx(ref.loss(X, y, 0.1)[0], rel=1e-5)
    np.testing.assert_allclose(net.loss(X), ref.loss(X), rtol=1e-5, atol=1e-5)


def test_uint8_pixels_are_accepted_and_stable():
    """MNIST's raw 0-255 pixels give pre-activations in the thousands: no overflow, no NaN."""
    X = np.full((3, 784), 255, dtype=np.uint8)
    for activation in ("sigmoid", "relu"):
        net = TwoLayerMLP(784, 64, 10, std=1e-1, activation=activation, seed=0)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            loss, grads = net.loss(X, np.array([0, 1, 2]), reg=0.5)
        assert np.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())


def test_repr():
    assert repr(MLP(784, [64, 32], 10, seed=0)) == (
        "MLP(784-64-32-10, activation='relu', output='softmax', dtype=float64)"
    )


@st.composite
def networks(draw):
    depth = draw(st.integers(0, 3))
    hidden = draw(st.lists(st.integers(1, 6), min_size=depth, max_size=depth))
    activation = draw(st.sampled_from(["relu", "sigmoid", "tanh", "leaky_relu"]))
    output = draw(st.sampled_from(["softmax", "sigmoid"]))
    D = draw(st.integers(1, 5))
    C = 1 if output == "sigmoid" else draw(st.integers(2, 4))
    N = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31))
    reg = draw(st.sampled_from([0.0, 0.1]))
    return hidden, activation, output, D, C, N, seed, reg


@given(networks())
def test_gradients_match_numeric_for_any_architecture(spec):
    hidden, activation, output, D, C, N, seed, reg = spec
    rng = np.random.default_rng(seed)
    net = MLP(D, hidden, C, activation=activation, output=output, seed=seed)
    # Random biases: with zero biases a dead unit upstream puts the next pre-activation exactly
    # on ReLU's kink, where the derivative (and so any gradient check) is undefined.
    for name, p in net.params.items():
        if name.startswith("b"):
            p[:] = 0.5 * rng.standard_normal(p.shape)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, net.n_classes, N)
    if activation in ("relu", "leaky_relu"):
        h, pre = X, []
        for layer in net.layers:
            h = layer.forward(h)
            if isinstance(layer, Dense):
                pre.append(h)
        assume(all(np.abs(a).min() > 1e-3 for a in pre))
    _, grads = net.loss(X, y, reg=reg)
    assert_gradients_match(lambda _: net.loss(X, y, reg=reg)[0], net.params, grads)


def test_chunked_evaluation_matches_one_pass(rng):
    from mlp.network import EVAL_CHUNK

    net = MLP(10, [6], 3, seed=0)
    X = rng.standard_normal((2 * EVAL_CHUNK + 37, 10))
    whole = net.forward(X)
    np.testing.assert_allclose(net.scores(X), whole, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(net.predict(X), whole.argmax(axis=1))
