"""The core as a sequence of layers: each new piece (dropout, batch norm, per-layer activations,
regression heads) gradient-checked, compared with PyTorch where PyTorch has it, and composed."""

import numpy as np
import pytest
from helpers import assert_gradients_match
from hypothesis import assume, given
from hypothesis import strategies as st

import mlp
from mlp import MLP, check_gradients
from mlp.layers import Activation, BatchNorm, Dense, Dropout
from mlp.losses import huber, mean_squared_error

FIXTURES = "tests/fixtures"


def _random_biases(net, rng):
    # With zero biases a dead unit upstream puts the next pre-activation exactly on ReLU's kink.
    for name, p in net.params.items():
        if name.startswith(("b", "beta")):
            p[:] = 0.5 * rng.standard_normal(p.shape)


def _activation_inputs(net, X):
    """Each activation layer's name and input in a training-mode pass (masks must be frozen)."""
    h, inputs = np.asarray(X, dtype=net.dtype), []
    for layer in net.layers:
        if isinstance(layer, Activation):
            inputs.append((layer.name, h))
        h = layer.forward(h, True)
    return inputs


def _check(net, X, y, reg=0.0):
    with net.frozen_dropout():
        _, grads = net.loss(X, y, reg=reg)
        assert_gradients_match(lambda _: net.loss(X, y, reg=reg)[0], net.params, grads)


# -- params are the layers' own arrays ---------------------------------------------------------


def test_params_are_the_arrays_the_layers_compute_with(rng):
    net = MLP(4, [5], 3, batch_norm=True, seed=0)
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2"]
    assert net.params["W1"] is net.layers[0].params["W"]
    assert net.params["gamma1"] is net.layers[1].params["gamma"]
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    before = net.loss(X, y)[0]
    net.params["W1"][0, 0] += 1.0  # in place, as eval_numerical_gradient does
    assert net.loss(X, y)[0] != before
    replacement = np.zeros((5, 3))
    net.params["W2"] = replacement
    assert net.layers[-1].params["W"] is replacement
    with pytest.raises(ValueError, match=r"params\['W2'\] must be a float64 array of shape \(5, 3\); got float64 \(3, 5\)"):
        net.params["W2"] = np.zeros((3, 5))
    with pytest.raises(KeyError, match="no parameter 'W9'"):
        net.params["W9"] = np.zeros(1)
    with pytest.raises(TypeError, match="cannot be removed"):
        del net.params["W1"]


def test_running_statistics_are_state_not_params():
    net = MLP(4, [5, 3], 2, batch_norm=True, seed=0)
    assert set(net.state()) == {"running_mean1", "running_var1", "running_mean2", "running_var2"}
    assert not set(net.state()) & set(net.params)


# -- dropout -----------------------------------------------------------------------------------


def test_dropout_gradients_with_a_frozen_mask(rng):
    net = MLP(6, [7, 5], 3, activation="tanh", dropout=[0.5, 0.3], seed=1)
    X, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    _check(net, X, y, reg=0.1)
    with net.frozen_dropout():
        first = net.loss(X, y)[0]
        assert net.loss(X, y)[0] == first  # the same mask every time
    assert max(check_gradients(net, X, y).values()) < 1e-6


def test_dropout_masks_come_from_the_network_generator(rng):
    X = rng.standard_normal((8, 6))
    a, b = (MLP(6, [50], 3, dropout=0.5, seed=4) for _ in range(2))
    np.testing.assert_array_equal(a.forward(X, training=True), b.forward(X, training=True))
    assert not np.array_equal(a.forward(X, training=True), a.forward(X, training=True))


def test_inverted_dropout_inference_does_not_depend_on_the_rate(rng):
    X = rng.standard_normal((20, 6))
    outputs = [MLP(6, [30, 20], 3, dropout=p, seed=7).scores(X) for p in (0.0, 0.2, 0.8)]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])


def test_mean_of_training_outputs_approaches_the_inference_output(rng):
    """The scores are linear in the dropped units, so their expectation over masks is the
    inference output. With K passes the mean is within 5 standard errors of it (a false alarm
    has probability below 1e-6 per entry)."""
    net = MLP(5, [200], 3, dropout=0.5, seed=0)
    X = rng.standard_normal((4, 5))
    passes = np.stack([net.forward(X, training=True) for _ in range(4000)])
    standard_error = passes.std(axis=0) / np.sqrt(len(passes))
    assert (np.abs(passes.mean(axis=0) - net.scores(X)) < 5 * standard_error).all()


