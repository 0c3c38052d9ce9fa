"""The edges of training: every update checked, diverging runs stopped with the likely cause,
resumes that must match, early stopping, numeric gradients that always restore, and a package
without import cycles."""

import ast
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import rewrite_model_file

import mlp
import mlp.images
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


#: The house's floors: a package imports only from its own floor or below. The core (the
#: library's modules and its data) at the bottom, the run layer above it, the doors above
#: that, and the command at the top (it hosts the other doors' commands).
FLOORS = {"mlp": 0, "mlp.data": 0, "mlp.datasets": 0, "mlp.run": 1, "mlp.estimators": 2,
          "mlp.tuning": 2, "mlp.playground": 2, "mlp.teaching": 2, "mlp.cli": 3}
#: Doors do not import each other: each is thin, on the run layer and the core.
DOORS = ("mlp.estimators", "mlp.tuning", "mlp.playground", "mlp.teaching")


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and ".".join(parts[:2]) in FLOORS else "mlp"


def test_no_import_runs_up_the_house_or_between_doors():
    root = Path(mlp.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if parts[-1] == "__init__" else name.rsplit(".", 1)[0]
        if name in ("mlp", "mlp.__main__"):
            continue  # the package's face, and ``python -m mlp``: the command itself
        here = _package(name)
        for other in {_package(m) for m in _imports(path, package)}:
            if FLOORS[other] > FLOORS[here] or (here in DOORS and other in DOORS
                                                and other != here):
                found.append(f"{name} imports {other}")
    assert found == []


# -- hostile files ------------------------------------------------------------------------------


@pytest.fixture
def model_file(tmp_path):
    return mlp.save(MLP(6, [5], 3, seed=0), tmp_path / "m.npz")


def test_metadata_claiming_a_huge_network_builds_nothing(model_file):
    import tracemalloc

    def huge(meta):
        meta["hidden_sizes"] = [400000]
        meta["layers"][0]["out_features"] = 400000
        meta["layers"][2]["in_features"] = 400000

    rewrite_model_file(model_file, huge)
    tracemalloc.start()
    with pytest.raises(mlp.serialization.ModelFileError, match=r"W1 has shape \(6, 5\), the metadata says \(6, 400000\)"):
        mlp.load(model_file)
    assert tracemalloc.get_traced_memory()[1] < 10 << 20
    tracemalloc.stop()


def test_unknown_members_are_refused_unread(model_file):
    rewrite_model_file(model_file, change_arrays=lambda a: a.__setitem__("payload", np.zeros(10)))
    with pytest.raises(mlp.serialization.ModelFileError, match="unexpected member 'payload'"):
        mlp.load(model_file)


@pytest.mark.parametrize("flag, message", [("encrypted", "is encrypted"),
                                           ("method 99", "is compressed")])
def test_members_with_odd_zip_flags_are_refused_on_one_line(model_file, flag, message):
    """An encrypted member (zipfile would raise RuntimeError asking for a password) or an
    unknown compression method: the model file's own error, through the command too."""
    data = bytearray(model_file.read_bytes())
    for signature, flags, method in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(signature)
        if flag == "encrypted":
            data[at + flags] |= 1
        else:
            data[at + method : at + method + 2] = (99).to_bytes(2, "little")
    model_file.write_bytes(bytes(data))
    with pytest.raises(mlp.serialization.ModelFileError, match=message):
        mlp.load(model_file)
    for command in ("info", "predict"):
        args = [str(model_file)] + ([str(model_file)] if command == "predict" else [])
        done = subprocess.run([sys.executable, "-m", "mlp", command, *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
        assert message in done.stderr and "Traceback" not in done.stderr


def test_members_past_the_size_limit_are_refused_unread(model_file, monkeypatch):
    """The limit is read from the archive's directory: a member that would inflate past it is
    never decompressed (the check runs before np.load)."""
    monkeypatch.setattr(mlp.serialization, "MAX_MODEL_BYTES", 1000)
    monkeypatch.setattr(np, "load", None)  # reading anything would fail loudly
    with pytest.raises(mlp.serialization.ModelFileError, match="too large: its members unpack to"):
        mlp.load(model_file)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_model_file_with_non_finite_weights_is_refused(model_file, value):
    def poison(arrays):
        arrays["params/W2"][1, 2] = value
    rewrite_model_file(model_file, change_arrays=poison)
    with pytest.raises(mlp.serialization.ModelFileError, match=r"W2 holds 1 non-finite value"):
        mlp.load(model_file)


def test_save_refuses_what_load_would_refuse(tmp_path):
    from mlp.layers import Dense, Layer

    net = MLP(3, [4], 2, seed=0)
    net.params["b1"][0] = np.nan
    with pytest.raises(ValueError, match="b1 holds non-finite values"):
        mlp.save(net, tmp_path / "m.npz")

    class Square(Layer):
        def forward(self, x, training=False, scratch=None):
            return x * x

    custom = MLP.from_layers([Dense(3, 4), Square(), Dense(4, 2)])
    with pytest.raises(TypeError, match="cannot save a network with a Square layer"):
        mlp.save(custom, tmp_path / "c.npz")
    assert not list(tmp_path.iterdir())


def test_deeply_nested_or_odd_metadata_is_refused(model_file):
    rewrite_model_file(model_file, change_meta=lambda m: m.__setitem__("extra", [1, 2]))
    with pytest.raises(mlp.serialization.ModelFileError, match="'extra' must be a JSON object"):
        mlp.serialization.load_metadata(model_file)
    deep = '{"format": "mlp-model", "version": 2, "x": ' + "[" * 100000 + "]" * 100000 + "}"
    rewrite_model_file(model_file, change_meta=lambda m: None)
    with np.load(model_file) as f:
        arrays = {k: f[k] for k in f.files if k != "metadata"}
    np.savez(model_file, metadata=np.frombuffer(deep.encode(), np.uint8), **arrays)
    with pytest.raises(mlp.serialization.ModelFileError, match="damaged metadata"):
        mlp.load(model_file)


def test_a_fifo_is_refused_without_waiting(tmp_path):
    import os

    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    with pytest.raises(mlp.serialization.ModelFileError, match="not a regular file"):
        mlp.load(fifo)
    from mlp.data.idx import DataFileError, read_idx

    with pytest.raises(DataFileError, match="not a regular file"):
        read_idx(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        mlp.images.read_digit_image(fifo)


def test_idx_headers_that_claim_more_than_the_file_holds(tmp_path):
    import gzip
    import struct
    import time

    from mlp.data.idx import DataFileError, read_idx

    plain = tmp_path / "images"
    plain.write_bytes(struct.pack(">BBBB3I", 0, 0, 8, 3, 400000, 28, 28))
    with pytest.raises(DataFileError, match="truncated: the header calls for 313600016 bytes"):
        read_idx(plain)
    plain.write_bytes(struct.pack(">BBBB3I", 0, 0, 8, 3, 4000000, 28, 28))
    with pytest.raises(DataFileError, match="declares 3136000016 bytes of data, more than the"):
        read_idx(plain)
    packed = tmp_path / "labels.gz"
    with gzip.open(packed, "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, 3 << 30) + bytes(1000))
    start = time.perf_counter()
    with pytest.raises(DataFileError, match="declares 3221225480 bytes of data, more than the limit"):
        read_idx(packed)
    assert time.perf_counter() - start < 1


def test_input_that_overflows_the_network_dtype_or_is_masked():
    net = MLP(3, [4], 2, dtype="float32", seed=0)
    X = np.ones((4, 3))
    X[2, 1] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"X must fit the network's float32 .* got 1e\+39 at row 2, column 1"):
        net.predict(X)
    with pytest.raises(ValueError, match="fit the network's float32"):
        net.train(X, [0, 1, 0, 1])
    masked = np.ma.masked_array(np.ones((4, 3)), mask=np.eye(4, 3, dtype=bool))
    with pytest.raises(TypeError, match="not a masked array"):
        net.predict(masked)
    assert MLP(3, [4], 2, seed=0).predict(X).shape == (4,)  # float64 holds it


def test_a_huge_picture_is_refused_from_its_header(tmp_path):
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    for side, message in [(10000, "the image is 10000x10000 pixels, more than the"),
                          (20000, "not an image that Pillow can read .*decompression bomb")]:
        ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
               + chunk(b"IEND", b""))
        (tmp_path / "big.png").write_bytes(png)
        with pytest.raises(ValueError, match=message), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own DecompressionBombWarning
            mlp.images.read_digit_image(tmp_path / "big.png")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(seed=-1), ValueError, "seed must be an integer >= 0 or None; got -1"),
    (dict(hidden_sizes=[10**9]), ValueError, r"a 4-1000000000-3 network needs 6\.4e\+10 bytes"),
    (dict(input_size=10**30), ValueError, "more than this machine's memory"),
])
def test_absurd_construction_gets_our_message(kwargs, error, message):
    args = dict(input_size=4, hidden_sizes=[5], output_size=3) | kwargs
    with pytest.raises(error, match=message):
        MLP(args.pop("input_size"), args.pop("hidden_sizes"), args.pop("output_size"), **args)


