"""The ``mlp`` command, run for real in subprocesses."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlp import serialization as mio
from mlp.data import load_mnist_small
from mlp.layers import Activation, BatchNorm, Dense, Dropout

COMMANDS = ("train", "evaluate", "predict", "export", "gradcheck", "info", "tune", "playground",
            "assignment", "grade", "doctor", "lr-find")


def mlp(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "mlp", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mlp")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``mlp train`` with no arguments, in an empty folder."""
    cwd = tmp_path_factory.mktemp("train")
    start = time.perf_counter()
    result = mlp("train", cwd=cwd)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    (out,) = (cwd / "runs").iterdir()
    return {"cwd": cwd, "out": out, "result": result, "seconds": seconds}


def test_train_with_no_arguments_writes_everything(run):
    out = run["out"]
    names = {p.name for p in out.iterdir()}
    assert names == {"model.npz", "checkpoint.npz", "metrics.json", "history.csv",
                     "iterations.csv", "stats.png", "weights.png", "confusion_matrix.png",
                     "unit_activity.png"}
    assert run["seconds"] < 60
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.9
    assert metrics["settings"]["dataset"] == "mnist-small"
    assert metrics["settings"]["hidden"] == [128] and metrics["epochs"] == 15
    assert metrics["train_seconds"] > 0
    history = (out / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,loss,grad_norm_W1,train_acc,val_acc,val_loss,learning_rate,seconds"
    assert len(history) == 16
    assert len((out / "iterations.csv").read_text().splitlines()) == 1 + 15 * (5000 // 64)
    for png in ("stats.png", "weights.png", "confusion_matrix.png", "unit_activity.png"):
        with Image.open(out / png) as image:
            assert image.format == "PNG" and min(image.size) >= 300


def test_train_shows_progress_and_a_summary(run):
    result = run["result"]
    assert "epoch 1/15" in result.stderr and "loss=" in result.stderr
    assert "val_acc=" in result.stderr
    assert "784-128-10 relu on mnist-small" in result.stdout
    assert "test 0.9" in result.stdout and "wrote runs/" in result.stdout


def test_train_options(tmp_path):
    result = mlp("train", "--quiet", "--epochs", "2", "--hidden", "16", "--hidden", "8",
                 "--activation", "sigmoid", "--optimizer", "adam", "--lr", "0.002",
                 "--schedule", "cosine", "--warmup", "0.5", "--l1", "1e-5", "--proximal",
                 "--dtype", "float64", "--no-scale", "--train-size", "500", "--no-checkpoint",
                 "--no-plots", "--out", "o", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "history.csv", "iterations.csv", "metrics.json", "model.npz"]
    model = mio.load(tmp_path / "o" / "model.npz")
    assert model.layer_sizes == [784, 16, 8, 10] and model.dtype == np.float64
    extra = mio.load_metadata(tmp_path / "o" / "model.npz")["extra"]
    assert extra["input_max"] == 255.0 and extra["settings"]["optimizer"] == "adam"
    assert extra["data"]["train"] == 500


REGULARISED = ["--hidden", "32,16", "--activation", "relu,tanh", "--dropout", "0.2,0.1",
               "--batch-norm"]


@pytest.fixture(scope="module")
def regularised(tmp_path_factory):
    """A two-epoch run with per-layer activations, dropout and batch norm."""
    cwd = tmp_path_factory.mktemp("regularised")
    result = mlp("train", *REGULARISED, "--epochs", "2", "--out", "o", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return {"cwd": cwd, "out": cwd / "o", "result": result}


def test_train_with_dropout_and_batch_norm(regularised):
    out = regularised["out"]
    assert "784-32-16-10 relu,tanh with batch norm and dropout 0.2,0.1" in (
        regularised["result"].stdout)
    model = mio.load(out / "model.npz")
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [Dense, BatchNorm, Activation, Dropout] * 2 + [Dense]
    assert [layer.name for layer in model.layers if isinstance(layer, Activation)] == [
        "relu", "tanh"]
    assert [layer.p for layer in model.layers if isinstance(layer, Dropout)] == [0.2, 0.1]
    assert [layer.features for layer in model.layers if isinstance(layer, BatchNorm)] == [32, 16]
    # Training moved the running statistics away from their initial 0 and 1.
    assert not np.allclose(model.state()["running_mean1"], 0)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8
    assert metrics["architecture"]["dropout"] == [0.2, 0.1]
    assert metrics["architecture"]["batch_norm"] is True
    assert metrics["architecture"]["activation"] == ["relu", "tanh"]
    settings = mio.load_metadata(out / "model.npz")["extra"]["settings"]
    assert settings["dropout"] == [0.2, 0.1] and settings["batch_norm"] is True
    assert settings["activation"] == ["relu", "tanh"]


def test_info_and_evaluate_with_dropout_and_batch_norm(regularised):
    model = regularised["out"] / "model.npz"
    info = mlp("info", model)
    assert info.returncode == 0, info.stderr
    assert "activation relu,tanh" in info.stdout
    assert ("layers: affine 784x32 -> batch norm -> relu -> dropout 0.2 -> affine 32x16 -> "
            "batch norm -> tanh -> dropout 0.1 -> affine 16x10") in info.stdout
    assert "gamma1 (32,)" in info.stdout
    metrics = json.loads((regularised["out"] / "metrics.json").read_text())
    result = mlp("evaluate", model, "--no-figure")
    assert result.returncode == 0, result.stderr
    assert "with batch norm and dropout 0.2,0.1" in result.stdout
    # Inference ignores dropout and uses the running statistics: the same accuracy as training's.
    assert f"accuracy: {metrics['test_accuracy']:.4f}" in result.stdout


def test_a_plain_model_shows_no_layers_line(run):
    assert "layers:" not in mlp("info", run["out"] / "model.npz").stdout


def test_resume_with_dropout_and_batch_norm_is_exact(tmp_path):
    args = ["train", *REGULARISED, "--train-size", "500", "--no-plots", "-q"]
    assert mlp(*args, "--epochs", "2", "--out", "whole", cwd=tmp_path).returncode == 0
    assert mlp(*args, "--epochs", "1", "--out", "part", cwd=tmp_path).returncode == 0
    resumed = mlp("train", "--resume", "part/checkpoint.npz", "--epochs", "2", "-q",
                  cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    whole, part = (mio.load(tmp_path / name / "model.npz") for name in ("whole", "part"))
    for name in whole.params:
        np.testing.assert_array_equal(whole.params[name], part.params[name], err_msg=name)
    for name, stat in whole.state().items():
        np.testing.assert_array_equal(stat, part.state()[name], err_msg=name)
    changed = mlp("train", "--resume", "part/checkpoint.npz", "--dropout", "0.3", cwd=tmp_path)
    assert_one_line_error(changed, "--dropout 0.3 differs from the checkpoint's 0.2,0.1")


def test_evaluate(run):
    model = run["out"] / "model.npz"
    metrics = json.loads((run["out"] / "metrics.json").read_text())
    result = mlp("evaluate", model, "--dataset", "mnist-small")
    assert result.returncode == 0, result.stderr
    assert f"accuracy: {metrics['test_accuracy']:.4f}" in result.stdout
    assert "per class:" in result.stdout and "confusion matrix" in result.stdout
    assert (run["out"] / "confusion_matrix_mnist-small_test.png").exists()

    as_json = mlp("evaluate", model, "--split", "val", "--json", "--figure",
                  run["cwd"] / "val.png")
    data = json.loads(as_json.stdout)
    assert data["accuracy"] == pytest.approx(metrics["val_accuracy"])
    assert np.array(data["confusion_matrix"]).sum() == 1000
    assert set(data["per_class_accuracy"]) == {str(c) for c in range(10)}
    assert (run["cwd"] / "val.png").exists()


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    """MNIST test digits as a user would photograph them: 100x100, black on white, PNG and
    JPEG."""
    folder = tmp_path_factory.mktemp("digits")
    ds = load_mnist_small(dtype="uint8", flatten=False)
    paths = []
    for i in range(20):
        image = Image.fromarray(255 - ds.X_test[i]).resize((100, 100), Image.Resampling.BILINEAR)
        path = folder / f"digit{i}.{'png' if i % 2 else 'jpg'}"
        image.save(path)
        paths.append(path)
    return paths, ds.X_test[:20], ds.y_test[:20]


def test_predict_reads_digits_like_mnist(run, digit_files):
    paths, originals, labels = digit_files
    model_path = run["out"] / "model.npz"
    result = mlp("predict", model_path, *paths)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(paths)
    predicted = np.array([int(line.split(": ")[1].split()[0]) for line in lines])
    on_originals = mio.load(model_path).predict(originals.reshape(20, -1) / 255)
    assert np.mean(predicted == on_originals) >= 0.9
    assert np.mean(predicted == labels) >= 0.85


def test_the_readmes_example_digit(run):
    """The README's first steps: the default run, then ``mlp predict MODEL
    examples/digit.png`` (a 7, dark on light) from the repository's root."""
    root = Path(__file__).resolve().parents[1]
    result = mlp("predict", run["out"] / "model.npz", "examples/digit.png", cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("examples/digit.png: 7 (")


def test_predict_json_top_k_and_inputs(run, digit_files, tmp_path):
    paths, _, _ = digit_files
    result = mlp("predict", run["out"] / "model.npz", paths[0], "--top", "3", "--json",
                 "--save-inputs", tmp_path)
    (entry,) = json.loads(result.stdout)
    assert len(entry["top"]) == 3 and entry["top"][0]["label"] == entry["label"]
    assert sum(t["probability"] for t in entry["top"]) <= 1 + 1e-9
    with Image.open(tmp_path / "digit0_28x28.png") as seen:
        assert seen.size == (28, 28)


def test_info(run):
    model = run["out"] / "model.npz"
    result = mlp("info", model)
    assert result.returncode == 0, result.stderr
    assert "MLP 784-128-10, activation relu" in result.stdout
    assert "parameters: 101,770" in result.stdout
    assert "trained on mnist-small" in result.stdout and "accuracy: train" in result.stdout
    checkpoint = mlp("info", run["out"] / "checkpoint.npz")
    assert "checkpoint: 15 of 15 epochs done" in checkpoint.stdout
    meta = json.loads(mlp("info", model, "--json").stdout)
    assert meta["hidden_sizes"] == [128] and "rng_state" not in meta


def test_gradcheck():
    result = mlp("gradcheck")
    assert result.returncode == 0, result.stderr
    assert "4-10-3 relu network" in result.stdout
    for name in ("W1", "b1", "W2", "b2"):
        assert f"  {name} " in result.stdout
    assert "passed" in result.stdout
    deep = mlp("gradcheck", "--hidden", "5,4", "--activation", "tanh", "--output", "sigmoid")
    assert deep.returncode == 0 and "W3" in deep.stdout
    # Differences below the centred difference's rounding count as exact (0): tanh with large
    # weights leaves some above it, which no tolerance of 1e-30 accepts.
    strict = mlp("gradcheck", "--activation", "tanh", "--std", "1", "--tolerance", "1e-30")
    assert strict.returncode == 1 and "FAILED" in strict.stdout


def test_gradcheck_with_dropout_and_batch_norm():
    result = mlp("gradcheck", "--hidden", "6,5", "--activation", "relu,tanh", "--dropout", "0.3",
                 "--batch-norm")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4-6-5-3 relu,tanh network with batch norm and dropout 0.3" in result.stdout
    for name in ("gamma1", "beta1", "gamma2", "beta2", "W3"):
        assert f"  {name} " in result.stdout
    assert "passed" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_its_options(command):
    result = mlp(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: mlp {command}")
    options = [line.split()[0] for line in result.stdout.splitlines()
               if line.startswith("  -")]
    assert options  # each option line comes with its explanation
    assert "--help" in result.stdout


def test_top_level_help_and_version():
    result = mlp("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert mlp("--version").stdout.startswith("mlp ")


def test_the_installed_console_script():
    script = shutil.which("mlp", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("mlp ")


@pytest.mark.parametrize("args, fragments", [
    (["--bogus"], ["required: COMMAND"]),
    ([], ["required: COMMAND"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    (["train", "--bogus"], ["mlp train: error", "unrecognized", "mlp train --help"]),
    (["train", "--hidden", "abc"], ["--hidden", "positive layer widths"]),
    (["train", "--epochs", "0"], ["--epochs", "positive integer"]),
    (["train", "--lr", "-1"], ["--lr", "positive number"]),
    (["train", "--activation", "swish"],
     ["argument --activation", "relu, sigmoid, tanh, leaky_relu", "got 'swish'"]),
    (["train", "--activation", "relu,swish"], ["'swish' is none of them"]),
    (["train", "--hidden", "8,4", "--activation", "relu,tanh,relu", "--out", "x"],
     ["mlp train: error", "--activation expects one name, or one per hidden layer",
      "2 for --hidden 8,4", "got 3: relu,tanh,relu"]),
    (["train", "--dropout", "1.0"], ["argument --dropout", "in [0, 1)", "got '1.0'"]),
    (["train", "--dropout", "0.2,x"], ["argument --dropout", "got '0.2,x'"]),
    (["train", "--dropout", "0.2,0.1", "--out", "x"],
     ["mlp train: error", "--dropout expects one rate, or one per hidden layer",
      "1 for --hidden 128", "got 2: 0.2,0.1"]),
    (["train", "--batch-norm", "--batch-size", "1", "--out", "x"],
     ["--batch-norm needs --batch-size 2 or more", "got 1"]),
    (["gradcheck", "--hidden", "6,5", "--dropout", "0.1,0.2,0.3"],
     ["mlp gradcheck: error", "--dropout expects", "got 3"]),
    (["gradcheck", "--activation", "swish"], ["argument --activation", "got 'swish'"]),
    (["train", "--optimizer", "adam", "--momentum", "0.5", "--out", "x"], ["--momentum"]),
    (["train", "--proximal", "--out", "x"], ["--l1"]),
    (["train", "--dataset", "no-such-dataset", "--out", "x"], ["no-such-dataset"]),
    (["train", "--resume", "missing.npz"], ["missing.npz: no such file"]),
    (["evaluate", "missing.npz"], ["missing.npz: no such file"]),
    (["info", "missing.npz"], ["missing.npz: no such file"]),
    (["predict", "missing.npz", "x.png"], ["missing.npz: no such file"]),
    (["gradcheck", "--classes", "1"], ["output_size must be at least 2"]),
])
def test_errors_are_one_line_without_traceback(tmp_path, args, fragments):
    assert_one_line_error(mlp(*args, cwd=tmp_path), *fragments)


def test_errors_about_files(run, tmp_path):
    not_a_model = tmp_path / "notes.npz"
    not_a_model.write_text("hello")
    for command in (["info"], ["evaluate"], ["predict"]):
        extra = [tmp_path / "x.png"] if command == ["predict"] else []
        assert_one_line_error(mlp(*command, not_a_model, *extra), str(not_a_model),
                              "not a readable mlp model file")
    model = run["out"] / "model.npz"
    assert_one_line_error(mlp("predict", model, tmp_path / "nope.png"), "nope.png: no such file")
    (tmp_path / "bad.png").write_text("not an image")
    assert_one_line_error(mlp("predict", model, tmp_path / "bad.png"), "not an image")
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    assert_one_line_error(mlp("predict", model, tmp_path / "blank.png"), "no digit found")
    assert_one_line_error(mlp("train", "--resume", model), "not a checkpoint")
