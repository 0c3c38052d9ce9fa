"""The README's Fashion-MNIST line and bench/fashion.py, which times it.

The real files come from Debian's dataset-fashion-mnist package, which tests do not have: a tiny
fake set of the same format, file names and layout stands in for it (gzipped, as the package
ships them). The line runs as written, in a fresh process, with MLP_FASHION_MNIST_DIR naming
the folder and a cache folder that must stay empty: the files are read where they lie.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from mlp.data import FILES, write_idx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))  # as when the script runs: its folder first
spec = importlib.util.spec_from_file_location("bench_fashion", ROOT / "bench" / "fashion.py")
fashion = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fashion)


def write_fake_set(folder: Path, n_train: int = 500, n_test: int = 100, gz: bool = True) -> Path:
    """The four files of a tiny Fashion-MNIST-format set: class c is a bright band on row 2c,
    so that a network can learn it."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n_train + n_test).astype(np.uint8)
    images = rng.integers(0, 60, (n_train + n_test, 28, 28)).astype(np.uint8)
    images[np.arange(len(labels)), 2 * labels + 4] = 255
    folder.mkdir(parents=True)
    arrays = (images[:n_train], labels[:n_train], images[n_train:], labels[n_train:])
    for name, array in zip(FILES, arrays, strict=True):
        write_idx(folder / (name if gz else name.removesuffix(".gz")), array)
    return folder


def test_the_readme_shows_the_benchmarked_line():
    readme = (ROOT / "README.md").read_text()
    assert f"\n{fashion.COMMAND}\n" in readme
    assert fashion.COMMAND.startswith("mlp train --dataset fashion-mnist ")


def test_the_line_trains_offline_from_the_folder_its_variable_names(tmp_path, monkeypatch):
    folder = write_fake_set(tmp_path / "files")
    monkeypatch.setenv("MLP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Prescott")  # a slow kernel no user asked for
    env = fashion.run_environment(folder)
    assert "OPENBLAS_CORETYPE" not in env and env["MLP_FASHION_MNIST_DIR"] == str(folder)
    # The line as written, but with this interpreter's mlp: run_once reads its metrics.json.
    run = fashion.run_once([sys.executable, "-m", "mlp", *shlex.split(fashion.COMMAND)[1:]], env)
    assert run["test_acc"] == 1.0
    assert not (tmp_path / "cache").exists()  # nothing was downloaded, or tried


def test_the_benchmark_finds_the_files_where_dpkg_unpacks_them(tmp_path):
    write_fake_set(tmp_path / "root" / fashion.PACKAGE_FOLDER)
    plain = write_fake_set(tmp_path / "plain", gz=False)
    found = tmp_path / "root" / fashion.PACKAGE_FOLDER
    assert fashion.find_folder(tmp_path / "root") == found
    assert fashion.find_folder(found) == found
    assert fashion.find_folder(plain) == plain
    (plain / "t10k-labels-idx1-ubyte").unlink()
    assert fashion.find_folder(plain) is None
    assert fashion.find_folder(tmp_path / "nowhere") is None


def test_without_the_files_the_benchmark_says_how_to_get_them(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLP_FASHION_MNIST_DIR"}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "fashion.py"), "--data",
                           str(tmp_path)], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "apt-get download dataset-fashion-mnist" in proc.stderr
    assert "dpkg -x dataset-fashion-mnist_*.deb" in proc.stderr
