import numpy as np
import pytest

from mlp.layers import (
    ACTIVATIONS,
    LEAKY_RELU_SLOPE,
    linear_backward,
    linear_forward,
    sigmoid_forward,
)
from mlp.utils import eval_numerical_gradient, rel_error

# Away from 0, where ReLU-like units have their kink and a centred difference would straddle it.
A = np.array([[-3.0, -0.7, -0.2, 0.3, 1.1, 4.0], [2.5, -1.5, 0.9, -0.4, 0.25, -6.0]])


def test_linear_forward_values():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    b = np.array([0.1, 0.2, 0.3])
    expected = np.array([[2.1, 4.2, 1.3], [5.1, 8.2, 1.3]])
    np.testing.assert_allclose(linear_forward(x, W, b), expected, rtol=0, atol=1e-15)


def test_linear_backward_matches_numeric(rng):
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    dx, dW, db = linear_backward(dout, x, W)

    def f(_):
        return float(np.sum(linear_forward(x, W, b) * dout))

    assert rel_error(dx, eval_numerical_gradient(f, x, verbose=False)) < 1e-9
    assert rel_error(dW, eval_numerical_gradient(f, W, verbose=False)) < 1e-9
    assert rel_error(db, eval_numerical_gradient(f, b, verbose=False)) < 1e-9
    assert linear_backward(dout, x, W, need_dx=False)[0] is None


@pytest.mark.parametrize(
    "name, reference",
    [
        ("relu", lambda a: np.maximum(a, 0)),
        ("sigmoid", lambda a: 1 / (1 + np.exp(-a))),
        ("tanh", np.tanh),
        ("leaky_relu", lambda a: np.where(a > 0, a, LEAKY_RELU_SLOPE * a)),
        ("identity", lambda a: a),
    ],
)
def test_activation_forward_values(name, reference):
    np.testing.assert_allclose(ACTIVATIONS[name].forward(A.copy()), reference(A), rtol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_backward_matches_numeric(name, rng):
    act = ACTIVATIONS[name]
    a = A.copy()
    dh = rng.standard_normal(a.shape)

    def f(_):
        return float(np.sum(act.forward(a.copy()) * dh))

    h = act.forward(a.copy())
    da = act.backward(dh.copy(), h)
    num = eval_numerical_gradient(f, a, verbose=False)
    assert rel_error(da, num) < 1e-6


def test_sigmoid_is_finite_and_silent_for_huge_inputs():
    a = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h = sigmoid_forward(a.copy())
    np.testing.assert_allclose(h, [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], rtol=1e-12,
                               atol=1e-298)
    assert h[0] >= np.finfo(np.float64).tiny  # no subnormal output


def test_sigmoid_float32_stays_float32():
    a = np.linspace(-200, 200, 7, dtype=np.float32)
    h = sigmoid_forward(a.copy())
    assert h.dtype == np.float32
    assert np.isfinite(h).all() and 0 < h[0] < 1e-28 and h[-1] == 1
    assert h[0] >= np.finfo(np.float32).tiny