@pytest.mark.parametrize("p", [0.05, 0.3, 0.9])
@pytest.mark.parametrize("shape", [(1000, 100), (999, 101)])  # an odd count of random words
def test_dropout_keeps_each_unit_with_probability_one_minus_p(p, shape):
    layer = Dropout(p)
    layer.rng = np.random.default_rng(0)
    out = layer.forward(np.ones(shape), training=True)
    kept = out != 0
    # About 100,000 Bernoulli(1 - p) draws: the mean's standard deviation.
    sd = np.sqrt(p * (1 - p) / kept.size)
    assert abs(kept.mean() - (1 - p)) < 5 * sd
    np.testing.assert_allclose(out[kept], 1 / (1 - p))
    # Rows and columns alike: no stripes from the way the random words are cut.
    assert abs(kept.mean(axis=0) - (1 - p)).max() < 6 * np.sqrt(p * (1 - p) / shape[0])
    np.testing.assert_array_equal(layer.forward(np.ones((3, 4))), np.ones((3, 4)))


# -- batch norm --------------------------------------------------------------------------------


def _staged_batchnorm_backward(dout, x, gamma, eps=1e-5):
    """CS231n's derivation through the computational graph, one node at a time."""
    n = x.shape[0]
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu ** 2).mean(axis=0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1 / sqrtvar
    xhat = xmu * ivar
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    dvar = 0.5 / sqrtvar * (-1 / sqrtvar ** 2 * divar)
    dxmu2 = 2 * xmu * np.ones_like(x) / n * dvar
    dmu = -(dxmu1 + dxmu2).sum(axis=0)
    return dxmu1 + dxmu2 + np.ones_like(x) / n * dmu, dgamma, dbeta


def test_batchnorm_backward_equals_the_staged_derivation(rng):
    layer = BatchNorm(5)
    layer.params["gamma"][:] = rng.standard_normal(5)
    x, dout = 3 * rng.standard_normal((9, 5)) + 2, rng.standard_normal((9, 5))
    layer.forward(x, training=True)
    dx = layer.backward(dout.copy())
    ref_dx, ref_dgamma, ref_dbeta = _staged_batchnorm_backward(dout, x, layer.params["gamma"])
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(layer.grads["gamma"], ref_dgamma, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], ref_dbeta, rtol=1e-12)


def test_batchnorm_input_gradient_is_numerically_right(rng):
    layer = BatchNorm(4)
    layer.params["gamma"][:] = rng.standard_normal(4)
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    layer.forward(x, training=True)
    dx = layer.backward(dout.copy())
    num = mlp.eval_numerical_gradient(
        lambda _: float((layer.forward(x, training=True) * dout).sum()), x, verbose=False)
    assert mlp.rel_error(num, dx) < 1e-7


def test_batchnorm_network_gradients(rng):
    net = MLP(6, [7, 5], 3, activation=["tanh", "sigmoid"], batch_norm=True, seed=2)
    _random_biases(net, rng)
    X, y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    _check(net, X, y, reg=0.05)


