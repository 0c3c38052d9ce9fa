"""ONNX export: onnxruntime runs the exported graphs and gives what ``predict`` and
``predict_proba`` give, for every layer, activation and head, in float32 and float64; ``mlp
export`` run for real on model files written by ``mlp train``, against ``mlp predict``."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from test_cli import assert_one_line_error, mlp
from test_cli_csv import write_table

import mlp as library
from mlp import MLP
from mlp import serialization as mio
from mlp.data import load_mnist_small
from mlp.images import digit_inputs, read_digit_image
from mlp.layers import ACTIVATIONS, Activation, BatchNorm, Dense, Layer
from mlp.losses import OUTPUTS

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from mlp.onnx import IR_VERSION, OPSET, Preprocessing, to_onnx  # noqa: E402

#: float32 graphs agree with the library's float32 (or float64) arithmetic to this.
F32 = 1e-5


def run_onnx(proto_or_path, X) -> dict[str, np.ndarray]:
    """The outputs of onnxruntime's run of the graph on X, by name."""
    model = proto_or_path if isinstance(proto_or_path, str) else (
        proto_or_path.SerializeToString())
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": X}), strict=True))


def export(capsys, *args) -> subprocess.CompletedProcess:
    """``mlp export ARGS`` run in this process (the command's own code, without a new
    interpreter's start-up), as a finished process."""
    from mlp.cli import main

    try:
        status = main(["export", *map(str, args)])
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, captured.out, captured.err)


def _stirred(net: MLP, rng) -> MLP:
    """``net`` with batch norms whose running statistics and scales are not the initial ones."""
    for layer in net.layers:
        if isinstance(layer, BatchNorm):
            f = layer.features
            layer.state["running_mean"][:] = rng.standard_normal(f)
            layer.state["running_var"][:] = rng.uniform(0.3, 3.0, f)
            layer.params["gamma"][:] = rng.uniform(0.5, 2.0, f)
            layer.params["beta"][:] = rng.standard_normal(f)
    return net


def assert_agrees(net_or_estimator, X, dtype, *, tol=None, values=None):
    """The graph of ``net_or_estimator`` in ``dtype`` gives its predictions on X."""
    proto = to_onnx(net_or_estimator, dtype=dtype)
    out = run_onnx(proto, X.astype(dtype))
    tol = tol if tol is not None else (F32 if dtype == "float32" else 1e-12)
    if "value" in out:
        assert out["value"].dtype == dtype
        assert_allclose(out["value"], net_or_estimator.predict(X), rtol=tol, atol=tol)
        return out
    assert out["probabilities"].dtype == dtype
    assert_allclose(out["probabilities"], net_or_estimator.predict_proba(X), rtol=0, atol=tol)
    assert_array_equal(out["label"], net_or_estimator.predict(X))
    return out


# -- every layer, activation, head and dtype ----------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation(rng, activation, dtype):
    layers = [Dense(6, 9, rng=rng), Activation(activation), Dense(9, 7, rng=rng),
              Activation(activation), Dense(7, 4, rng=rng)]
    net = MLP.from_layers(layers, "softmax")
    X = 3 * rng.standard_normal((64, 6))
    assert_agrees(net, X, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output, size", [("softmax", 5), ("softmax", 2), ("sigmoid", 1),
                                          ("sigmoid", 3), ("linear", 1), ("linear", 3)])
def test_every_head(rng, output, size, dtype):
    net = MLP(6, [10], size, output=output, seed=1, dtype=dtype)
    X = rng.standard_normal((50, 6))
    out = assert_agrees(net, X, dtype)
    shapes = {"softmax": {"label": (50,), "probabilities": (50, size)},
              "sigmoid": ({"label": (50,), "probabilities": (50, 2)} if size == 1 else
                          {"label": (50, size), "probabilities": (50, size)}),
              "linear": {"value": (50,) if size == 1 else (50, size)}}[output]
    assert {name: a.shape for name, a in out.items()} == shapes
    if "label" in out:
        assert out["label"].dtype == np.int64


