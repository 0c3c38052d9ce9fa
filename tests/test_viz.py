"""Pictures: the problem set's three helpers, the confusion matrix and the unit diagnostics."""

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from mlp import MLP, TwoLayerMLP, viz
from mlp.callbacks import ActivityMonitor


@pytest.fixture(autouse=True)
def no_pyplot_figures_leak():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a viz function left a pyplot figure open"


def _stats(iterations=40, epochs=4):
    rng = np.random.default_rng(0)
    return {
        "loss_history": list(2.3 * np.exp(-np.arange(iterations) / 10) + rng.random(iterations) / 10),
        "grad_magnitude_history": list(rng.random(iterations)),
        "train_acc_history": list(np.linspace(0.3, 0.9, epochs)),
        "val_acc_history": list(np.linspace(0.25, 0.85, epochs)),
    }


def test_importing_viz_needs_no_matplotlib():
    code = "import sys, mlp.viz; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_visualize_grid_tiles_and_rescales_each_image():
    rng = np.random.default_rng(1)
    Xs = rng.standard_normal((5, 4, 3)) * [[[1]], [[10]], [[100]], [[0.1]], [[1]]]
    Xs[4] = 7.0  # a constant tile
    grid = viz.visualize_grid(Xs, ubound=255.0, padding=2)
    assert grid.shape == (3 * 4 + 2 * 2, 3 * 3 + 2 * 2)  # 5 images on a 3x3 grid
    for i in range(4):
        r, c = divmod(i, 3)
        tile = grid[r * 6 : r * 6 + 4, c * 5 : c * 5 + 3]
        assert tile.min() == 0 and tile.max() == pytest.approx(255)
    assert np.all(grid[6:10, 5:8] == 0)  # the constant tile
    assert np.all(grid[4:6, :] == 0) and np.all(grid[:, 3:5] == 0)  # padding
    assert np.all(grid[12:, 5:] == 0)  # empty cells


def test_visualize_grid_colour_and_errors():
    grid = viz.visualize_grid(np.random.default_rng(2).random((4, 5, 5, 3)), ubound=1.0,
                              padding=0)
    assert grid.shape == (10, 10, 3) and grid.max() <= 1.0
    with pytest.raises(ValueError, match="batch"):
        viz.visualize_grid(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="padding"):
        viz.visualize_grid(np.zeros((1, 3, 3)), padding=-1)


def test_plot_stats_has_the_problem_sets_three_panels(tmp_path):
    fig = viz.plot_stats(_stats())
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Gradient magnitude history (W1)", "Loss history",
                      "Classification accuracy history"]
    acc = fig.axes[2]
    assert [t.get_text() for t in acc.get_legend().get_texts()] == ["train", "val"]
    assert fig.axes[1].get_ylim()[0] == 0
    fig.savefig(tmp_path / "stats.png")
    assert (tmp_path / "stats.png").stat().st_size > 10_000


def test_plot_stats_without_validation_and_bad_input():
    stats = _stats()
    stats["val_acc_history"] = []
    viz.plot_stats(stats)
    with pytest.raises(KeyError, match="loss_history"):
        viz.plot_stats({"grad_magnitude_history": []})


def test_show_net_weights_draws_one_tile_per_hidden_unit():
    net = TwoLayerMLP(784, 10, 10, std=1e-1, seed=0)
    fig = viz.show_net_weights(net)
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (4 * 28 + 3 * 3, 4 * 28 + 3 * 3)  # 10 tiles on a 4x4 grid
    assert "28x28" in fig.axes[0].get_title()
    sparse = viz.show_net_weights(net, per_tile=False)
    assert "grey = 0" in sparse.axes[0].get_title()


def test_show_net_weights_needs_an_image_shape():
    with pytest.raises(ValueError, match="image_shape"):
        viz.show_net_weights(MLP(10, [3], 2))
    fig = viz.show_net_weights(MLP(10, [3], 2), image_shape=(2, 5))
    assert "2x5" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="does not hold"):
        viz.show_net_weights(MLP(10, [3], 2), image_shape=(3, 3))


def test_confusion_matrix_counts_pairs():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    cm = viz.confusion_matrix(y_true, y_pred)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert viz.confusion_matrix(y_true, y_pred, n_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="same length"):
        viz.confusion_matrix(y_true, y_pred[:3])
    with pytest.raises(ValueError, match="below n_classes"):
        viz.confusion_matrix(y_true, y_pred, n_classes=2)


def test_plot_confusion_matrix(tmp_path):
    cm = np.array([[50, 2], [5, 43]])
    fig = viz.plot_confusion_matrix(cm, class_names=["cat", "dog"])
    ax = fig.axes[0]
    assert "accuracy 0.9300" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["50", "2", "5", "43"]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    fig.savefig(tmp_path / "cm.png")
    with pytest.raises(ValueError, match="square"):
        viz.plot_confusion_matrix(np.zeros((2, 3)))


def test_unit_activity_saturated_sigmoid_units():
    net = MLP(20, [6, 4], 3, activation="sigmoid", std=10.0, seed=0)
    X = np.random.default_rng(0).standard_normal((200, 20)) * 10
    report = viz.unit_activity(net, X)
    assert [r["layer"] for r in report] == [1, 2]
    assert report[0]["saturated"] > 0.95
    assert report[0]["units"] == 6


def test_unit_activity_dead_relu_units():
    net = MLP(5, [4], 2, activation="relu", seed=0)
    X = np.random.default_rng(0).standard_normal((100, 5))
    net.params["b1"][:2] = -1e3  # two units that no input can switch on
    (layer,) = viz.unit_activity(net, X)
    assert layer["dead"] == 0.5
    assert np.isnan(layer["saturated"])


@pytest.mark.parametrize("activation", ["tanh", "leaky_relu"])
def test_unit_activity_other_activations(activation):
    net = MLP(5, [4], 2, activation=activation, seed=0)
    net.params["b1"][:] = -1e3
    (layer,) = viz.unit_activity(net, np.ones((10, 5)))
    assert layer["dead"] == (1.0 if activation == "tanh" else 0.0)  # leaky ReLUs never die


def test_unit_activity_checks_its_batch():
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        viz.unit_activity(MLP(5, [4], 2), np.ones((3, 4)))


def test_activity_monitor_records_every_epoch_and_plots(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((80, 6)), rng.integers(0, 3, 80)
    runs = {}
    for activation in ("sigmoid", "relu"):
        monitor = ActivityMonitor(X, max_examples=50)
        MLP(6, [5, 4], 3, activation=activation, seed=1).train(
            X, y, num_epochs=3, batch_size=20, callbacks=[monitor])
        assert monitor.history["epoch"] == [0, 1, 2, 3]
        assert np.asarray(monitor.history["dead"]).shape == (4, 2)
        runs[activation] = monitor.history
    fig = viz.plot_unit_activity(runs, title="two runs")
    sat, dead = fig.axes
    assert [line.get_label() for line in sat.get_lines()] == ["sigmoid layer 1", "sigmoid layer 2"]
    assert len(dead.get_lines()) == 4
    fig.savefig(tmp_path / "activity.png")
    single = viz.plot_unit_activity(runs["relu"])
    assert "do not saturate" in single.axes[0].texts[0].get_text()
