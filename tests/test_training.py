import numpy as np
import pytest

from mlp import MLP, DivergenceError, TwoLayerMLP
from mlp.demo import REFERENCE_FIGURES, toy_data, toy_model, toy_training


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_toy_training_matches_the_seed(activation):
    stats = toy_training(activation)
    expected = REFERENCE_FIGURES[f"{activation}_final_training_loss"]
    assert abs(stats["loss_history"][-1] - expected) < 1e-9
    epochs = 100 if activation == "sigmoid" else 50
    assert len(stats["loss_history"]) == len(stats["grad_magnitude_history"]) == epochs
    assert len(stats["train_acc_history"]) == len(stats["val_acc_history"]) == epochs


def test_relu_gets_far_stronger_learning_signals_than_sigmoid():
    sigmoid = np.array(toy_training("sigmoid")["grad_magnitude_history"])
    relu = np.array(toy_training("relu")["grad_magnitude_history"])
    assert relu.mean() > 3 * sigmoid.mean()
    assert relu.max() > 2 * sigmoid.max()


def test_history_records_loss_before_each_update():
    X, y = toy_data()
    net = toy_model("relu")
    first_loss, grads = net.loss(X, y, reg=1e-5)
    stats = net.train(X, y, X, y, learning_rate=0.1, reg=1e-5, num_epochs=1)
    # The batch is a permutation of X, so sums run in another order: equal to rounding.
    assert stats["loss_history"] == [pytest.approx(first_loss, rel=1e-14)]
    assert stats["grad_magnitude_history"] == [pytest.approx(np.linalg.norm(grads["W1"]), rel=1e-14)]
    assert stats["train_acc_history"] == [np.mean(net.predict(X) == y)]


def test_one_step_is_plain_sgd():
    X, y = toy_data()
    net = toy_model("sigmoid")
    before = {k: v.copy() for k, v in net.params.items()}
    _, grads = net.loss(X, y, reg=0.3)
    net.train(X, y, learning_rate=0.25, reg=0.3, num_epochs=1, batch_size=5)
    for name in before:
        np.testing.assert_allclose(
            net.params[name], before[name] - 0.25 * grads[name], rtol=1e-14, atol=1e-16
        )


def test_batches_per_epoch_and_learning_rate_decay(rng):
    X = rng.standard_normal((23, 4))
    y = rng.integers(0, 3, 23)
    net = MLP(4, [5], 3, seed=0)
    stats = net.train(X, y, num_epochs=3, batch_size=5)
    assert len(stats["loss_history"]) == 3 * (23 // 5)
    assert stats["val_acc_history"] == []
    # A batch larger than the set gives one full-batch iteration per epoch.
    assert len(MLP(4, [5], 3, seed=0).train(X, y, num_epochs=2, batch_size=100)["loss_history"]) == 2


def test_learning_rate_decays_after_each_epoch():
    X, y = toy_data()
    decayed = toy_model("relu")
    decayed.train(X, y, learning_rate=0.1, learning_rate_decay=0.5, reg=0, num_epochs=2)
    manual = toy_model("relu")
    for lr in (0.1, 0.05):
        _, grads = manual.loss(X, y)
        for name, g in grads.items():
            manual.params[name] -= lr * g
    for name in manual.params:
        np.testing.assert_allclose(decayed.params[name], manual.params[name], rtol=1e-14)


def test_same_seed_same_numbers(rng):
    X = rng.standard_normal((60, 5))
    y = rng.integers(0, 3, 60)
    runs = []
    for _ in range(2):
        net = MLP(5, [8, 8], 3, activation="tanh", seed=3)
        runs.append((net.train(X, y, X, y, num_epochs=3, batch_size=7), net.params))
    assert runs[0][0] == runs[1][0]
    for name in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][name], runs[1][1][name])