def test_gradient_check_leaves_out_steps_across_a_kink():
    """`mlp gradcheck --activation leaky_relu --hidden 5,5,5` once reported FAILED here: b3's
    step moves a leaky ReLU input across 0, where the loss has no derivative."""
    from mlp.gradcheck import gradient_check

    model = MLP(4, [5, 5, 5], 3, activation="leaky_relu", std=0.1, seed=0)
    rng = np.random.default_rng(1)
    X, y = 10 * rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    report = gradient_check(model, X, y, reg=0.1)
    assert report["b3"].kinks >= 1
    assert max(r.error for r in report.values()) < 1e-6
    assert mlp.check_gradients(model, X, y, reg=0.1) == {k: r.error for k, r in report.items()}
    # A wrong backward in the same network is still caught: the slope below 0 off by 2x.
    layer = next(la for la in model.layers if getattr(la, "name", "") == "leaky_relu")
    layer.backward = lambda dout, need_dx=True, scratch=None: dout * np.where(
        layer.output > 0, 1.0, 0.02)
    assert max(mlp.check_gradients(model, X, y, reg=0.1).values()) > 1e-3


@pytest.mark.parametrize("dtype, value", [("float64", 1e200), ("float32", 1e20)])
def test_inputs_whose_square_overflows_are_refused_before_they_turn_into_nan(dtype, value):
    net = MLP(3, [4], 2, dtype=dtype, seed=0)
    X = np.ones((4, 3))
    X[1, 2] = -value
    with pytest.raises(ValueError, match=rf"must fit the network's {dtype} .* at row 1, column 2"):
        net.predict(X)
    X[1, 2] = math.sqrt(value)  # large, but its square is finite
    assert np.isfinite(net.predict_proba(X)).all()
