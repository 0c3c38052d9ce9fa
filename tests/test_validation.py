"""Every bad input is refused by our code, with a message that names the argument, what was
expected and what was given."""

import numpy as np
import pytest

from mlp import MLP, TwoLayerMLP


@pytest.fixture
def net():
    return TwoLayerMLP(4, 5, 3, seed=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.zeros(4), ValueError, r"X must be 2-D with shape \(N, 4\); got 1-D shape \(4,\)"),
        (np.zeros((2, 3, 4)), ValueError, r"X must be 2-D .* got 3-D"),
        (np.zeros((6, 5)), ValueError, r"X must have 4 features .* got shape \(6, 5\)"),
        (np.zeros((0, 4)), ValueError, r"X must hold at least one example; got shape \(0, 4\)"),
        (np.array([["a"] * 4]), TypeError, r"X must hold real numbers; got dtype <U1"),
    ],
)
def test_bad_X(net, X, error, match):
    with pytest.raises(error, match=match):
        net.loss(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(net, data, bad):
    X, y = data
    X = X.copy()
    X[2, 3] = bad
    with pytest.raises(ValueError, match=rf"X must be finite; got {bad} at row 2, column 3"):
        net.loss(X, y)
    with pytest.raises(ValueError, match="X must be finite"):
        net.train(X, y)
    with pytest.raises(ValueError, match="X_val must be finite"):
        net.train(data[0], y, X, y)


@pytest.mark.parametrize(
    "y, error, match",
    [
        (np.array([0, 1, 2]), ValueError, r"y must have one label per row of X \(6\); got 3"),
        (np.array([0, 1, 2, 0, 1, 3]), ValueError, r"y must hold labels in \[0, 3\); got 3"),
        (np.array([0, 1, 2, 0, 1, -1]), ValueError, r"y must hold labels in \[0, 3\); got -1"),
        (np.array([0.0, 1, 2, 0, 1, 2]), TypeError, r"y must hold integer class labels; got dtype float64"),
        (np.zeros((6, 1), dtype=int), ValueError, r"y must be 1-D with shape \(6,\); got shape \(6, 1\)"),
    ],
)
def test_bad_y(net, data, y, error, match):
    with pytest.raises(error, match=match):
        net.loss(data[0], y)
    with pytest.raises(error, match=match):
        net.train(data[0], y)


def test_binary_labels_for_sigmoid_output(data):
    net = MLP(4, [3], 1, output="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 2\); got 2"):
        net.loss(data[0], data[1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer; got 0"),
        ({"batch_size": 2.5}, TypeError, r"batch_size must be a positive integer; got 2.5 \(float\)"),
        ({"num_epochs": -1}, ValueError, "num_epochs must be a positive integer; got -1"),
        ({"learning_rate": 0}, ValueError, "learning_rate must be a positive number; got 0"),
        ({"learning_rate": -1e-3}, ValueError, "learning_rate must be a positive number; got -0.001"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be a positive number"),
        ({"learning_rate": "fast"}, TypeError, r"learning_rate must be a positive number; got 'fast' \(str\)"),
        ({"reg": -0.1}, ValueError, r"reg must be a number >= 0; got -0.1"),
        ({"learning_rate_decay": 0}, ValueError, "learning_rate_decay must be a positive number"),
    ],
)
def test_bad_training_settings(net, data, kwargs, error, match):
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(error, match=match):
        net.train(*data, **kwargs)
    for name in before:  # nothing half-done
        np.testing.assert_array_equal(net.params[name], before[name])


def test_validation_pair_must_be_complete(net, data):
    with pytest.raises(ValueError, match="X_val and y_val must be given together"):
        net.train(*data, X_val=data[0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"activation": "softplus"}, ValueError,
         "activation must be one of 'relu', 'sigmoid', 'tanh', 'leaky_relu', 'identity'; got 'softplus'"),
        ({"output": "svm"}, ValueError, "output must be one of 'softmax', 'sigmoid', 'linear', 'exp'; got 'svm'"),
        ({"output": "softmax", "output_size": 1}, ValueError, "output_size must be at least 2 for output='softmax'.*got 1"),
        ({"output": "linear", "loss": "hinge"}, ValueError, "loss for output='linear' must be one of 'mse', 'huber'; got 'hinge'"),
        ({"output": "softmax", "loss": "mse"}, ValueError, "loss for output='softmax' must be one of 'cross_entropy'; got 'mse'"),
        ({"output": "linear", "loss": "huber", "huber_delta": 0}, ValueError, "huber_delta must be a positive number; got 0"),
        ({"activation": ["relu"]}, ValueError, r"activation must list one value per hidden layer \(2\); got 1"),
        ({"activation": ["relu", "swish"]}, ValueError, r"activation\[1\] must be one of"),
        ({"dropout": 1.0}, ValueError, r"dropout rate must be in \[0, 1\); got 1.0"),
        ({"dropout": [0.5, -0.1]}, ValueError, r"dropout rate must be in \[0, 1\); got -0.1"),
        ({"dropout": "0.5"}, TypeError, "dropout must be one value or a list"),
        ({"batch_norm": 1}, TypeError, "batch_norm must be True or False; got 1"),
        ({"dtype": np.float16}, ValueError, "dtype must be float32 or float64; got float16"),
        ({"std": -1.0}, ValueError, "std must be a number >= 0; got -1.0"),
        ({"init": "orthogonal"}, ValueError, "init must be one of 'he', 'xavier'; got 'orthogonal'"),
        ({"seed": 1.5}, TypeError, "seed must be an integer or None; got 1.5"),
    ],
)
def test_bad_construction(kwargs, error, match):
    kwargs = dict(kwargs)
    output_size = kwargs.pop("output_size", 3)
    with pytest.raises(error, match=match):
        MLP(4, [5, 6], output_size, **kwargs)


def test_bad_sizes():
    with pytest.raises(ValueError, match="input_size must be a positive integer; got 0"):
        MLP(0, [5], 3)
    with pytest.raises(TypeError, match=r"hidden_sizes must be a sequence .* such as \[5\]"):
        MLP(4, 5, 3)
    with pytest.raises(ValueError, match=r"hidden_sizes\[1\] must be a positive integer; got 0"):
        MLP(4, [5, 0], 3)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer; got -2"):
        TwoLayerMLP(4, -2, 3)
    with pytest.raises(ValueError, match="activation must be one of"):
        TwoLayerMLP(4, 5, 3, activation="Sigmoid")
