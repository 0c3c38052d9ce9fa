"""Hostile input to the ``mlp`` command, run for real: each case gets exactly one line
``mlp <command>: error: ...`` and exit status 2, before anything is allocated or written; and a
bug is never dressed up as such a line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_one_line_error, mlp
from test_data import stalled_server  # noqa: F401  (the fixture, for this module too)

from mlp.cli import command, info
from mlp.data import write_idx


def assert_nothing_written(folder):
    """No output folder, no runs/ folder, nothing at all left in ``folder``."""
    assert sorted(p.name for p in folder.iterdir()) == []


@pytest.mark.parametrize("args, fragments", [
    (["train", "--hidden", "1000000000"],
     ["mlp train: error: --hidden 1000000000: a 784-1000000000-10 network of "
      "795,000,000,010 parameters in float32 needs about", "TB of memory, more than the",
      "available: choose smaller sizes"]),
    (["train", "--hidden", "64,1000000000", "--dtype", "float64"],
     ["--hidden 64,1000000000: a 784-64-1000000000-10 network", "in float64 needs about"]),
    (["gradcheck", "--inputs", "2000000000", "--examples", "2000000000"],
     ["mlp gradcheck: error: --inputs 2000000000 --hidden 10 --classes 3 --examples "
      "2000000000: a 2000000000-10-3 network", "needs about"]),
    (["train", "--seed", "-1"], ["argument --seed: expected a seed in 0..4294967295, got '-1'"]),
    (["gradcheck", "--seed", "-1"], ["mlp gradcheck: error: argument --seed"]),
    (["train", "--seed", str(10**30)], ["argument --seed: expected a seed in 0..4294967295"]),
    (["train", "--epochs", str(10**30)],
     ["argument --epochs: expected a positive integer up to 2147483647, got '1" + "0" * 30]),
    (["train", "--hidden", str(10**30)], ["argument --hidden: expected positive layer widths"]),
    (["train", "--batch-size", str(10**30)], ["argument --batch-size: expected a positive"]),
    (["train", "--train-size", str(10**30)], ["argument --train-size: expected a positive"]),
    (["train", "--val-size", str(10**30)], ["argument --val-size: expected a count of examples"]),
    (["train", "--val-size", "1.5"], ["argument --val-size", "a fraction of them in [0, 1)"]),
    (["predict", "m.npz", "x.png", "--top", str(10**30)], ["argument --top"]),
    (["gradcheck", "--examples", str(10**30)], ["argument --examples"]),
    (["train", "--momentum", "1"], ["argument --momentum: expected a number in [0, 1), got '1'"]),
    (["train", "--timeout", "0"], ["argument --timeout: expected a positive number, got '0'"]),
    (["train", "--train-size", "99999"],
     ["mlp train: error: --train-size 99999 is more than the 5,000 training images of "
      "mnist-small (6,000 less 1,000 for validation)"]),
    (["train", "--early-stopping", "--val-size", "0"],
     ["--early-stopping watches the validation loss, but the validation split is empty "
      "(--val-size 0)"]),
    (["train", "--patience", "3"], ["--patience applies with --early-stopping"]),
    (["train", "--target", "y"], ["--target applies to a CSV table given with --data"]),
    (["train", "--test-size", "0.2"], ["--test-size applies to a CSV table"]),
    (["train", "--data", "t.csv"], ["--data t.csv needs --target COLUMN"]),
    (["train", "--data", "t.csv", "--target", "y", "--dataset", "mnist"],
     ["--dataset applies to image datasets, not to --data"]),
    (["train", "--data", "t.csv", "--target", "y", "--no-scale"],
     ["--scale/--no-scale applies to image datasets"]),
    (["train", "--timeout", "5"],
     ["--timeout applies to the downloadable datasets (mnist, fashion-mnist), not to "
      "'mnist-small'"]),
    (["train", "--mirror", "http://127.0.0.1:9/"], ["--mirror applies to the downloadable"]),
    (["train", "--data", "missing.csv", "--target", "y"], ["missing.csv: no such file"]),
])
def test_one_line_and_nothing_written(tmp_path, args, fragments):
    started = time.perf_counter()
    assert_one_line_error(mlp(*args, cwd=tmp_path), *fragments)
    assert time.perf_counter() - started < 30  # refused before allocating, not after
    assert_nothing_written(tmp_path)


def test_backprop_label_is_a_usage_error():
    for args, words in ((["--label", "5"], "argument --label: y must be a number in [0, 1]; "
                                           "got 5.0"),
                        (["--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'")):
        result = subprocess.run([sys.executable, "-m", "mlp.backprop", *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr == (f"python -m mlp.backprop: error: {words} (see 'python -m "
                                 "mlp.backprop --help')\n")


@pytest.mark.parametrize("where, fragments", [
    ("nodir/c.npz", ["--checkpoint nodir/c.npz: its folder nodir is missing; create the folder"]),
    ("afile/c.npz", ["--checkpoint afile/c.npz: its folder afile is a file"]),
    ("afolder", ["--checkpoint afolder: a folder, not a file"]),
])
def test_bad_checkpoint_path_fails_before_training(tmp_path, where, fragments):
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "afolder").mkdir()
    result = mlp("train", "--checkpoint", where, "--out", "o", cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert result.stdout == ""  # not even the line that announces the training
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "afolder"]


def test_unwritable_checkpoint_folder(tmp_path):
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    elif Path("/proc/self").is_dir():
        locked = Path("/proc")  # root may write into any other folder
    else:
        pytest.skip("root may write into any folder here")
    assert_one_line_error(mlp("train", "--checkpoint", locked / "c.npz", cwd=tmp_path),
                          f"--checkpoint {locked / 'c.npz'}: cannot write in {locked}")


@pytest.mark.parametrize("args, fragments", [
    (["--dataset", "no-such-dataset"], ["no-such-dataset"]),
    (["--val-size", "6000"], ["--dataset mnist-small holds 6,000 training images, not more than "
                              "the 6,000 kept for validation (--val-size)"]),
])
def test_failed_runs_leave_no_empty_folders(tmp_path, args, fragments):
    """A run that fails before training (a bad option) removes the folders it made, nested
    ones included, and leaves other files alone. (One that diverges keeps what it recorded for
    ``mlp doctor``: test_doctor.py.)"""
    (tmp_path / "keep.txt").write_text("mine")
    assert_one_line_error(mlp("train", *args, "--out", "a/b/c", "-q", cwd=tmp_path), *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    result = mlp("train", *args, "-q", cwd=tmp_path)  # the default runs/<date-time> too
    assert result.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_divergence_is_one_line_without_numpy_warnings(tmp_path):
    result = mlp("train", "--lr", "100", "--std", "5", "--epochs", "2", "--no-checkpoint", "-q",
                 "--train-size", "500", cwd=tmp_path)
    assert_one_line_error(result, "training diverged at epoch 1", "std=5 is large")
    assert "RuntimeWarning" not in result.stderr


def fake_idx_folder(folder, n_train, n_test):
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (n_train, 28, 28),
                                                               dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", (np.arange(n_train) % 10).astype(np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, 28, 28),
                                                              dtype=np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", (np.arange(n_test) % 10).astype(np.uint8))
    return folder


def test_a_folder_with_too_few_images(tmp_path):
    small = fake_idx_folder(tmp_path / "small", 100, 10)
    assert_one_line_error(
        mlp("train", "--dataset", small, cwd=tmp_path),
        f"mlp train: error: --dataset {small} holds 100 training images, not more than the "
        "10,000 kept for validation (--val-size): give a smaller --val-size, or a dataset with "
        "more images")
    assert_one_line_error(
        mlp("train", "--dataset", small, "--val-size", "20", "--train-size", "100", cwd=tmp_path),
        f"--train-size 100 is more than the 80 training images of {small} (100 less 20 for "
        "validation)")
    result = mlp("train", "--dataset", small, "--val-size", "0.2", "--epochs", "1", "-q",
                 "--no-plots", "--out", "o", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    no_test = fake_idx_folder(tmp_path / "no_test", 100, 0)
    assert_one_line_error(mlp("train", "--dataset", no_test, "--val-size", "10", cwd=tmp_path),
                          f"--dataset {no_test} holds no test images")


def test_a_stalled_mirror_times_out(tmp_path, request):
    mirror = request.getfixturevalue("stalled_server")
    env = {**os.environ, "MLP_CACHE_DIR": str(tmp_path / "cache"), "NO_PROXY": "127.0.0.1"}
    env.pop("MLP_DATA_DIR", None)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mlp", "train", "--dataset", "mnist", "--mirror", mirror,
         "--timeout", "1", "--out", "o"], capture_output=True, text=True, timeout=120, env=env,
        cwd=tmp_path)
    assert time.perf_counter() - started < 60
    assert_one_line_error(
        result, "mlp train: error: ", f"{mirror}train-images-idx3-ubyte.gz: no answer "
        "within 1 s (the mirror stalled), the download was discarded")
    assert not (tmp_path / "o").exists()
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []  # nothing half-written kept


def test_resuming_an_early_stopped_run_is_refused(tmp_path):
    result = mlp("train", "--early-stopping", "--epochs", "1", "--train-size", "200", "-q",
                 "--no-plots", "--out", "es", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_one_line_error(mlp("train", "--resume", "es/checkpoint.npz", cwd=tmp_path),
                          "a run with --early-stopping cannot be resumed")


# -- bugs are not input errors ----------------------------------------------------------------


def raising(exc):
    def run(args):
        raise exc
    return run


@pytest.mark.parametrize("exc", [KeyError("settings"), TypeError("unsupported operand"),
                                 AttributeError("no attribute 'save'"),
                                 ModuleNotFoundError("No module named 'mlp.io'", name="mlp.io")])
def test_programming_errors_keep_their_traceback(monkeypatch, exc):
    monkeypatch.setattr(info, "run", raising(exc))
    with pytest.raises(type(exc)):
        command.main(["info", "model.npz"])


def test_a_missing_optional_package_is_one_line(monkeypatch, capsys):
    exc = ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")
    monkeypatch.setattr(info, "run", raising(exc))
    assert command.main(["info", "model.npz"]) == 2
    assert capsys.readouterr().err == (
        "mlp info: error: No module named 'matplotlib' (pip install \"mlp[all]\" installs the "
        "optional packages)\n")


def test_os_errors_name_the_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(info, "run", raising(PermissionError(13, "Permission denied", "x.npz")))
    assert command.main(["info", "x.npz"]) == 2
    assert capsys.readouterr().err == "mlp info: error: x.npz: permission denied\n"


@pytest.mark.parametrize("extra, fragment", [
    ({"input_max": 0}, "input_max must be a number in (0, 1e6]"),
    ({"input_max": "255"}, "input_max must be a number in (0, 1e6]"),
    ({"image_shape": [28, -1]}, "image_shape must be two positive integers"),
])
def test_crafted_extra_metadata_is_one_line(tmp_path, extra, fragment):
    from helpers import rewrite_model_file

    from mlp.network import MLP
    from mlp.serialization import save

    path = save(MLP(784, [8], 10, seed=0), tmp_path / "m.npz", extra={"input_max": 1.0})
    rewrite_model_file(path, change_meta=lambda m: m["extra"].update(extra))
    assert_one_line_error(mlp("evaluate", str(path), cwd=tmp_path), fragment)