def test_global_seed_reproduces_shuffling(rng):
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    losses = []
    for _ in range(2):
        np.random.seed(5)
        net = TwoLayerMLP(5, 6, 3, std=0.1)
        losses.append(net.train(X, y, batch_size=8, num_epochs=2)["loss_history"])
    assert losses[0] == losses[1]


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = toy_data()
    stats = toy_model("relu").train(X, y, X, y, learning_rate=0.1, num_epochs=3, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[2] == (
        f"Epoch 3: loss {stats['loss_history'][-1]:f}, "
        f"train acc {stats['train_acc_history'][-1]:f}, val acc {stats['val_acc_history'][-1]:f}"
    )


def test_divergence_stops_with_a_clear_error_and_keeps_finite_params():
    X, y = toy_data()
    net = toy_model("relu")
    snapshots = []
    # Record the params whose loss is computed at each iteration.
    original = net.data_loss

    def recording_loss(Xb, yb, *args):
        snapshots.append({k: v.copy() for k, v in net.params.items()})
        return original(Xb, yb, *args)

    net.data_loss = recording_loss
    with pytest.raises(DivergenceError) as info:
        with np.errstate(over="ignore", invalid="ignore"):
            net.train(X * 1e3, y, learning_rate=1e12, num_epochs=50)
    err = info.value
    message = str(err)
    assert f"epoch {err.epoch}, iteration {err.iteration}" in message
    assert "smaller learning_rate" in message
    assert len(snapshots) >= 2
    # The params are those of the last iteration whose loss was finite.
    for name, value in snapshots[-2].items():
        np.testing.assert_array_equal(net.params[name], value)
        assert np.isfinite(net.params[name]).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_workspace_path_gives_the_same_numbers_as_the_plain_path(dtype, output, rng):
    """Training's preallocated buffers change where results are written, never what they are."""
    C = 1 if output == "sigmoid" else 4
    net = MLP(12, [9, 7], C, activation="sigmoid", output=output, seed=0, dtype=dtype)
    X = rng.integers(0, 256, (16, 12)).astype(np.uint8)
    y = rng.integers(0, net.n_classes, 16)
    plain_loss, plain = net.data_loss(X, y)
    plain = {k: v.copy() for k, v in plain.items()}
    work = net.workspace(16)
    for _ in range(2):  # the second pass reuses the buffers
        loss, grads = net.data_loss(X, y, work)
        assert loss == plain_loss
        for name in plain:
            np.testing.assert_array_equal(grads[name], plain[name])
    np.testing.assert_array_equal(net.trusted_scores(X), net.forward(X))


def test_uint8_pixels_train_exactly_like_their_float_copy(rng):
    X = rng.integers(0, 256, (64, 20)).astype(np.uint8)
    y = rng.integers(0, 3, 64)
    runs = []
    for data in (X, X.astype(np.float32)):
        net = MLP(20, [8], 3, std=0.01, seed=1, dtype="float32")
        runs.append((net.train(data, y, data, y, num_epochs=2, batch_size=16, reg=0.1),
                     net.params))
    assert runs[0][0] == runs[1][0]
    for name in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][name], runs[1][1][name])


def test_divergence_on_the_first_step_after_resume_keeps_the_loaded_params():
    from mlp.training import Callback

    X, y = toy_data()
    net = toy_model("relu")
    snapshots = []

    class Grab(Callback):
        def on_epoch_end(self, state):
            snapshots.append(state.snapshot())

    net.train(X, y, learning_rate=0.1, num_epochs=1, callbacks=[Grab()])
    net.params["W2"][0, 0] = np.inf  # the loaded parameters themselves give a non-finite loss
    loaded = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(DivergenceError, match="epoch 2, iteration 1"):
        with np.errstate(invalid="ignore", over="ignore"):
            net.train(X, y, learning_rate=0.1, num_epochs=3, resume=snapshots[0])
    for name, value in loaded.items():  # not the uninitialised spare buffers
        np.testing.assert_array_equal(net.params[name], value)