@pytest.mark.skipif("exp" not in OUTPUTS, reason="this version has no Poisson output")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_poisson_head_gives_exp_of_the_scores(rng, dtype):
    net = MLP(4, [6], 2, output="exp", seed=0)
    X = rng.standard_normal((30, 4))
    out = assert_agrees(net, X, dtype)
    assert_allclose(out["value"], np.exp(net.scores(X)), rtol=F32)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_and_dropout_at_inference(rng, dtype):
    """Batch norm with its running statistics, dropout the identity; trained a little first so
    that the statistics are the data's."""
    X = rng.standard_normal((200, 5)) * [1, 10, 0.1, 3, 1] + [0, 5, -2, 0, 1]
    y = (X[:, 0] + X[:, 3] > 0).astype(int) + (X[:, 1] > 5)
    net = MLP(5, [16, 8], 3, batch_norm=True, dropout=[0.3, 0.1], seed=0, dtype=dtype)
    net.train(X, y, num_epochs=3, batch_size=50, learning_rate=0.05)
    assert not np.allclose(net.layers[1].state["running_mean"], 0)
    assert_agrees(_stirred(net, rng), X, dtype)
    proto = to_onnx(net, dtype=dtype)
    ops = [node.op_type for node in proto.graph.node]
    assert "Dropout" not in ops and "BatchNormalization" not in ops and ops.count("Mul") == 2


def test_a_float64_network_as_a_float32_graph_and_back(rng):
    X = rng.standard_normal((40, 6))
    net = MLP(6, [12, 8], 4, activation=["tanh", "leaky_relu"], seed=2)
    assert_agrees(net, X, "float32")
    small = MLP(6, [12], 4, seed=2, dtype="float32")
    assert_agrees(small, X, "float64", tol=1e-6)  # float32 weights, float64 arithmetic
    assert to_onnx(small).graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_the_file_format(rng, tmp_path):
    net = MLP(3, [4], 3, seed=0)
    path = tmp_path / "net.onnx"
    proto = to_onnx(net, path=path)
    assert path.read_bytes() == proto.SerializeToString()
    assert [p.name for p in tmp_path.iterdir()] == ["net.onnx"]  # no temporary file left
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.ir_version == IR_VERSION == 8
    assert [(o.domain, o.version) for o in loaded.opset_import] == [("", OPSET)] and OPSET == 17
    assert loaded.producer_name == "mlp" and loaded.producer_version == library.__version__
    assert {p.key: p.value for p in loaded.metadata_props} == {
        "output": "softmax", "outputs": "label,probabilities"}
    dims = loaded.graph.input[0].type.tensor_type.shape.dim
    assert (loaded.graph.input[0].name, dims[0].dim_param, dims[1].dim_value) == ("input", "N", 3)
    X = rng.standard_normal((7, 3))
    assert_array_equal(run_onnx(str(path), X)["label"], net.predict(X))


# -- estimators and class names -----------------------------------------------------------------