def test_batchnorm_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    x, dout = 2 * rng.standard_normal((16, 6)) + 1, rng.standard_normal((16, 6))
    gamma, beta = rng.standard_normal(6), rng.standard_normal(6)
    ours = BatchNorm(6)
    ours.params = {"gamma": gamma.copy(), "beta": beta.copy()}
    theirs = torch.nn.BatchNorm1d(6, eps=1e-5, momentum=0.1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(gamma))
        theirs.bias.copy_(torch.from_numpy(beta))
    tx = torch.from_numpy(x).requires_grad_(True)
    tout = theirs(tx)
    tout.backward(torch.from_numpy(dout))
    out = ours.forward(x, training=True)
    dx = ours.backward(dout.copy())
    ours.commit()
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grads["gamma"], theirs.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grads["beta"], theirs.bias.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.state["running_mean"], theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.state["running_var"], theirs.running_var.numpy(), rtol=1e-12)
    theirs.eval()
    x2 = rng.standard_normal((5, 6))
    np.testing.assert_allclose(ours.forward(x2), theirs(torch.from_numpy(x2)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_batchnorm_needs_two_examples_per_training_batch(rng):
    net = MLP(3, [4], 2, batch_norm=True, seed=0)
    with pytest.raises(ValueError, match="at least 2 examples per training batch.*got 1"):
        net.loss(rng.standard_normal((1, 3)), [1])
    assert net.predict(rng.standard_normal((1, 3))).shape == (1,)  # inference is fine


def test_running_statistics_move_only_when_a_step_is_taken(rng):
    net = MLP(3, [4], 2, batch_norm=True, seed=0)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    net.loss(X, y)  # a gradient evaluation is not a training step
    np.testing.assert_array_equal(net.state()["running_mean1"], np.zeros(4))
    net.train(X, y, learning_rate=0.1, num_epochs=2, batch_size=10)
    assert np.abs(net.state()["running_mean1"]).max() > 0


def test_a_deep_sigmoid_network_trains_with_batch_norm_only():
    """Eight sigmoid layers: without batch norm the gradient vanishes before reaching the first
    layers and SGD stays at the majority class (0.52); with it the network fits (0.95)."""
    data = np.random.default_rng(0)
    X = data.standard_normal((400, 10))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 0)
    accuracy = {}
    for bn in (False, True):
        net = MLP(10, [32] * 8, 3, activation="sigmoid", batch_norm=bn, seed=0)
        net.train(X, y, learning_rate=0.5, learning_rate_decay=1.0, reg=0.0, num_epochs=60,
                  batch_size=40)
        accuracy[bn] = net.score(X, y)
    assert accuracy[True] > 0.9 > 0.6 > accuracy[False]


# -- regression --------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["mse", "huber"])
@pytest.mark.parametrize("targets", [1, 3])
def test_regression_gradients(rng, loss, targets):
    net = MLP(5, [6], targets, activation="tanh", output="linear", loss=loss, huber_delta=0.7,
              seed=3)
    X = rng.standard_normal((9, 5))
    y = 2 * rng.standard_normal(9 if targets == 1 else (9, targets))
    _check(net, X, y, reg=0.1)


def test_regression_losses_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    pred, y = 3 * rng.standard_normal((12, 2)), rng.standard_normal((12, 2))
    for ours, theirs in [
        (mean_squared_error, lambda p, t: torch.nn.functional.mse_loss(p, t) / 2),
        (lambda p, t, out=None: huber(p, t, 1.5, out),
         lambda p, t: torch.nn.functional.huber_loss(p, t, delta=1.5)),
    ]:
        tp = torch.from_numpy(pred).requires_grad_(True)
        tl = theirs(tp, torch.from_numpy(y))
        tl.backward()
        loss, grad = ours(pred.copy(), y)
        assert loss == pytest.approx(tl.item(), rel=1e-13)
        np.testing.assert_allclose(grad, tp.grad.numpy(), rtol=1e-13)


def test_regression_trains_and_predicts_in_the_targets_shape():
    data = np.random.default_rng(1)
    X = data.standard_normal((500, 4))
    w = np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0], [-1.0, 0.3]])
    Y = np.tanh(X @ w) + 0.01 * data.standard_normal((500, 2))
    net = MLP(4, [32], 2, output="linear", seed=0)
    history = net.train(X[:400], Y[:400], X[400:], Y[400:], learning_rate=0.05,
                        learning_rate_decay=1.0, num_epochs=60, batch_size=20,
                        optimizer=mlp.optim.SGD(momentum=0.9))
    assert set(history) == {"loss_history", "grad_magnitude_history", "train_loss_history",
                            "val_loss_history", "train_r2_history", "val_r2_history"}
    assert len(history["val_r2_history"]) == len(history["train_loss_history"]) == 60
    assert history["val_r2_history"][-1] > 0.98
    assert net.score(X[400:], Y[400:]) == pytest.approx(history["val_r2_history"][-1])
    assert net.predict(X[:7]).shape == (7, 2)
    single = MLP(4, [8], 1, output="linear", seed=0)
    single.train(X, Y[:, 0], num_epochs=2)
    assert single.predict(X[:7]).shape == (7,)
    with pytest.raises(TypeError, match="no class probabilities"):
        single.predict_proba(X[:2])
    with pytest.raises(ValueError, match=r"y must have shape \(500, 1\) or \(500,\)"):
        single.train(X, Y)


