"""Checkpoints: a run stopped after any epoch, even by SIGKILL, resumes to exactly the parameters
of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mlp import MLP, TwoLayerMLP
from mlp import serialization as mio
from mlp.callbacks import Checkpoint
from mlp.optim import SGD, Adam
from mlp.training import Callback


def _data(rng, n=120, d=6, c=3):
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


def _assert_same_params(a, b):
    assert list(a.params) == list(b.params)
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name]), name
    assert list(a.state()) == list(b.state())  # batch norm's running statistics
    for name in a.state():
        assert np.array_equal(a.state()[name], b.state()[name]), name


class _StopAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, state):
        state.stop = state.epoch >= self.epoch


@pytest.mark.parametrize("make, optimizer", [
    (lambda: MLP(6, [8, 5], 3, seed=11), lambda: SGD(momentum=0.9, nesterov=True)),
    (lambda: TwoLayerMLP(6, 8, 3, std=0.1), lambda: Adam()),  # NumPy's global generator
    (lambda: MLP(6, [8], 3, seed=3, dtype="float32"), lambda: Adam()),
    (lambda: MLP(6, [8, 5], 3, seed=5, activation=["relu", "tanh"], dropout=[0.3, 0.2],
                 batch_norm=True), lambda: SGD(momentum=0.9)),
    (lambda: MLP(6, [8], 3, dropout=0.5, batch_norm=True, dtype="float32"), lambda: Adam()),
], ids=["private-rng-sgd", "global-rng-adam", "float32", "dropout-batchnorm",
        "dropout-batchnorm-global-rng"])
def test_resume_from_a_checkpoint_is_exact(tmp_path, rng, make, optimizer):
    X, y = _data(rng)
    settings = dict(learning_rate=0.01, num_epochs=5, batch_size=16, reg=1e-3)

    np.random.seed(0)
    whole = make()
    whole_stats = whole.train(X, y, X, y, optimizer=optimizer(), **settings)

    np.random.seed(0)
    first = make()
    path = tmp_path / "ckpt.npz"
    first.train(X, y, X, y, optimizer=optimizer(),
                callbacks=[Checkpoint(path), _StopAfter(2)], **settings)
    np.random.seed(999)  # whatever happens in between must not matter
    model, snapshot = mio.load_checkpoint(path)
    assert snapshot[0]["epoch"] == 2
    stats = model.train(X, y, X, y, optimizer=optimizer(), resume=snapshot, **settings)

    _assert_same_params(whole, model)
    assert stats == whole_stats


def test_checkpoint_every_and_at_the_end(tmp_path, rng):
    X, y = _data(rng)
    saved = []

    class Spy(Callback):
        def on_epoch_end(self, state):
            if (tmp_path / "c.npz").exists():
                saved.append(mio.load_metadata(tmp_path / "c.npz")["training_state"]["epoch"])

    net = MLP(6, [4], 3, seed=0)
    net.train(X, y, num_epochs=5, batch_size=30,
              callbacks=[Checkpoint(tmp_path / "c.npz", every=2, extra=lambda: {"k": 1}),
                         Spy()])
    assert saved == [2, 2, 4, 4]
    meta = mio.load_metadata(tmp_path / "c.npz")
    assert meta["training_state"]["epoch"] == 5  # the final epoch is saved by on_train_end
    assert meta["extra"] == {"k": 1}
    with pytest.raises(ValueError, match="every"):
        Checkpoint(tmp_path / "c.npz", every=0)


def _mlp(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mlp", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


RUN = ["train", "--quiet", "--epochs", "40", "--train-size", "1500", "--hidden", "32",
       "--batch-size", "25", "--optimizer", "adam", "--seed", "5", "--no-plots"]


def _checkpoint_epoch(path):
    try:
        return mio.load_metadata(path)["training_state"]["epoch"]
    except (OSError, ValueError):
        return -1


def test_a_killed_run_resumes_to_the_same_parameters(tmp_path):
    whole = _mlp(*RUN, "--out", "whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr

    proc = subprocess.Popen([sys.executable, "-m", "mlp", *RUN, "--out", "killed"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = tmp_path / "killed" / "checkpoint.npz"
    deadline = time.monotonic() + 60
    while _checkpoint_epoch(checkpoint) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint after 60 s"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (tmp_path / "killed" / "model.npz").exists()
    epoch = _checkpoint_epoch(checkpoint)
    assert 2 <= epoch < 40

    resumed = _mlp("train", "--resume", str(checkpoint), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_params(mio.load(tmp_path / "whole" / "model.npz"),
                        mio.load(tmp_path / "killed" / "model.npz"))
    lines = {name: (tmp_path / name / "iterations.csv").read_text() for name in ("whole", "killed")}
    assert lines["whole"] == lines["killed"]


def test_resume_keeps_the_settings(tmp_path):
    run = _mlp(*RUN[:3], "3", *RUN[4:], "--out", "r", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    changed = _mlp("train", "--resume", "r/checkpoint.npz", "--lr", "0.5", cwd=tmp_path)
    assert changed.returncode == 2
    assert "--lr 0.5 differs from the checkpoint's" in changed.stderr
    assert "Traceback" not in changed.stderr
    longer = _mlp("train", "--resume", "r/checkpoint.npz", "--epochs", "4", "-q", cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr
    assert mio.load_metadata(tmp_path / "r" / "checkpoint.npz")["training_state"]["epoch"] == 4


def _checkpoint_and_whole(tmp_path, rng):
    """An Adam run of 4 epochs, and a checkpoint of the same run after 2 (the flat layout)."""
    X, y = _data(rng)
    settings = dict(learning_rate=0.01, num_epochs=4, batch_size=16, reg=1e-3)
    whole = MLP(6, [8, 5], 3, seed=11)
    whole.train(X, y, optimizer=Adam(), **settings)
    first = MLP(6, [8, 5], 3, seed=11)
    path = tmp_path / "ckpt.npz"
    first.train(X, y, optimizer=Adam(), callbacks=[Checkpoint(path), _StopAfter(2)], **settings)
    model, (meta, arrays) = mio.load_checkpoint(path)
    # The flat layout holds the weights first, then the biases.
    layout = sorted(model.params.items(), key=lambda item: item[0][0] != "W")
    per_param = {}
    for suffix in (".m", ".v"):
        flat, offset = arrays.pop(f"optimizer/flat{suffix}"), 0
        for name, p in layout:
            per_param[f"{name}{suffix}"] = flat[offset:offset + p.size].reshape(p.shape)
            offset += p.size
    return whole, model, meta, arrays, per_param, (X, y, settings)


def test_an_optimizer_state_saved_per_parameter_resumes_exactly(tmp_path, rng):
    """Checkpoints written before the flat layout keep momentum per parameter (``W1``, ...)."""
    whole, model, meta, arrays, per_param, (X, y, settings) = _checkpoint_and_whole(tmp_path, rng)
    arrays.update({f"optimizer/{key}": value for key, value in per_param.items()})
    model.train(X, y, optimizer=Adam(), resume=(meta, arrays), **settings)
    _assert_same_params(whole, model)


def test_an_optimizer_state_in_the_first_flat_layout_resumes_exactly(tmp_path, rng):
    """The first flat layout (``all``, ``all.m``) followed the parameters' order: W1, b1, ..."""
    whole, model, meta, arrays, per_param, (X, y, settings) = _checkpoint_and_whole(tmp_path, rng)
    for suffix in (".m", ".v"):
        arrays[f"optimizer/all{suffix}"] = np.concatenate(
            [per_param[f"{name}{suffix}"].ravel() for name in model.params])
    model.train(X, y, optimizer=Adam(), resume=(meta, arrays), **settings)
    _assert_same_params(whole, model)
