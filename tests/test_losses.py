import numpy as np
import pytest

from mlp.losses import binary_cross_entropy_with_logits, softmax, softmax_cross_entropy
from mlp.utils import eval_numerical_gradient, rel_error


def test_softmax_cross_entropy_reference_value():
    scores = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    y = np.array([2, 0])
    loss, _ = softmax_cross_entropy(scores, y)
    # -log(e^3 / (e + e^2 + e^3)) and -log(1/3), averaged.
    expected = 0.5 * (np.log(np.exp(1) + np.exp(2) + np.exp(3)) - 3 + np.log(3))
    assert loss == pytest.approx(expected, rel=1e-15)


def test_softmax_cross_entropy_gradient(rng):
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    _, dscores = softmax_cross_entropy(scores, y)
    num = eval_numerical_gradient(lambda _: softmax_cross_entropy(scores, y)[0], scores, False)
    assert rel_error(dscores, num) < 1e-8


def test_softmax_cross_entropy_stable_for_huge_scores():
    scores = np.array([[1000.0, -1000.0, 0.0], [-5000.0, 5000.0, 4990.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dscores = softmax_cross_entropy(scores, np.array([0, 2]))
    assert loss == pytest.approx(0.5 * (0 + 10.000045398899218), rel=1e-12)
    assert np.isfinite(dscores).all()
    np.testing.assert_allclose(softmax(scores).sum(axis=1), 1.0)


def test_bce_reference_value():
    z = np.array([[0.0], [2.0]])
    loss, dz = binary_cross_entropy_with_logits(z, np.array([1, 0]))
    expected = 0.5 * (np.log(2) + np.log1p(np.exp(2.0)))
    assert loss == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(dz[:, 0], [(0.5 - 1) / 2, (1 / (1 + np.exp(-2)) - 0) / 2])


def test_bce_gradient(rng):
    z, y = rng.standard_normal((7, 1)), rng.integers(0, 2, 7)
    _, dz = binary_cross_entropy_with_logits(z, y)
    num = eval_numerical_gradient(lambda _: binary_cross_entropy_with_logits(z, y)[0], z, False)
    assert rel_error(dz, num) < 1e-8


@pytest.mark.parametrize("size", [50.0, 1000.0])
def test_bce_no_inf_or_nan_at_saturation(size):
    z = np.array([[size], [-size], [size], [-size]])
    y = np.array([1, 0, 0, 1])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dz = binary_cross_entropy_with_logits(z, y)
    # Right answers contribute log(1 + e^-size) ~ 0; wrong ones exactly `size`.
    assert loss == pytest.approx(0.5 * size, rel=1e-12)
    np.testing.assert_allclose(dz[:, 0], [0, 0, 0.25, -0.25], atol=1e-20)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_gradient_has_no_subnormal_numbers(dtype):
    """Subnormal floats slow matrix products many times over; far-off classes must not
    produce them."""
    scores = np.array([[0.0, -50.0, -95.0, -120.0, -720.0, -5000.0]], dtype=dtype)
    loss, dscores = softmax_cross_entropy(scores, np.array([0]))
    tiny = np.finfo(dtype).tiny
    assert not ((dscores != 0) & (np.abs(dscores) < tiny)).any()
    assert loss == pytest.approx(np.log1p(np.exp(-50.0)), rel=1e-6)
    assert dscores[0, 1] == pytest.approx(np.exp(-50.0), rel=1e-5)