def test_classification_history_has_per_epoch_losses(rng):
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    net = MLP(4, [5], 3, seed=0)
    history = net.train(X[:40], y[:40], X[40:], y[40:], num_epochs=3, batch_size=10)
    assert len(history["train_loss_history"]) == len(history["val_loss_history"]) == 3
    assert history["train_loss_history"][0] == pytest.approx(np.mean(history["loss_history"][:4]))
    assert history["val_loss_history"][-1] == pytest.approx(
        net.loss(X[40:], y[40:], reg=1e-5)[0])  # no dropout or batch norm: the same objective


def test_multilabel_sigmoid_output(rng):
    net = MLP(5, [6], 3, output="sigmoid", seed=0)
    X, Y = rng.standard_normal((8, 5)), rng.integers(0, 2, (8, 3))
    _check(net, X, Y)
    assert net.predict(X).shape == (8, 3)
    assert net.predict_proba(X).shape == (8, 3)


# -- composition -------------------------------------------------------------------------------


def test_from_layers_builds_what_it_is_given(rng):
    layers = [Dropout(0.1), Dense(4, 6, rng=rng), BatchNorm(6), Activation("leaky_relu"),
              Dense(6, 3, rng=rng), Activation("identity")]
    net = MLP.from_layers(layers, "softmax", seed=0)
    assert net.layers == layers and net.layer_sizes == [4, 6, 3]
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2"]
    _random_biases(net, rng)
    _check(net, rng.standard_normal((7, 4)), rng.integers(0, 3, 7))
    with pytest.raises(ValueError, match=r"layers\[2\]: BatchNorm normalises 5 features; the layer before it gives 6"):
        MLP.from_layers([Dense(4, 6), Activation("relu"), BatchNorm(5)])
    with pytest.raises(ValueError, match="at least one Dense layer"):
        MLP.from_layers([Activation("relu")])
    with pytest.raises(TypeError, match=r"layers\[1\] must be an mlp.layers.Layer; got str"):
        MLP.from_layers([Dense(4, 6), "relu"])


@st.composite
def architectures(draw):
    depth = draw(st.integers(0, 3))
    hidden = [draw(st.integers(1, 6)) for _ in range(depth)]
    acts = [draw(st.sampled_from(["relu", "sigmoid", "tanh", "leaky_relu"])) for _ in hidden]
    rates = [draw(st.sampled_from([0.0, 0.3, 0.6])) for _ in hidden]
    output = draw(st.sampled_from(["softmax", "sigmoid", "multilabel", "mse", "huber"]))
    return dict(hidden=hidden, acts=acts, rates=rates, output=output,
                batch_norm=draw(st.booleans()), D=draw(st.integers(1, 5)),
                C=draw(st.integers(2, 4)), N=draw(st.integers(4, 8)),
                seed=draw(st.integers(0, 2**16)), reg=draw(st.sampled_from([0.0, 0.1])))


@given(architectures())
def test_gradients_match_numeric_for_any_composition(spec):
    rng = np.random.default_rng(spec["seed"])
    output, C = spec["output"], spec["C"]
    kwargs = {"softmax": dict(output="softmax"), "sigmoid": dict(output="sigmoid"),
              "multilabel": dict(output="sigmoid"), "mse": dict(output="linear"),
              "huber": dict(output="linear", loss="huber", huber_delta=0.5)}[output]
    C = 1 if output == "sigmoid" else C
    net = MLP(spec["D"], spec["hidden"], C, activation=spec["acts"], dropout=spec["rates"],
              batch_norm=spec["batch_norm"], seed=spec["seed"], **kwargs)
    _random_biases(net, rng)
    X = rng.standard_normal((spec["N"], spec["D"]))
    y = net.head.random_targets(rng, spec["N"], C)
    with net.frozen_dropout():
        pre = _activation_inputs(net, X)
        # ReLU's kink at 0 makes centred differences meaningless within h of it; such
        # draws are skipped, not checked loosely.
        assume(all(np.abs(a).min() > 1e-3 for name, a in pre if "relu" in name))
        _, grads = net.loss(X, y, reg=spec["reg"])
        assert_gradients_match(lambda _: net.loss(X, y, reg=spec["reg"])[0], net.params, grads)


