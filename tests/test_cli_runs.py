"""Where the ``mlp`` command writes: run folders claimed atomically by concurrent processes, a
run that is never overwritten, files at exactly the path given, inputs that do not overwrite one
another; and the memory the main job takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pytest
from PIL import Image
from test_cli import assert_one_line_error, mlp

from mlp import serialization as mio
from mlp.data import load_mnist_small, write_idx
from mlp.images import read_digit_image
from mlp.run.folders import LOCK, Folders

QUICK = ["--epochs", "1", "--train-size", "300", "--no-plots", "-q"]


def test_concurrent_runs_never_share_a_folder(tmp_path):
    """Runs started in the same second race for runs/<date-time>, -2, -3, ...: mkdir decides.
    The names of the next seconds are taken already, so every run meets a collision."""
    now = datetime.now()
    taken = {(now + timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S") for s in range(-1, 30)}
    for name in taken:
        (tmp_path / "runs" / name).mkdir(parents=True)
    runs = [subprocess.Popen([sys.executable, "-m", "mlp", "train", *QUICK, "--seed", str(seed)],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for seed in range(4)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    new = [p for p in (tmp_path / "runs").iterdir() if p.name not in taken]
    assert len(new) == 4 and all("-" in p.name[9:] for p in new)  # each with a suffix
    seeds = {json.loads((p / "metrics.json").read_text())["settings"]["seed"] for p in new}
    assert seeds == {0, 1, 2, 3}  # one run per folder, each complete
    for p in new:
        assert mio.load_metadata(p / "model.npz")["extra"]["settings"]["seed"] == json.loads(
            (p / "metrics.json").read_text())["settings"]["seed"]


def test_two_runs_into_one_out_folder_at_once(tmp_path):
    """Both pass the first check (the folder holds no run yet); the lock each takes before
    writing lets one in: the other fails on one line, and the folder holds one whole run."""
    runs = [subprocess.Popen([sys.executable, "-m", "mlp", "train", *QUICK, "--seed", str(seed),
                              "--out", "o"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for seed in (0, 1)]
    outcomes = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in outcomes) == [0, 2], outcomes
    ((_, error),) = [o for o in outcomes if o[0] == 2]
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    assert "another run (process " in error or "already holds a run" in error
    (winner,) = [seed for seed, (code, _) in zip((0, 1), outcomes, strict=True) if code == 0]
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["settings"]["seed"] == winner
    assert mio.load_metadata(tmp_path / "o" / "model.npz")["extra"]["settings"]["seed"] == winner
    assert not (tmp_path / "o" / ".mlp-run.lock").exists()


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_a_folder_locked_by_a_run_that_has_not_written_its_pid_yet_is_refused(tmp_path):
    """The moment between a run taking the lock and writing its process id into the file: the
    empty file is another run's, not a stale one to take over (two runs into one folder both
    finished, one overwriting the other's files, when that moment was mistaken for a dead run's
    lock)."""
    folder = tmp_path / "o"
    folder.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder / LOCK)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert (folder / LOCK).read_text() == ""
        with pytest.raises(ValueError, match=r"another run \(a process that is starting\) is "
                                             r"writing into this folder"):
            Folders().lock(folder)
        result = mlp("train", *QUICK, "--out", folder)
        assert result.returncode == 2 and "another run (" in result.stderr
        assert sorted(p.name for p in folder.iterdir()) == [LOCK]
    finally:
        holder.kill()
        holder.wait()
    # Its holder gone, the lock is free: the kernel gave it back.
    folders = Folders()
    with folders.cleaned_on_failure():
        assert folders.lock(folder) == folder
        with pytest.raises(ValueError, match=rf"another run \(process {os.getpid()}\)"):
            Folders().lock(folder)
    assert not (folder / LOCK).exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    (tmp_path / "o").mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "o" / ".mlp-run.lock").write_text(f"{dead.pid}\n")
    result = mlp("train", *QUICK, "--out", tmp_path / "o")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "model.npz").exists()


def test_an_existing_run_is_not_overwritten(tmp_path):
    assert mlp("train", *QUICK, "--out", "o", cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir()}
    assert_one_line_error(
        mlp("train", *QUICK, "--out", "o", cwd=tmp_path),
        "mlp train: error: --out o already holds a run (model.npz, checkpoint.npz, "
        "metrics.json); it is not overwritten: choose another folder, or continue that run "
        "with --resume o/checkpoint.npz")
    assert {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir()} == before
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "checkpoint.npz").write_bytes(b"x")  # a run killed mid-way
    assert_one_line_error(mlp("train", *QUICK, "--out", "partial", cwd=tmp_path),
                          "--out partial already holds a run (checkpoint.npz)")
    # Continuing the run that is there is what --resume is for.
    resumed = mlp("train", "--resume", "o/checkpoint.npz", "--epochs", "2", "--out", "o", "-q",
                  cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["epochs"] == 2
    (tmp_path / "f").write_text("")
    assert_one_line_error(mlp("train", *QUICK, "--out", "f", cwd=tmp_path),
                          "--out f: a file, not a folder")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("model")
    result = mlp("train", "--epochs", "2", "--no-plots", "-q", "--out", "o", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return cwd / "o" / "model.npz"


@pytest.mark.parametrize("name, kind", [("matrix", "PNG"), ("plot.png", "PNG"),
                                        ("cm.v2", "PNG"), ("m.jpg", "JPEG")])
def test_figure_is_written_at_exactly_the_path_given(model, tmp_path, name, kind):
    result = mlp("evaluate", model, "--figure", tmp_path / name)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [name]
    with Image.open(tmp_path / name) as image:
        assert image.format == kind
    assert f"wrote {tmp_path / name}" in result.stdout


def test_saved_inputs_never_overwrite_each_other(model, tmp_path):
    """a/1.png, b/1.png and c/1-2.png are three images: three files."""
    ds = load_mnist_small(dtype="uint8", flatten=False)
    paths = []
    for folder, name, i in (("a", "1.png", 0), ("b", "1.png", 1), ("c", "1-2.png", 2)):
        (tmp_path / folder).mkdir()
        paths.append(tmp_path / folder / name)
        Image.fromarray(255 - ds.X_test[i]).resize((56, 56)).save(paths[-1])
    out = tmp_path / "seen"
    result = mlp("predict", model, *paths, "--save-inputs", out, "--json")
    assert result.returncode == 0, result.stderr
    names = [r["input_saved_as"] for r in json.loads(result.stdout)]
    assert names == ["1_28x28.png", "1-2_28x28.png", "1-2-2_28x28.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for path, name in zip(paths, names, strict=True):
        with Image.open(out / name) as seen:
            np.testing.assert_array_equal(np.asarray(seen),
                                          np.round(read_digit_image(path)).astype(np.uint8))


def test_no_inputs_folder_when_an_image_is_bad(model, tmp_path):
    (tmp_path / "bad.png").write_text("not an image")
    assert_one_line_error(mlp("predict", model, tmp_path / "bad.png", "--save-inputs",
                              tmp_path / "seen"), "not an image")
    assert not (tmp_path / "seen").exists()


def test_predictions_to_a_file(model, tmp_path):
    ds = load_mnist_small(dtype="uint8", flatten=False)
    Image.fromarray(255 - ds.X_test[0]).save(tmp_path / "d.png")
    shown = mlp("predict", model, tmp_path / "d.png")
    written = mlp("predict", model, tmp_path / "d.png", "--out", tmp_path / "p.txt")
    assert written.returncode == 0 and written.stdout == ""
    assert (tmp_path / "p.txt").read_text() == shown.stdout


def test_the_command_runs_as_python_dash_m_mlp_cli():
    result = subprocess.run([sys.executable, "-m", "mlp.cli", "--version"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("mlp ")


# -- memory ------------------------------------------------------------------------------------

PEAK_MB = 150


def test_the_main_job_is_lean(tmp_path):
    """``mlp train`` on 60,000 + 10,000 images (MNIST's and Fashion-MNIST's sizes) peaks under
    150 MB: the images stay uint8 and are scaled a batch at a time. (Loading them as float64,
    three times, as it once did, took about 500 MB.)"""
    folder = tmp_path / "sixty-thousand"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for kind, n in (("train", 60_000), ("t10k", 10_000)):
        write_idx(folder / f"{kind}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{kind}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    # A fresh parent, so that the peak is that of this one child.
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")
    result = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "mlp", "train", "--dataset",
         str(folder), "--epochs", "1", "--out", str(tmp_path / "o"), "-q"],
        capture_output=True, text=True, timeout=300)
    peak_kb, status = map(int, result.stdout.split())
    assert status == 0, result.stderr
    assert peak_kb / 1024 <= PEAK_MB, f"peak resident memory {peak_kb / 1024:.0f} MB"
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["data"]["train"] == 50_000 and metrics["data"]["test"] == 10_000
