"""Model files: exact round trips, no pickle, atomic writes, clear errors; digit images."""

import json
import pickle
import zipfile

import numpy as np
import pytest
from helpers import rewrite_model_file

import mlp
from mlp import MLP, TwoLayerMLP, images
from mlp import serialization as mio
from mlp.serialization import ModelFileError


def _same_model(a, b):
    assert type(a) is type(b)
    for attr in ("input_size", "hidden_sizes", "output_size", "activation", "output", "std",
                 "init", "seed", "dtype"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert list(a.params) == list(b.params)
    for name in a.params:
        assert a.params[name].dtype == b.params[name].dtype
        assert np.array_equal(a.params[name], b.params[name]), name


@pytest.mark.parametrize("make", [
    lambda: MLP(7, [5, 4], 3, activation="tanh", seed=1),
    lambda: MLP(6, [], 4, seed=2, dtype="float32"),
    lambda: MLP(5, [3], 1, activation="sigmoid", output="sigmoid", std=0.5, seed=3),
    lambda: MLP(4, [8], 3, activation="leaky_relu", init="xavier"),
    lambda: TwoLayerMLP(4, 10, 3, std=1e-1, activation="sigmoid"),
    lambda: TwoLayerMLP(4, 6, 2, seed=5, dtype="float32"),
], ids=["mlp-tanh", "softmax-regression-f32", "binary", "global-rng", "two-layer", "two-layer-f32"])
def test_round_trip_is_exact(tmp_path, rng, make):
    net = make()
    for p in net.params.values():
        p[...] = rng.standard_normal(p.shape)
    path = mio.save(net, tmp_path / "model.npz")
    loaded = mio.load(path)
    _same_model(net, loaded)
    X = rng.standard_normal((9, net.input_size))
    assert np.array_equal(net.scores(X), loaded.scores(X))


def test_the_public_face_save_and_load(tmp_path):
    net = TwoLayerMLP(4, 5, 3, seed=0)
    mlp.save(net, tmp_path / "m.npz")
    _same_model(net, mlp.load(tmp_path / "m.npz"))


def test_loaded_model_continues_training_like_the_original(tmp_path, rng):
    X, y = rng.standard_normal((60, 5)), rng.integers(0, 3, 60)
    net = MLP(5, [6], 3, seed=7)
    net.train(X, y, num_epochs=2, batch_size=10, learning_rate=0.1)
    mio.save(net, tmp_path / "m.npz")
    copy = mio.load(tmp_path / "m.npz")
    # The private generator's state travels with the model, so the shuffles agree too.
    net.train(X, y, num_epochs=2, batch_size=10, learning_rate=0.1)
    copy.train(X, y, num_epochs=2, batch_size=10, learning_rate=0.1)
    _same_model(net, copy)


def test_loading_leaves_the_global_random_state_alone(tmp_path):
    mio.save(TwoLayerMLP(30, 20, 10), tmp_path / "m.npz")
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    mio.load(tmp_path / "m.npz")
    assert np.array_equal(np.random.rand(3), expected)


def test_metadata_and_extra(tmp_path):
    net = MLP(4, [3], 2, seed=0)
    mio.save(net, tmp_path / "m.npz", extra={"note": "hi", "input_max": 1.0})
    meta = mio.load_metadata(tmp_path / "m.npz")
    assert meta["format"] == "mlp-model" and meta["version"] == mio.FORMAT_VERSION
    assert meta["class"] == "MLP" and meta["hidden_sizes"] == [3]
    assert meta["extra"] == {"note": "hi", "input_max": 1.0}
    assert meta["params"] == {"W1": [4, 3], "b1": [3], "W2": [3, 2], "b2": [2]}


def test_extra_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="JSON"):
        mio.save(MLP(4, [3], 2), tmp_path / "m.npz", extra={"x": object()})
    assert not (tmp_path / "m.npz").exists()


def test_save_rejects_non_models_and_missing_folders(tmp_path):
    with pytest.raises(TypeError, match="mlp.MLP"):
        mio.save({"W1": np.zeros(3)}, tmp_path / "m.npz")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        mio.save(MLP(4, [3], 2), tmp_path / "nope" / "m.npz")