# -- model files -------------------------------------------------------------------------------


def test_format_2_round_trip_keeps_every_layer(tmp_path, rng):
    net = MLP(6, [8, 5], 3, activation=["relu", "tanh"], dropout=[0.3, 0.1], batch_norm=True,
              seed=9, dtype="float32")
    X, y = rng.standard_normal((50, 6)), rng.integers(0, 3, 50)
    net.train(X, y, learning_rate=0.1, num_epochs=2, batch_size=10)
    back = mlp.load(mlp.save(net, tmp_path / "m.npz"))
    assert [layer.config() for layer in back.layers] == [layer.config() for layer in net.layers]
    assert (back.activation, back.dropout, back.batch_norm) == (["relu", "tanh"], [0.3, 0.1], True)
    for name in net.state():
        np.testing.assert_array_equal(back.state()[name], net.state()[name])
    np.testing.assert_array_equal(back.scores(X), net.scores(X))
    assert mlp.serialization.load_metadata(tmp_path / "m.npz")["version"] == 2


def test_regression_model_round_trip(tmp_path, rng):
    net = MLP(3, [4], 2, output="linear", loss="huber", huber_delta=0.25, seed=1)
    back = mlp.load(mlp.save(net, tmp_path / "r.npz"))
    assert (back.head.loss_name, back.head.delta) == ("huber", 0.25)
    X = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


@pytest.mark.parametrize("name", ["v1_two_layer", "v1_mlp_tanh", "v1_mlp_sigmoid_out"])
def test_format_1_files_still_load_and_predict_identically(name):
    """Files written by mlp 0.1.0 (model format 1), committed with the outputs they gave. The
    parameters load bit for bit; the outputs agree to rounding, since another CPU's BLAS kernel
    may sum a matrix product in another order (one ulp, seen between Intel and AMD)."""
    expected = np.load(f"{FIXTURES}/v1_expected.npz")
    net = mlp.load(f"{FIXTURES}/{name}.npz")
    X = expected["X"]
    np.testing.assert_allclose(net.scores(X), expected[f"{name}/scores"], rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(net.predict(X), expected[f"{name}/predict"])
    np.testing.assert_allclose(net.predict_proba(X), expected[f"{name}/proba"], rtol=1e-13,
                               atol=1e-15)


def test_check_gradients_is_not_fooled_by_gradients_that_are_truly_zero():
    """The bias before a batch norm cannot change the loss: its gradient is exactly 0, and
    the numeric one is rounding noise, which must not read as a relative error of 1e-3."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    net = MLP(5, [7, 6], 3, seed=0, batch_norm=True, activation="tanh")
    assert np.abs(net.loss(X, y)[1]["b1"]).max() < 1e-15
    errors = check_gradients(net, X, y, reg=0.1)
    assert max(errors.values()) < 1e-6, errors
    # A wrong backward is still caught: batch norm's input gradient off by 1%.
    layer = net.layers[1]
    right = layer.backward
    layer.backward = lambda dout, need_dx=True, scratch=None: (
        None if not need_dx else 1.01 * right(dout, need_dx, scratch))
    assert check_gradients(net, X, y)["W1"] > 1e-3


def test_repr_names_the_regression_loss():
    assert "loss='huber', huber_delta=0.5" in repr(MLP(3, [4], 1, output="linear", loss="huber",
                                                      huber_delta=0.5))


@pytest.mark.parametrize("seed", [3, None])
def test_a_gradient_check_between_runs_changes_nothing(seed, rng):
    """frozen_dropout puts the generator back: training, checking, training gives the numbers
    of training twice without the check (with the network's generator or NumPy's global one)."""
    X, y = rng.standard_normal((24, 5)), rng.integers(0, 3, 24)
    runs = []
    for check in (False, True):
        np.random.seed(0)
        net = MLP(5, [6], 3, dropout=0.3, seed=seed, dtype="float64")
        net.train(X, y, num_epochs=2, batch_size=8, learning_rate=0.1)
        if check:
            check_gradients(net, X[:6], y[:6])
        net.train(X, y, num_epochs=2, batch_size=8, learning_rate=0.1)
        runs.append(net.scores(X))
    np.testing.assert_array_equal(runs[0], runs[1])
