"""The edges of training: every update checked, diverging runs stopped with the likely cause,
resumes that must match, early stopping, numeric gradients that always restore, and a package
without import cycles."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import mlp
from mlp import MLP, DivergenceError
from mlp.callbacks import Checkpoint, EarlyStopping
from mlp.optim import SGD, Adam
from mlp.serialization import load_checkpoint
from mlp.training import Callback


def _blobs(rng, n=200, d=5, c=3):
    centres = 3 * rng.standard_normal((c, d))
    y = rng.integers(0, c, n)
    return centres[y] + rng.standard_normal((n, d)), y


# -- divergence ---------------------------------------------------------------------------------


def test_the_last_update_of_a_run_is_checked(rng):
    """One batch, one epoch: no later loss would ever see the update that broke the weights."""
    X, y = _blobs(rng)
    net = MLP(5, [8], 3, seed=0, dtype="float32")
    initial = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(DivergenceError, match="became non-finite in the update") as info:
        with np.errstate(all="ignore"):
            net.train(X, y, learning_rate=1e300, num_epochs=1, batch_size=len(X))
    assert "restored to their values before the step" in str(info.value)
    for name, value in initial.items():
        np.testing.assert_array_equal(net.params[name], value)


def test_a_loss_that_grows_without_bound_stops_the_run(rng):
    X = rng.standard_normal((100, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    net = MLP(3, [], 1, output="linear", seed=0)
    with pytest.raises(DivergenceError, match=r"the loss grew to .*more than 1e\+06 times"):
        net.train(X, y, learning_rate=5.0, learning_rate_decay=1.0, reg=0.0, num_epochs=100,
                  batch_size=100)
    assert all(np.isfinite(p).all() for p in net.params.values())


@pytest.mark.parametrize("setting, cause", [
    (dict(reg=300.0, learning_rate=0.01), "the L2 penalty is large for this learning rate"),
    (dict(scale=1e6), "the inputs are large (up to"),
    (dict(learning_rate=1e9), "the learning rate, 1e+09 at that point, may be too large"),
], ids=["penalty", "input-scale", "learning-rate"])
def test_the_divergence_message_names_the_likely_cause(rng, setting, cause):
    X, y = _blobs(rng)
    setting = dict(setting)
    X = X * setting.pop("scale", 1.0)
    net = MLP(5, [16], 3, std=setting.pop("std", None), seed=0)
    options = dict(learning_rate=0.1, reg=0.0, num_epochs=30, batch_size=20) | setting
    with pytest.raises(DivergenceError) as info, np.errstate(all="ignore"):
        net.train(X, y, **options)
    assert cause in str(info.value)


def test_a_large_initial_scale_is_named_as_a_cause(rng):
    from mlp.training import likely_cause

    cause = likely_cause(MLP(5, [4], 3, std=50.0), rng.standard_normal((3, 5)), 0.1, [])
    assert cause.startswith("the initial weight scale std=50 is large")
    assert cause.endswith("may be too large: try a smaller learning_rate")


def test_a_first_step_divergence_does_not_claim_a_restore(rng):
    X, y = _blobs(rng)
    net = MLP(5, [4], 3, seed=0)
    with np.errstate(all="ignore"):
        net.params["W1"][0, 0] = np.inf
        with pytest.raises(DivergenceError, match="still the ones training started with"):
            net.train(X, y, num_epochs=1)


# -- resume -----------------------------------------------------------------------------------


class _StopAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, state):
        state.stop = state.epoch >= self.epoch


@pytest.fixture
def checkpoint(tmp_path, rng):
    X, y = _blobs(rng)
    net = MLP(5, [6], 3, seed=1)
    path = tmp_path / "c.npz"
    net.train(X, y, num_epochs=4, batch_size=20, optimizer=SGD(momentum=0.9),
              callbacks=[Checkpoint(path), _StopAfter(2)])
    return path, X, y


@pytest.mark.parametrize("change, message", [
    (dict(batch_size=25), "checkpoint's batch size was 20, this run's is 25"),
    (dict(optimizer=Adam()), "checkpoint's optimizer was 'SGD(momentum=0.9"),
    (dict(data="other"), "checkpoint's training data was"),
])
def test_resuming_with_other_settings_or_data_is_refused(checkpoint, change, message):
    path, X, y = checkpoint
    model, snapshot = load_checkpoint(path)
    settings = dict(num_epochs=4, batch_size=20, optimizer=SGD(momentum=0.9)) | change
    if settings.pop("data", None):
        X = X + 1.0
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        model.train(X, y, resume=snapshot, **settings)


@pytest.mark.parametrize("epoch", [-3, 5, 2.5, True])
def test_a_crafted_epoch_counter_is_refused(checkpoint, epoch):
    path, X, y = checkpoint
    model, (meta, arrays) = load_checkpoint(path)
    meta["epoch"] = epoch
    with pytest.raises(ValueError, match=r"epoch must be a whole number .* in \[0, num_epochs=4\]"):
        model.train(X, y, num_epochs=4, batch_size=20, optimizer=SGD(momentum=0.9),
                    resume=(meta, arrays))


# -- early stopping ---------------------------------------------------------------------------


def test_early_stopping_stops_and_restores_the_best_epoch(rng):
    X, y = _blobs(rng, n=120)
    noise = rng.integers(0, 3, 60)  # random validation labels: the model can only overfit them
    net = MLP(5, [64], 3, seed=0)

    class Keep(Callback):
        def __init__(self):
            self.params = {}

        def on_epoch_end(self, state):
            self.params[state.epoch] = {k: v.copy() for k, v in state.model.params.items()}

    keep, stop = Keep(), EarlyStopping("val_loss", patience=3)
    history = net.train(X[:60], y[:60], X[60:], noise, learning_rate=0.5, reg=0.0,
                        num_epochs=200, batch_size=10, callbacks=[keep, stop])
    epochs = len(history["val_loss_history"])
    assert stop.stopped_epoch == epochs < 200
    best = int(np.argmin(history["val_loss_history"])) + 1
    assert stop.best_epoch == best == epochs - 3
    assert stop.best == min(history["val_loss_history"])
    for name, value in keep.params[best].items():
        np.testing.assert_array_equal(net.params[name], value)


def test_early_stopping_on_a_score_and_without_restoring(rng):
    X, y = _blobs(rng)
    net = MLP(5, [8], 3, seed=0)
    stop = EarlyStopping("val_acc", patience=2, min_delta=0.5, restore_best=False)
    history = net.train(X, y, X, y, learning_rate=0.1, num_epochs=50, callbacks=[stop])
    assert len(history["val_acc_history"]) == 3  # no gain of 0.5 after the first epoch
    assert stop.best == history["val_acc_history"][0]


def test_early_stopping_bad_arguments(rng):
    X, y = _blobs(rng)
    with pytest.raises(ValueError, match="monitor must name a per-epoch history entry"):
        EarlyStopping("loss")
    with pytest.raises(ValueError, match="patience must be a positive integer; got 0"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="cannot monitor 'val_r2': this run records"):
        MLP(5, [4], 3).train(X, y, X, y, callbacks=[EarlyStopping("val_r2")])
    with pytest.raises(ValueError, match="no validation set"):
        MLP(5, [4], 3).train(X, y, callbacks=[EarlyStopping("val_loss")])
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be an mlp.callbacks.Callback"):
        MLP(5, [4], 3).train(X, y, callbacks=[print])


# -- numeric gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_numeric_gradient_restores_the_entry_whatever_f_raises(error):
    x = np.arange(6, dtype=float).reshape(2, 3)
    calls = []

    def f(_):
        calls.append(1)
        if len(calls) == 3:
            raise error("stop")
        return float(x.sum())

    with pytest.raises(error):
        mlp.eval_numerical_gradient(f, x, verbose=False)
    np.testing.assert_array_equal(x, np.arange(6, dtype=float).reshape(2, 3))


# -- the package --------------------------------------------------------------------------------


def _imports(path: Path, package: str) -> set[str]:
    """The mlp modules that ``path`` imports anywhere in it (top level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            names.add(target)
            names.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlp"):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("mlp"))
    return names


def test_the_package_has_no_import_cycles():
    root = Path(mlp.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if parts[-1] == "__init__" else name.rsplit(".", 1)[0]
        modules[name] = (path, package)
    graph = {name: {m for m in _imports(path, package) if m in modules and m != name}
             for name, (path, package) in modules.items()}
    graph["mlp"] = set()  # the package's face imports everything; nothing imports it back
    done, active = set(), []

    def visit(name):
        if name in active:
            cycle = active[active.index(name):] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        active.append(name)
        for other in sorted(graph[name]):
            visit(other)
        active.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    assert math.isfinite(len(done))