def test_a_crash_during_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    old = MLP(4, [3], 2, seed=0)
    mio.save(old, path)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # as if the process were stopped mid-write

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        mio.save(MLP(4, [3], 2, seed=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left behind
    _same_model(old, mio.load(path))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        mio.load(tmp_path / "none.npz")
    with pytest.raises(IsADirectoryError, match="folder"):
        mio.load(tmp_path)


@pytest.mark.parametrize("content", [b"", b"hello, not a model", b"\x93NUMPY garbage" * 10])
def test_files_that_are_not_models(tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=str(path)):
        mio.load(path)


def test_plain_npz_and_npy_are_not_models(tmp_path):
    np.savez(tmp_path / "plain.npz", W1=np.zeros((2, 2)))
    with pytest.raises(ModelFileError, match="without a metadata entry"):
        mio.load(tmp_path / "plain.npz")
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match="single NumPy array"):
        mio.load(tmp_path / "a.npy")


class _Boom:
    """Unpickling this would create a file: the proof that a loader ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_content_is_never_run(tmp_path):
    marker = tmp_path / "code-was-run"
    path = tmp_path / "evil.npz"
    meta = mio.model_metadata(MLP(2, [2], 2))
    evil = np.empty(1, dtype=object)
    evil[0] = _Boom(marker)
    np.savez(path, metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8),
             **{"params/W1": evil})
    with pytest.raises(ModelFileError):
        mio.load(path)
    assert not marker.exists()


def test_truncated_file(tmp_path):
    path = tmp_path / "m.npz"
    mio.save(MLP(50, [40], 10, seed=0), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated|damaged"):
            mio.load(path)


@pytest.mark.parametrize("change_meta, change_arrays, message", [
    (None, lambda a: a.__setitem__("params/W1", np.zeros((4, 4))),
     r"W1 has shape \(4, 4\), the metadata says \(4, 3\)"),
    (None, lambda a: a.pop("params/b2"), "missing b2"),
    (None, lambda a: a.__setitem__("params/W3", np.zeros(2)), "unexpected W3"),
    (None, lambda a: a.__setitem__("params/b1", np.zeros(3, np.float32)), "b1 is float32"),
    (lambda m: m.__setitem__("hidden_sizes", [5]), None, "disagree"),
    (lambda m: m.__setitem__("activation", "tanh"), None, "disagrees with itself: activation"),
    (lambda m: m["layers"][1].__setitem__("name", "swish"), None, "activation must be one of"),
    (lambda m: m["layers"][1].__setitem__("type", "Conv2d"), None, "unknown layer type 'Conv2d'"),
    (lambda m: m["layers"][0].__setitem__("in_features", -4), None, "in_features must be a positive integer"),
    (lambda m: m.__setitem__("layers", "dense"), None, "'layers' must be a list"),
    (lambda m: m.pop("output_size"), None, "missing entry 'output_size'"),
    (lambda m: m.__setitem__("class", "ConvNet"), None, "unknown network class 'ConvNet'"),
    (lambda m: m.__setitem__("version", 99), None, "version 99"),
    (lambda m: m.__setitem__("format", "other"), None, "not an mlp model file"),
])
def test_arrays_and_metadata_must_agree(tmp_path, change_meta, change_arrays, message):
    path = tmp_path / "m.npz"
    mio.save(MLP(4, [3], 2, seed=0), path)
    rewrite_model_file(path, change_meta, change_arrays)
    with pytest.raises(ModelFileError, match=message):
        mio.load(path)


def test_metadata_that_is_not_json(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, metadata=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ModelFileError, match="not valid JSON"):
        mio.load(path)


def test_model_file_is_a_zip_of_plain_arrays(tmp_path):
    path = mio.save(MLP(3, [2], 2), tmp_path / "m.npz")
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["metadata.npy", "params/W1.npy", "params/W2.npy",
                                        "params/b1.npy", "params/b2.npy"]


def test_a_model_is_not_a_checkpoint(tmp_path):
    mio.save(MLP(3, [2], 2), tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        mio.load_checkpoint(tmp_path / "m.npz")


# -- digit images ---------------------------------------------------------------------------------


def _stroke_image(height=120, width=90, dark_on_light=True):
    """A thick vertical bar (a '1') off-centre on a page, with some paper noise."""
    rng = np.random.default_rng(0)
    img = np.full((height, width), 235.0) + rng.normal(0, 3, (height, width))
    img[20:100, 55:68] = 20.0
    if not dark_on_light:
        img = 255 - img
    return np.clip(img, 0, 255)


@pytest.mark.parametrize("dark_on_light", [True, False])
def test_mnist_like_centres_and_scales_the_digit(dark_on_light):
    out = images.mnist_like(_stroke_image(dark_on_light=dark_on_light))
    assert out.shape == (28, 28) and out.min() >= 0 and out.max() == pytest.approx(255, abs=1)
    rows = np.flatnonzero((out > 64).any(axis=1))
    assert rows[-1] - rows[0] + 1 in (19, 20, 21)  # the longer side fills the 20-pixel box
    ys, xs = np.indices(out.shape)
    assert abs((ys * out).sum() / out.sum() - 14) < 1
    assert abs((xs * out).sum() / out.sum() - 14) < 1
    assert out[0].max() == 0 and out[:, 0].max() == 0  # a black background


def test_mnist_like_rejects_blank_images():
    with pytest.raises(ValueError, match="no digit"):
        images.mnist_like(np.full((50, 50), 200.0))


def test_read_digit_image_png_jpeg_and_transparency(tmp_path):
    from PIL import Image

    grey = _stroke_image().astype(np.uint8)
    expected = images.mnist_like(grey)
    Image.fromarray(grey).save(tmp_path / "d.png")
    Image.fromarray(grey).convert("RGB").save(tmp_path / "d.jpg", quality=90)
    rgba = np.zeros((*grey.shape, 4), np.uint8)
    rgba[..., 3] = 255 - grey  # black ink on a transparent page
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    assert np.allclose(images.read_digit_image(tmp_path / "d.png"), expected)
    for name in ("d.jpg", "t.png"):
        got = images.read_digit_image(tmp_path / name)
        assert np.abs(got - expected).mean() < 8, name


def test_read_digit_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        images.read_digit_image(tmp_path / "missing.png")
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        images.read_digit_image(tmp_path / "x.png")


def test_a_network_pickles_and_trains_on_identically(rng):
    """scikit-learn's estimators, joblib and multiprocessing pickle models: a copy made that way
    predicts the same and, trained further, stays bit for bit with the original."""
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    net = MLP(4, [6, 5], 3, activation=["tanh", "relu"], dropout=0.2, batch_norm=True, seed=1)
    net.train(X, y, num_epochs=2, batch_size=8)
    copy = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(copy.scores(X), net.scores(X))
    for model in (net, copy):
        model.train(X, y, num_epochs=2, batch_size=8)
    np.testing.assert_array_equal(copy.scores(X), net.scores(X))
