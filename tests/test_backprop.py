"""Problem 1: the problem set's algorithm (column vectors, one example), the closed forms of Q1.1-Q1.5
and numeric gradients agree; the column view equals the library's row view; the loss and the
fused gradient stay finite where the sigmoid saturates."""

import io

import numpy as np
import pytest
from helpers import assert_gradients_match

from mlp import MLP
from mlp.backprop import (
    backward,
    chain_rule,
    closed_form_gradients,
    example_network,
    explain_backward,
    forward,
    grad_a2,
    grad_b1,
    grad_b2,
    grad_h1,
    grad_W1,
    grad_W2,
    grad_yhat,
    gradients_without_cache,
    layer_steps,
    main,
    walk_backward,
)
from mlp.regularizers import L1, L2, ElasticNet

RTOL = 1e-7  # the bar for closed form vs numeric gradient, float64


def sigmoid(z):
    with np.errstate(over="ignore"):  # exp(1000) = inf gives the right limit, 0
        return 1 / (1 + np.exp(-z))


def bce(yhat, y):
    """The loss exactly as the problem set prints it."""
    return -y * np.log(yhat) - (1 - y) * np.log(1 - yhat)


def problem_1_setup(seed, y, D=3, H=3):
    """A D-H-1 sigmoid network with random weights and biases, an input x (D, 1), and the
    quantities of the problem set's notation, computed here with plain NumPy (no library code)."""
    rng = np.random.default_rng(seed)
    net = MLP(D, [H], 1, activation="sigmoid", output="sigmoid", seed=seed)
    for p in net.params.values():
        p[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((D, 1))
    W1, b1 = net.params["W1"].T, net.params["b1"].reshape(-1, 1)  # the problem set's layout
    W2, b2 = net.params["W2"].T, net.params["b2"].reshape(-1, 1)
    h1 = sigmoid(b1 + W1 @ x)
    h2 = sigmoid(b2 + W2 @ h1)
    return net, x, y, h1, h2, W2, b2


CASES = [(seed, y) for seed in range(4) for y in (0.0, 1.0)]


@pytest.mark.parametrize(("seed", "y"), CASES)
def test_closed_forms_equal_the_algorithm(seed, y):
    net, x, y, h1, h2, W2, _ = problem_1_setup(seed, y)
    trace = backward(net, forward(net, x), y)
    closed = closed_form_gradients(x, y, h1, h2, W2)
    tight = {"rtol": 1e-12, "atol": 1e-15}
    np.testing.assert_allclose(closed["yhat"], trace.grad_yhat, **tight)
    np.testing.assert_allclose(closed["a2"], trace.grad_a[2], **tight)
    np.testing.assert_allclose(closed["h1"], trace.grad_h[1], **tight)
    for name in ("W1", "b1", "W2", "b2"):
        assert closed[name].shape == trace.grads[name].shape, name
        np.testing.assert_allclose(closed[name], trace.grads[name], **tight, err_msg=name)
    # The single functions are the same formulas as the dict.
    np.testing.assert_array_equal(grad_b2(y, h2), closed["b2"])
    np.testing.assert_array_equal(grad_W2(y, h1, h2), closed["W2"])
    np.testing.assert_array_equal(grad_W1(x, y, h1, h2, W2), closed["W1"])


@pytest.mark.parametrize(("seed", "y"), CASES)
def test_closed_forms_equal_numeric_gradients(seed, y):
    net, x, y, h1, h2, W2, b2 = problem_1_setup(seed, y)
    yhat = h2.copy()
    assert_gradients_match(lambda _: bce(yhat[0, 0], y), {"yhat": yhat},
                           {"yhat": grad_yhat(h2, y)}, rtol=RTOL)

    a2 = b2 + W2 @ h1
    assert_gradients_match(lambda _: bce(sigmoid(a2[0, 0]), y), {"a2": a2},
                           {"a2": grad_a2(y, h2)}, rtol=RTOL)

    h1_var = h1.copy()
    assert_gradients_match(lambda _: bce(sigmoid(b2 + W2 @ h1_var)[0, 0], y), {"h1": h1_var},
                           {"h1": grad_h1(y, h2, W2)}, rtol=RTOL)

    # Parameters: the numeric gradient of the library's own loss, in its row layout.
    closed_rows = {
        "W1": grad_W1(x, y, h1, h2, W2).T,
        "b1": grad_b1(y, h1, h2, W2).ravel(),
        "W2": grad_W2(y, h1, h2).T,
        "b2": grad_b2(y, h2).ravel(),
    }
    label = np.array([int(y)])
    assert_gradients_match(lambda _: net.loss(x.T, label)[0], net.params, closed_rows, rtol=RTOL)


def test_closed_forms_take_flat_vectors_too():
    _, x, y, h1, h2, W2, _ = problem_1_setup(0, 1.0, D=4, H=2)
    a = closed_form_gradients(x, y, h1, h2, W2)
    b = closed_form_gradients(x.ravel(), y, h1.ravel(), float(h2[0, 0]), W2.ravel())
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert a["W1"].shape == (2, 4) and a["W2"].shape == (1, 2) and a["h1"].shape == (2, 1)


NETWORKS = [
    ([3], "sigmoid"),
    ([], "sigmoid"),
    ([5, 4], "tanh"),
    ([6, 5, 4], "relu"),
    ([4, 3], "leaky_relu"),
]


@pytest.mark.parametrize(("hidden", "activation"), NETWORKS)
@pytest.mark.parametrize("fused", [False, True])
def test_column_view_equals_the_librarys_row_view(hidden, activation, fused):
    rng = np.random.default_rng(3)
    net = MLP(4, hidden, 1, activation=activation, output="sigmoid", seed=1)
    x, y = rng.standard_normal(4), 1
    trace = backward(net, forward(net, x), y, fused=fused)
    loss, grads = net.loss(x[None, :], np.array([y]))  # N = 1: the batch mean is this example
    assert trace.loss == pytest.approx(loss, rel=1e-14)
    row = trace.row_grads()
    for name in net.params:
        assert row[name].shape == net.params[name].shape
        np.testing.assert_allclose(row[name], grads[name], rtol=1e-12, atol=1e-15, err_msg=name)
    np.testing.assert_allclose(forward(net, x).a[net.num_layers].T, net.loss(x[None, :]),
                               rtol=1e-14)


def test_batch_gradient_is_the_mean_of_the_per_example_gradients():
    rng = np.random.default_rng(0)
    net = MLP(5, [4, 3], 1, activation="tanh", output="sigmoid", seed=2)
    X, y = rng.standard_normal((7, 5)), rng.integers(0, 2, size=7)
    _, grads = net.loss(X, y)
    traces = [backward(net, forward(net, x), t).row_grads() for x, t in zip(X, y, strict=True)]
    for name in net.params:
        mean = np.mean([t[name] for t in traces], axis=0)
        np.testing.assert_allclose(mean, grads[name], rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("regularizer", [L2(0.3), L1(0.2), ElasticNet(0.1, 0.2),
                                         L2(0.1, include_biases=True)])
def test_regularizer_terms_of_the_algorithm_match_the_library(regularizer):
    net, x, y, *_ = problem_1_setup(5, 1.0, D=4, H=3)
    trace = backward(net, forward(net, x), y, regularizer=regularizer)
    loss, grads = net.loss(x.T, np.array([1]), regularizer=regularizer)
    assert trace.objective == pytest.approx(loss, rel=1e-14)
    for name, g in trace.row_grads().items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize(("seed", "y"), CASES[:4])
def test_fused_and_explicit_output_steps_agree_where_not_saturated(seed, y):
    net, x, y, *_ = problem_1_setup(seed, y)
    cache = forward(net, x)
    explicit, fused = backward(net, cache, y), backward(net, cache, y, fused=True)
    assert fused.grad_yhat is None and explicit.grad_yhat is not None
    np.testing.assert_allclose(explicit.grad_a[2], cache.h[2] - y, rtol=1e-12)
    for name in net.params:
        np.testing.assert_allclose(explicit.grads[name], fused.grads[name], rtol=1e-12,
                                   atol=1e-15, err_msg=name)


def saturated(logit, y):
    """The 3-3-1 network with its output pre-activation a2 set to ``logit``."""
    net, x, *_ = problem_1_setup(0, y)
    net.params["W2"][...] = 0.0
    net.params["b2"][...] = logit
    return net, x


@pytest.mark.parametrize("logit", [50.0, -50.0, 1000.0, -1000.0])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_loss_and_fused_gradient_are_finite_when_the_output_saturates(logit, y):
    net, x = saturated(logit, y)
    cache = forward(net, x)
    trace = backward(net, cache, y, fused=True)
    exact_loss = max(logit, 0) - logit * y + np.log1p(np.exp(-abs(logit)))
    assert trace.loss == pytest.approx(exact_loss, rel=1e-15)
    assert net.loss(x.T, np.array([int(y)]))[0] == pytest.approx(exact_loss, rel=1e-15)
    # grad_a2 J = y_hat - y: exactly +-1 or a tiny number; never inf or NaN.
    np.testing.assert_allclose(trace.grad_a[2], sigmoid(logit) - y, rtol=1e-15, atol=1e-300)
    for name, g in trace.grads.items():
        assert np.all(np.isfinite(g)), name


@pytest.mark.parametrize(("logit", "y"), [(50.0, 0.0), (50.0, 1.0), (1000.0, 0.0), (1000.0, 1.0),
                                          (-1000.0, 0.0), (-1000.0, 1.0)])
def test_the_explicit_grad_yhat_breaks_down_where_yhat_rounds_to_0_or_1(logit, y):
    net, x = saturated(logit, y)
    cache = forward(net, x)
    assert cache.yhat in (0.0, 1.0)  # sigmoid(50) rounds to 1 in float64
    explicit = backward(net, cache, y)
    assert not np.all(np.isfinite(explicit.grad_a[2]))
    assert np.isfinite(explicit.loss)  # the loss itself is computed from the logit
    with np.errstate(divide="ignore", invalid="ignore"):
        assert not np.isfinite(bce(cache.yhat, y))  # the formula as printed: log(0), or 0 * log(0)


def test_explain_backward_checks_every_step_of_problem_1():
    out = io.StringIO()
    checks = explain_backward(file=out)
    names = [c.name.split()[0] for c in checks]
    assert names == ["grad_yhat", "grad_a2", "grad_b2", "grad_W2", "grad_h1",
                     "grad_a1", "grad_b1", "grad_W1", "grad_h0"]
    for c in checks:
        assert c.rel_error < RTOL, c.name
        assert c.analytic.shape == c.numeric.shape, c.name
        if c.name != "grad_h0 J":
            np.testing.assert_allclose(c.closed_form, c.analytic, rtol=1e-12, err_msg=c.name)
    text = out.getvalue()
    for piece in ("a1 = b1 + W1 h0", "g <- grad_a2 J = g * f'(a2)", "grad_W1 J = g h0^T",
                  "Q1.1: h2 - y", "Q1.5", "closed form", "numeric"):
        assert piece in text, piece
    net, x, y = example_network()
    cache = forward(net, x)
    assert f"{cache.yhat:.8f}" in text and f"{float(cache.h[1][0, 0]): .8f}" in text


def test_explain_backward_on_a_deeper_network_without_closed_forms():
    rng = np.random.default_rng(4)
    net = MLP(4, [5, 3], 1, activation="tanh", output="sigmoid", seed=4)
    checks = explain_backward(net, rng.standard_normal(4), 0.0, fused=True, verbose=False)
    assert [c.name.split()[0] for c in checks][:1] == ["grad_a3"]
    assert len(checks) == 3 * 4
    assert all(c.closed_form is None for c in checks)
    assert max(c.rel_error for c in checks) < 1e-6


def test_walk_backward_is_what_explain_backward_prints():
    walk = walk_backward()
    net, x, y = example_network()
    out = io.StringIO()
    printed = explain_backward(net, x, y, file=out)
    assert [c.name for c in walk.steps] == [c.name for c in printed]
    for a, b in zip(walk.steps, printed, strict=True):
        np.testing.assert_array_equal(a.analytic, b.analytic)
        assert a.rel_error == b.rel_error
    assert [c.quantity for c in walk.steps] == ["yhat", "a2", "b2", "W2", "h1", "a1", "b1", "W1",
                                                "h0"]
    assert [c.updates_g for c in walk.steps] == [True, True, False, False, True, True, False,
                                                 False, True]
    assert walk.steps[1].closed_form_label == "Q1.1: h2 - y"
    assert walk.steps[-1].closed_form_label is None  # grad_x J: no closed form in the set
    assert walk.trace.forward.yhat == forward(net, x).yhat and walk.y == 1.0


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_chain_rule_along_each_path_is_the_gradient(fused, activation):
    rng = np.random.default_rng(3)
    net = MLP(4, [3], 1, activation=activation, output="sigmoid", seed=3)
    walk = walk_backward(net, rng.standard_normal(4), 0.0, fused=fused)
    for name, grad in walk.trace.grads.items():
        for index in np.ndindex(grad.shape):
            factors = chain_rule(walk, name, index)
            assert np.prod([f.value for f in factors]) == pytest.approx(grad[index], rel=1e-13)
            assert factors[0].derivative == ("dJ/da2" if fused else "dJ/dy_hat")
    path = chain_rule(walk, "W1", (1, 3))
    assert [f.node for f in path][-3:] == ["h1_2", "a1_2", "W1_2,4"]
    assert path[-1].formula == "x_4" and path[-1].value == walk.trace.forward.h[0][3, 0]
    assert path[-3].value == net.params["W2"][1, 0]  # da2/dh1_2 is the weight W2_1,2
    with pytest.raises(ValueError, match=r"index must be \(i, j\) with 0 <= i < 3"):
        chain_rule(walk, "W1", (3, 0))
    with pytest.raises(ValueError, match="name must be one of W2, b2, W1, b1"):
        chain_rule(walk, "W3", (0, 0))
    deep = walk_backward(MLP(2, [2, 2], 1, output="sigmoid", seed=0), [0.5, 1.0], 1.0)
    with pytest.raises(ValueError, match="one hidden layer and one output"):
        chain_rule(deep, "W1", (0, 0))


@pytest.mark.parametrize(("output", "target"), [("softmax", 2), ("sigmoid", 1),
                                                ("linear", 0.25)])
def test_layer_steps_are_the_librarys_gradients_layer_by_layer(output, target):
    net = MLP(2, [4, 3], 3 if output == "softmax" else 1, activation="tanh", output=output,
              dropout=0.3, seed=5)
    before = net.rng.bit_generator.state
    x = np.array([0.4, -1.2])
    loss, steps = layer_steps(net, x, target)
    assert net.rng.bit_generator.state == before  # training's numbers are left alone
    with net.frozen_dropout():  # the mask the walk used: the first one drawn from here
        expected_loss, grads = net.loss(x[None], np.array([target]))
    assert loss == expected_loss
    assert [s.index for s in steps] == list(range(len(net.layers) - 1, -1, -1))
    found = {name: g for s in steps for name, g in s.grads.items()}
    assert set(found) == set(net.params)
    for name, g in found.items():
        np.testing.assert_array_equal(g, grads[name])
        assert next(s for s in steps if name in s.checks).checks[name].error < 1e-6
    for upper, lower in zip(steps, steps[1:], strict=False):
        np.testing.assert_array_equal(upper.downstream, lower.upstream)
    for s in steps:
        if not s.grads:  # elementwise: downstream = upstream * local
            np.testing.assert_allclose(s.downstream, s.upstream * s.local, rtol=1e-15)
        else:  # affine: dW = input^T upstream
            W = s.grads[next(n for n in s.grads if n.startswith("W"))]
            np.testing.assert_allclose(W, s.local.T @ s.upstream, rtol=1e-15)
    with pytest.raises(ValueError, match="batch norm"):
        layer_steps(MLP(2, [3], 1, output="sigmoid", batch_norm=True), x, 1)


def test_python_m_mlp_backprop_prints_the_trace(capsys):
    assert main(["--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "Network 3-3-1" in text and "grad_W1 J" in text and "Largest relative error" in text


@pytest.mark.parametrize(("hidden", "output"), [([], "softmax"), ([8], "softmax"),
                                                ([6, 5, 4], "softmax"), ([5, 4], "sigmoid")])
def test_gradients_without_cache_equal_backprop(hidden, output):
    rng = np.random.default_rng(0)
    C = 1 if output == "sigmoid" else 3
    net = MLP(6, hidden, C, activation="relu", output=output, seed=0)
    X, y = rng.standard_normal((10, 6)), rng.integers(0, 2 if C == 1 else C, size=10)
    loss, grads = net.data_loss(X, y)
    loss2, grads2 = gradients_without_cache(net, X, y)
    assert loss2 == loss
    for name in net.params:
        np.testing.assert_allclose(grads2[name], grads[name], rtol=1e-12, atol=1e-15)


def test_bad_inputs_are_named():
    net, x, y = example_network()
    with pytest.raises(ValueError, match="output='sigmoid'"):
        forward(MLP(3, [3], 2), x)
    with pytest.raises(TypeError, match="net must be an mlp.MLP"):
        forward("net", x)
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        forward(net, np.ones(4))
    with pytest.raises(ValueError, match="y must be a number in"):
        backward(net, forward(net, x), 2.0)
    with pytest.raises(ValueError, match="cache has 1 layers"):
        backward(net, forward(MLP(3, [], 1, output="sigmoid"), x), y)