def test_estimators_give_their_classes_as_labels(rng):
    from mlp.estimators import MLPClassifier, MLPRegressor

    X = rng.standard_normal((120, 4))
    names = np.array(["cat", "dog", "emu"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    for y in (names, np.where(X[:, 2] > 0, 7, -3), (X[:, :3] > 0).astype(int)):
        est = MLPClassifier((8,), max_iter=20, random_state=0).fit(X, y)
        out = assert_agrees(est, X, "float64")
        assert out["label"].dtype == (object if y.dtype.kind == "U" else np.int64)
    reg = MLPRegressor((8,), max_iter=20, random_state=0).fit(X, X @ [1.0, 2.0, 0.0, -1.0])
    assert_agrees(reg, X, "float32")


def test_scikit_learns_mlp_through_conversion(rng):
    """scikit-learn's own MLP, converted, exported, run: its own probabilities."""
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from mlp.estimators import from_sklearn

    X = rng.standard_normal((90, 5))
    y = np.array(["no", "yes"])[(X[:, 0] * X[:, 1] > 0).astype(int)]
    sk = SkMLPClassifier((6,), activation="tanh", max_iter=300, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="convert it with mlp.estimators.from_sklearn first"):
        to_onnx(sk)
    out = run_onnx(to_onnx(from_sklearn(sk)), X)
    assert_allclose(out["probabilities"], sk.predict_proba(X), rtol=0, atol=1e-12)
    assert_array_equal(out["label"], sk.predict(X))


def test_preprocessing_is_applied_around_the_network(rng):
    net = MLP(3, [5], 1, output="linear", seed=0)
    mean, std = np.array([10.0, -2.0, 0.5]), np.array([2.0, 0.1, 8.0])
    pre = Preprocessing(mean, std, target_mean=100.0, target_std=15.0)
    X = mean + std * rng.standard_normal((20, 3))
    out = run_onnx(to_onnx(net, preprocessing=pre), X)
    assert_allclose(out["value"], 100 + 15 * net.predict((X - mean) / std), rtol=1e-14)
    labels = Preprocessing(classes=["b", "a", "c"])
    softmax = MLP(3, [5], 3, seed=0)
    assert_array_equal(run_onnx(to_onnx(softmax, preprocessing=labels), X)["label"],
                       np.array(["b", "a", "c"])[softmax.predict(X)])


@pytest.mark.parametrize("make, message", [
    (lambda: Preprocessing(input_std=[1.0, 0.0]), "input_std must be positive; got 0"),
    (lambda: Preprocessing(input_mean=[[1.0]]), "input_mean must be a finite number or a 1-D"),
    (lambda: Preprocessing(target_mean=np.nan), "target_mean must be a finite number"),
    (lambda: Preprocessing(classes=["only"]), "classes must list at least 2 class names"),
    (lambda: Preprocessing(classes=[{"a": 1}, {"b": 2}]), "classes must all be strings, "),
])
def test_bad_preprocessing_is_refused(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


# -- what cannot be exported ---------------------------------------------------------------------


class Square(Layer):
    def forward(self, x, training=False, scratch=None):
        return x * x


def test_what_cannot_be_exported_is_named(rng):
    from mlp.estimators import MLPClassifier

    net = MLP(3, [4], 2, seed=0)
    hollow = MLP(3, [4], 2, seed=0)
    hollow.layers = []
    cases = [
        (hollow, {}, ValueError, "the network has no layers to export"),
        (MLP.from_layers([Dense(3, 4), Square(), Dense(4, 2)]), {}, ValueError,
         r"cannot export layers\[1\] \(Square\): ONNX export knows the library's layers only"),
        (MLPClassifier(), {}, ValueError, "the MLPClassifier is not fitted"),
        ("model.npz", {}, TypeError, "model must be an mlp.MLP or a fitted estimator"),
        (net, {"dtype": "int32"}, ValueError, "dtype must be float32 or float64"),
        (net, {"preprocessing": Preprocessing(input_mean=[1.0, 2.0])}, ValueError,
         r"preprocessing.input_mean must hold one value per input \(3\); got 2"),
        (net, {"preprocessing": Preprocessing(target_std=2.0)}, ValueError,
         "preprocessing.target_std applies to regression outputs"),
        (net, {"preprocessing": Preprocessing(classes=["a", "b", "c"])}, ValueError,
         "the network has 2 classes; got 3 class names"),
        (MLP(3, [4], 3, output="sigmoid"), {"preprocessing": Preprocessing(classes=[1, 2])},
         ValueError, "class names apply to single-label classifiers; this network is multilabel"),
        (net, {"preprocessing": {"mean": 1}}, TypeError, "preprocessing must be an "
                                                         "mlp.onnx.Preprocessing"),
    ]
    for model, options, error, message in cases:
        with pytest.raises(error, match=message):
            to_onnx(model, **options)


def test_import_mlp_does_not_load_onnx():
    code = ("import sys, mlp, mlp.cli.command; "
            "print('onnx' in sys.modules, 'mlp.onnx' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"], result.stderr


# -- the command, on the files ``mlp train`` writes ----------------------------------------------


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A digit model written by ``mlp train`` (pixels / 255), exported by ``mlp export``."""
    cwd = tmp_path_factory.mktemp("digits")
    trained = mlp("train", "--hidden", "16", "--epochs", "2", "--train-size", "1000", "--seed",
                  "1", "--no-plots", "--no-checkpoint", "--out", "run", "-q", cwd=cwd)
    assert trained.returncode == 0, trained.stderr
    exported = mlp("export", "run/model.npz", "digits.onnx", cwd=cwd)
    assert exported.returncode == 0, exported.stderr
    return {"cwd": cwd, "model": cwd / "run" / "model.npz", "onnx": cwd / "digits.onnx",
            "stdout": exported.stdout}


def test_a_digit_model_takes_raw_pixels(digits):
    assert digits["stdout"] == ("wrote digits.onnx: ONNX opset 17, input (N, 784) float32 -> "
                                "label (N,) int64, probabilities (N, 10) float32\n")
    model, meta = mio.load_with_metadata(digits["model"])
    assert meta["extra"]["input_max"] == 1.0
    images = load_mnist_small(dtype="uint8", flatten=False).X_test[:300]
    out = run_onnx(str(digits["onnx"]), images.reshape(300, -1).astype(np.float32))
    X = digit_inputs(images, 1.0, model.dtype)
    assert_allclose(out["probabilities"], model.predict_proba(X), rtol=0, atol=F32)
    assert_array_equal(out["label"], model.predict(X))


def test_a_digit_model_agrees_with_mlp_predict(digits, tmp_path):
    from PIL import Image

    images = load_mnist_small(dtype="uint8", flatten=False).X_test[:4]
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"d{i}.png")
        Image.fromarray(255 - image).resize((56, 56)).save(paths[-1])
    result = mlp("predict", digits["model"], *paths, "--json", "--top", "10")
    assert result.returncode == 0, result.stderr
    predicted = json.loads(result.stdout)
    pixels = np.stack([read_digit_image(p) for p in paths]).reshape(4, -1)  # what predict sees
    out = run_onnx(str(digits["onnx"]), pixels.astype(np.float32))
    for entry, label, p in zip(predicted, out["label"], out["probabilities"], strict=True):
        assert entry["label"] == label
        for top in entry["top"]:
            assert p[top["label"]] == pytest.approx(top["probability"], abs=F32)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Houses (a price from rooms and area) and flowers (three named species), as
    ``mlp train`` reads them, and the models it writes."""
    cwd = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    n = 200
    rooms, area = rng.integers(1, 6, n), np.round(rng.uniform(30, 200, n), 1)
    price = np.round(50_000 + 10_000 * rooms + 2_000 * area + rng.normal(0, 1_000, n))
    write_table(cwd / "houses.csv", {"rooms": rooms, "area": area, "price": price})
    width, height = np.round(rng.uniform(0, 1, n), 4), np.round(rng.uniform(0, 1000, n), 2)
    species = np.where(width > 0.66, "virginica", np.where(height > 500, "versicolor", "setosa"))
    write_table(cwd / "flowers.csv", {"width": width, "height": height, "species": species})
    for data, target, out in (("houses.csv", "price", "reg"), ("flowers.csv", "species", "cls")):
        trained = mlp("train", "--data", data, "--target", target, "--hidden", "12", "--epochs",
                      "30", "--seed", "3", "--no-plots", "--no-checkpoint", "--out", out, "-q",
                      cwd=cwd)
        assert trained.returncode == 0, trained.stderr
    return {"cwd": cwd, "houses": np.column_stack([rooms, area]),
            "flowers": np.column_stack([width, height])}


def _predicted(cwd, model: str, data: str) -> list[dict[str, str]]:
    result = mlp("predict", model, data, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(result.stdout.splitlines()))


def test_a_regression_on_a_table_agrees_with_mlp_predict(tables, capsys):
    """Raw columns in, prices out: the standardisation of the features and of the target, in
    the graph."""
    cwd = tables["cwd"]
    predicted = np.array([float(r["price"]) for r in _predicted(cwd, "reg/model.npz",
                                                                "houses.csv")])
    exported = mlp("export", "reg/model.npz", "reg.onnx", cwd=cwd)
    assert exported.returncode == 0, exported.stderr
    assert "input (N, 2) float32 -> value (N,) float32" in exported.stdout
    wide = export(capsys, cwd / "reg" / "model.npz", cwd / "reg64.onnx", "--dtype", "float64")
    assert wide.returncode == 0 and "input (N, 2) float64 -> value (N,) float64" in wide.stdout
    for name, dtype in (("reg.onnx", np.float32), ("reg64.onnx", np.float64)):
        out = run_onnx(str(cwd / name), tables["houses"].astype(dtype))
        assert out["value"].dtype == dtype
        assert_allclose(out["value"], predicted, rtol=F32)
    assert 50_000 < predicted.min() and predicted.max() < 1_000_000


def test_a_classifier_on_a_table_gives_class_names(tables, capsys):
    cwd = tables["cwd"]
    exported = export(capsys, cwd / "cls" / "model.npz", cwd / "cls.onnx")
    assert "label (N,) string, probabilities (N, 3) float32" in exported.stdout
    rows = _predicted(cwd, "cls/model.npz", "flowers.csv")
    out = run_onnx(str(cwd / "cls.onnx"), tables["flowers"].astype(np.float32))
    assert out["label"].tolist() == [r["species"] for r in rows]
    best = out["probabilities"].max(axis=1)
    assert_allclose(best, [float(r["probability"]) for r in rows], rtol=F32)


def test_an_estimators_file_gives_its_classes(tmp_path, rng, capsys):
    from mlp.estimators import MLPClassifier

    X = rng.standard_normal((80, 3))
    y = np.where(X[:, 0] > 0, "up", "down")
    est = MLPClassifier((5,), max_iter=30, random_state=0).fit(X, y)
    est.save(tmp_path / "est.npz")
    result = export(capsys, tmp_path / "est.npz", tmp_path / "est.onnx", "--dtype", "float64")
    assert result.returncode == 0, result.stderr
    out = run_onnx(str(tmp_path / "est.onnx"), X)
    assert_array_equal(out["label"], est.predict(X))
    assert_allclose(out["probabilities"], est.predict_proba(X), rtol=0, atol=1e-12)


def test_export_errors_are_one_line(tables, tmp_path, capsys):
    model = tables["cwd"] / "reg" / "model.npz"
    assert_one_line_error(mlp("export", "houses.csv", tmp_path / "x.onnx", cwd=tables["cwd"]),
                          "houses.csv: not a readable mlp model file")
    for args, message in [
        ((tmp_path / "missing.npz", tmp_path / "x.onnx"), "missing.npz: no such file"),
        ((model, tmp_path / "no" / "x.onnx"), "no such folder (cannot write x.onnx there)"),
        ((model, tmp_path), f"{tmp_path}: is a folder; give the path of the ONNX file to write"),
        ((model, model), "OUTPUT.onnx is the model file itself"),
        ((model, tmp_path / "x.onnx", "--dtype", "float16"),
         "argument --dtype: invalid choice: 'float16'"),
    ]:
        assert_one_line_error(export(capsys, *args), message)
    assert not list(tmp_path.iterdir())
    assert mlp("export", "--help").stdout.startswith("usage: mlp export")


def test_export_without_the_onnx_package(tables, tmp_path):
    code = ("import sys; sys.modules['onnx'] = None; from mlp.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, "export", "reg/model.npz",
                             tmp_path / "x.onnx"], cwd=tables["cwd"], capture_output=True,
                            text=True)
    assert_one_line_error(result, 'ONNX export needs the onnx package: pip install "mlp[onnx]"')
    assert "mlp[all]" not in result.stderr
