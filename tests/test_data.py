"""Tests for mlp.data: the IDX reader, the loaders, the cache and the download path.

Files are real files in tmp_path, and downloads go to a real HTTP server on 127.0.0.1 that
serves good and bad copies: nothing is mocked. Tests on the full MNIST files read the folder
named by MLP_DATA_DIR and are skipped when it is unset. We have no real Fashion-MNIST here: its
tests use a small fake set of the right format, which is all the loader sees of it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mlp import data
from mlp.data import (
    DataFileError,
    Dataset,
    default_cache_dir,
    download_dataset,
    get_MNIST_data,
    load_dataset,
    load_idx_folder,
    load_mnist,
    load_mnist_small,
    read_idx,
    write_idx,
)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = Path(str(resources.files("mlp").joinpath("datasets", "mnist-small")))
FULL = os.environ.get("MLP_DATA_DIR")
needs_full = pytest.mark.skipif(
    not FULL, reason="MLP_DATA_DIR is unset: it names the folder of the full MNIST files"
)
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = data.FILES
N_TRAIN, N_TEST, N_VAL = 12, 5, 4


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test reads the user's folders or cache, or reaches the public mirrors by mistake."""
    monkeypatch.delenv("MLP_DATA_DIR", raising=False)
    monkeypatch.delenv("MLP_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("MLP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


# --- writing test files, independently of the library's writer -------------------------------


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


def fake_files(seed: int = 0, n_train: int = N_TRAIN, n_test: int = N_TEST) -> dict[str, bytes]:
    """The four files of a tiny MNIST-format set, gzipped: {file name: bytes}."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n_train + n_test, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n_train + n_test, dtype=np.uint8)
    arrays = [images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]]
    return {name: gz(idx_bytes(a)) for name, a in zip(data.FILES, arrays, strict=True)}


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def md5s(files: dict[str, bytes]) -> dict[str, str]:
    return {name: "md5:" + hashlib.md5(content).hexdigest() for name, content in files.items()}


def expected_arrays(files: dict[str, bytes]) -> list[np.ndarray]:
    return [np.frombuffer(gzip.decompress(files[name]), np.uint8) for name in data.FILES]


def assert_cache_clean(folder: Path, good: dict[str, bytes]) -> None:
    """Every file left in the cache is one of the four, with its good content."""
    for path in folder.iterdir() if folder.exists() else []:
        assert path.name in good, f"stray file {path} left in the cache"
        assert path.read_bytes() == good[path.name], f"broken file {path} left in the cache"


# --- a real HTTP server on 127.0.0.1 ----------------------------------------------------------


@pytest.fixture
def server():
    """Serves {url path: (body, mode)}; mode 'cut' sends half the body, then hangs up."""
    routes: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            if self.path not in routes:
                self.send_error(404)
                return
            body, mode = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if mode == "cut" else body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def serve(prefix: str, files: dict[str, bytes], modes: dict[str, str] | None = None) -> str:
        for name, body in files.items():
            routes[f"/{prefix}/{name}"] = (body, (modes or {}).get(name, "ok"))
        return f"http://127.0.0.1:{httpd.server_port}/{prefix}/"

    yield SimpleNamespace(serve=serve, routes=routes)
    httpd.shutdown()
    httpd.server_close()


# --- the IDX reader ---------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    ("code", "dtype"),
    [(0x08, np.uint8), (0x09, np.int8), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")],
)
def test_read_idx_reads_every_type(tmp_path, code, dtype, compress):
    array = np.arange(24).reshape(2, 3, 4).astype(dtype)
    raw = idx_bytes(array, code)
    path = tmp_path / "a.idx"
    path.write_bytes(gz(raw) if compress else raw)
    out = read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(out, array)
    out[0, 0, 0] = 1  # the result owns writable memory


@pytest.mark.parametrize("name", ["a.idx.gz", "a.idx"])
def test_write_idx_round_trips_and_is_deterministic(tmp_path, name):
    array = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    first = write_idx(tmp_path / name, array).read_bytes()
    np.testing.assert_array_equal(read_idx(tmp_path / name), array)
    assert write_idx(tmp_path / name, array).read_bytes() == first
    assert first.startswith(b"\x1f\x8b") == name.endswith(".gz")
    assert gzip.decompress(first) == idx_bytes(array) if name.endswith(".gz") else True


def test_write_idx_rejects_other_dtypes(tmp_path):
    with pytest.raises(TypeError, match="array must have an IDX dtype.*int64"):
        write_idx(tmp_path / "a.idx", np.zeros(3, np.int64))


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        read_idx(tmp_path / "nope")


# --- integrity: each broken file gets an error naming it and the problem ----------------------

GOOD_IMAGES = np.zeros((N_TRAIN, 28, 28), np.uint8)
GOOD_LABELS = np.arange(N_TRAIN, dtype=np.uint8) % 10


def broken_copies() -> dict[str, tuple[str, dict[str, bytes], str]]:
    """case -> (file at fault, the four files with that one broken, the problem's words)."""
    good = fake_files()
    train_images = gzip.decompress(good[TRAIN_IMAGES])
    train_labels = idx_bytes(np.arange(N_TRAIN, dtype=np.uint8) % 10)
    cases = {
        "wrong magic number": (TRAIN_IMAGES, gz(b"\x12\x34" + train_images[2:]), "magic number"),
        "labels magic in an images file": (TRAIN_IMAGES, gz(train_labels), "magic number"),
        "truncated file": (TRAIN_IMAGES, gz(train_images[:-100]), "truncated"),
        "trailing bytes": (TRAIN_IMAGES, gz(train_images + b"\0"), "trailing bytes"),
        "label outside 0-9": (
            TRAIN_LABELS,
            gz(idx_bytes(np.array([3] * (N_TRAIN - 1) + [10], np.uint8))),
            "label 10 at index 11 is outside 0-9",
        ),
        "truncated gzip stream": (TRAIN_IMAGES, good[TRAIN_IMAGES][:-500], "gzip stream"),
    }
    return {
        case: (fault, {**good, fault: content}, words)
        for case, (fault, content, words) in cases.items()
    }


@pytest.mark.parametrize("case", list(broken_copies()))
def test_broken_local_file_names_file_and_problem(tmp_path, case):
    fault, files, words = broken_copies()[case]
    folder = write_files(tmp_path / "mnist", files)
    with pytest.raises(DataFileError) as info:
        load_idx_folder(folder, n_val=N_VAL)
    assert str(folder / fault) in str(info.value) and words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_images_and_labels_of_different_lengths(tmp_path):
    files = fake_files()
    files[TRAIN_LABELS] = gz(idx_bytes(np.zeros(N_TRAIN + 1, np.uint8)))
    folder = write_files(tmp_path / "mnist", files)
    with pytest.raises(DataFileError, match="differ in length: 12 images, 13 labels") as info:
        load_idx_folder(folder, n_val=N_VAL)
    assert str(folder / TRAIN_IMAGES) in str(info.value)
    assert str(folder / TRAIN_LABELS) in str(info.value)


def test_headers_that_disagree_are_refused_before_either_file_is_read(tmp_path):
    """Labels whose header claims 2^24 of them (16 MB of zeros, 16 kB gzipped) beside 12
    images: refused from the two headers, without reading the labels."""
    import tracemalloc

    files = fake_files()
    files[TRAIN_LABELS] = gz(idx_bytes(np.zeros(1 << 24, np.uint8)))
    folder = write_files(tmp_path / "mnist", files)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=f"12 images, {1 << 24} labels"):
            load_idx_folder(folder, n_val=N_VAL)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20, peak


def test_short_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\0\0\x08\x03\0\0")
    with pytest.raises(DataFileError, match=f"{path}: truncated header"):
        read_idx(path)


# --- integrity on the download path: same errors, and nothing broken stays in the cache ------


@pytest.mark.parametrize("case", list(broken_copies()))
def test_broken_download_is_reported_and_removed(tmp_path, server, case):
    fault, files, words = broken_copies()[case]
    # The checksums vouch for the broken copy, so only the structure check can catch it.
    url = server.serve("bad", files)
    cache = tmp_path / "cache"
    with pytest.raises(DataFileError) as info:
        load_mnist(
            cache_dir=cache, mirrors=url, checksums=md5s(files), n_val=N_VAL, progressbar=False
        )
    assert fault in str(info.value) and words in str(info.value)
    assert not (cache / "mnist" / fault).exists()
    assert_cache_clean(cache / "mnist", files)


def test_download_of_mismatched_lengths_is_removed(tmp_path, server):
    files = fake_files()
    files[TRAIN_LABELS] = gz(idx_bytes(np.zeros(N_TRAIN + 1, np.uint8)))
    url = server.serve("bad", files)
    cache = tmp_path / "cache"
    with pytest.raises(DataFileError, match="differ in length.*removed from the cache") as info:
        load_mnist(
            cache_dir=cache, mirrors=url, checksums=md5s(files), n_val=N_VAL, progressbar=False
        )
    assert TRAIN_IMAGES in str(info.value) and TRAIN_LABELS in str(info.value)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == [TEST_IMAGES, TEST_LABELS]


def test_download_with_wrong_checksum_is_discarded(tmp_path, server):
    good = fake_files()
    tampered = bytearray(good[TEST_IMAGES])
    tampered[-20] ^= 0xFF
    url = server.serve("tampered", {**good, TEST_IMAGES: bytes(tampered)})
    cache = tmp_path / "cache"
    with pytest.raises(DataFileError, match="checksum mismatch, the download was discarded") as e:
        load_mnist(
            cache_dir=cache, mirrors=url, checksums=md5s(good), n_val=N_VAL, progressbar=False
        )
    assert str(cache / "mnist" / TEST_IMAGES) in str(e.value)
    assert not (cache / "mnist" / TEST_IMAGES).exists()
    assert_cache_clean(cache / "mnist", good)


def test_download_that_breaks_off_is_discarded(tmp_path, server):
    good = fake_files()
    url = server.serve("cut", good, modes={TRAIN_IMAGES: "cut"})
    cache = tmp_path / "cache"
    with pytest.raises(ConnectionError, match="the download failed and was discarded") as info:
        load_mnist(
            cache_dir=cache, mirrors=url, checksums=md5s(good), n_val=N_VAL, progressbar=False
        )
    assert str(cache / "mnist" / TRAIN_IMAGES) in str(info.value)
    assert "IncompleteRead" in str(info.value) or "broken" in str(info.value)
    assert not (cache / "mnist" / TRAIN_IMAGES).exists()
    assert_cache_clean(cache / "mnist", good)


# --- the download path when all goes well -----------------------------------------------------


def test_download_then_load_from_cache_offline(tmp_path, server, capsys):
    good = fake_files()
    url = server.serve("good", good)
    cache = tmp_path / "cache"
    ds = load_mnist(cache_dir=cache, mirrors=[url], checksums=md5s(good), n_val=N_VAL)
    assert "100%" in capsys.readouterr().err  # the progress bar
    images, labels, test_images, test_labels = expected_arrays(good)
    np.testing.assert_array_equal(ds.X_train.ravel(), images[16 : 16 + 8 * 784])
    np.testing.assert_array_equal(ds.y_train, labels[8 : 8 + N_TRAIN - N_VAL])
    np.testing.assert_array_equal(ds.y_test, test_labels[8:])
    assert_cache_clean(cache / "mnist", good)

    server.routes.clear()  # the server now has nothing: the cache must do
    again = load_mnist(cache_dir=cache, checksums=md5s(good), n_val=N_VAL, download=False)
    for a, b in zip(ds, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_falls_back_to_the_next_mirror(tmp_path, server):
    good = fake_files()
    bad = {name: b"junk" for name in good}
    mirrors = [server.serve("missing", {}), server.serve("junk", bad), server.serve("ok", good)]
    folder = download_dataset(
        "mnist", tmp_path / "cache", mirrors=mirrors, checksums=md5s(good), progressbar=False
    )
    assert_cache_clean(folder, good)
    assert sorted(p.name for p in folder.iterdir()) == sorted(good)


def test_all_mirrors_failing_lists_each(tmp_path, server):
    good = fake_files()
    mirrors = [server.serve("a", {}), server.serve("b", {})]
    with pytest.raises(ConnectionError) as info:
        download_dataset(
            "mnist", tmp_path / "c", mirrors=mirrors, checksums=md5s(good), progressbar=False
        )
    assert f"{mirrors[0]}{TRAIN_IMAGES}" in str(info.value)
    assert f"{mirrors[1]}{TRAIN_IMAGES}" in str(info.value)
    assert "404" in str(info.value)


def test_broken_file_in_cache_is_reported_not_used(tmp_path):
    good = fake_files()
    folder = write_files(tmp_path / "cache" / "mnist", {**good, TRAIN_LABELS: b"broken"})
    with pytest.raises(DataFileError, match="checksum mismatch.*the file was removed") as info:
        load_mnist(cache_dir=tmp_path / "cache", checksums=md5s(good), download=False)
    assert str(folder / TRAIN_LABELS) in str(info.value)
    assert_cache_clean(folder, good)


def test_broken_file_in_cache_is_downloaded_again(tmp_path, server):
    good = fake_files()
    write_files(tmp_path / "cache" / "mnist", {**good, TRAIN_IMAGES: good[TRAIN_IMAGES][:100]})
    url = server.serve("good", good)
    ds = load_mnist(
        cache_dir=tmp_path / "cache",
        mirrors=url,
        checksums=md5s(good),
        n_val=N_VAL,
        progressbar=False,
    )
    assert ds.X_train.shape == (N_TRAIN - N_VAL, 784)
    assert_cache_clean(tmp_path / "cache" / "mnist", good)


def test_empty_cache_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST is not in the cache.*download=False"):
        load_mnist(cache_dir=tmp_path / "empty", download=False)


@needs_full
def test_download_of_the_real_files(tmp_path, server):
    """The full MNIST files over HTTP, checked against the sums of these copies."""
    sums = dict(
        reversed(line.split()) for line in (Path(FULL) / "SHA256SUMS").read_text().splitlines()
    )
    full = {name: (Path(FULL) / name).read_bytes() for name in data.FILES}
    url = server.serve("mnist", full)
    ds = load_mnist(
        cache_dir=tmp_path / "cache", mirrors=url, checksums=sums, dtype=np.uint8, progressbar=False
    )
    assert ds.X_train.shape == (50_000, 784) and ds.X_test.shape == (10_000, 784)
    assert_cache_clean(tmp_path / "cache" / "mnist", full)


def test_missing_pooch_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)  # how Python marks a module as absent
    with pytest.raises(ImportError, match=r'pip install "mlp\[data\]"'):
        load_mnist(cache_dir=tmp_path / "cache", mirrors="http://127.0.0.1:9/")


def test_registry_holds_the_published_checksums():
    # As published with the mirrors (torchvision's MNIST resources list the same MD5s).
    assert data.SOURCES["mnist"].checksums[TRAIN_IMAGES] == "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert data.SOURCES["mnist"].checksums[TEST_LABELS] == "md5:ec29112dd5afa0611ce80d1b7f02629c"
    for source in data.SOURCES.values():
        assert set(source.checksums) == set(data.FILES)


# --- where the files come from ----------------------------------------------------------------


def test_precedence_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    sets = {key: fake_files(seed) for seed, key in enumerate(["arg", "env", "cache"])}
    arg = write_files(tmp_path / "arg", sets["arg"])
    env = write_files(tmp_path / "env", sets["env"])
    write_files(tmp_path / "cache" / "mnist", sets["cache"])
    options = dict(n_val=N_VAL, checksums=md5s(sets["cache"]), download=False)

    def labels(key):
        return expected_arrays(sets[key])[3][8:]

    monkeypatch.setenv("MLP_DATA_DIR", str(env))
    np.testing.assert_array_equal(load_mnist(arg, **options).y_test, labels("arg"))
    np.testing.assert_array_equal(load_mnist(**options).y_test, labels("env"))
    monkeypatch.delenv("MLP_DATA_DIR")
    np.testing.assert_array_equal(load_mnist(**options).y_test, labels("cache"))


def test_env_folder_without_the_files_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setenv("MLP_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}: no train-images-idx3-ubyte"):
        load_mnist()


def test_default_cache_dir(tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("MLP_CACHE_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert default_cache_dir() == tmp_path / "xdg" / "mlp"


def test_uncompressed_files(tmp_path):
    good = fake_files()
    folder = write_files(
        tmp_path / "raw", {n.removesuffix(".gz"): gzip.decompress(b) for n, b in good.items()}
    )
    ds = load_idx_folder(folder, n_val=N_VAL, dtype=np.uint8)
    np.testing.assert_array_equal(ds.X_test.ravel(), expected_arrays(good)[2][16:])


def test_fashion_mnist_uses_the_same_loader(tmp_path, monkeypatch):
    good = fake_files(seed=7)
    folder = write_files(tmp_path / "fashion", good)
    ds = load_dataset("fashion-mnist", folder, n_val=N_VAL)
    np.testing.assert_array_equal(ds.y_test, expected_arrays(good)[3][8:])
    # Its own variable: MLP_DATA_DIR holds MNIST, whose files have the same names.
    monkeypatch.setenv("MLP_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("MLP_FASHION_MNIST_DIR", str(folder))
    np.testing.assert_array_equal(load_dataset("fashion-mnist", n_val=N_VAL).y_test, ds.y_test)
    assert data.SOURCES["fashion-mnist"].checksums[TRAIN_IMAGES].startswith("md5:8d4fb7e6")


def test_fashion_mnist_downloads_into_its_own_cache(tmp_path, server):
    good = fake_files(seed=8)
    url = server.serve("fashion", good)
    load_dataset(
        "fashion-mnist", cache_dir=tmp_path / "c", mirrors=url, checksums=md5s(good), n_val=N_VAL,
        progressbar=False,
    )
    assert_cache_clean(tmp_path / "c" / "fashion-mnist", good)
    assert not (tmp_path / "c" / "mnist").exists()


# --- options and argument checks --------------------------------------------------------------


@pytest.fixture
def fake_folder(tmp_path):
    return write_files(tmp_path / "fake", fake_files())


@pytest.mark.parametrize(
    ("options", "dtype", "top"),
    [
        ({}, np.float64, 255),
        ({"dtype": np.float32}, np.float32, 255),
        ({"dtype": "float32", "scale": True}, np.float32, 1),
        ({"scale": True}, np.float64, 1),
        ({"dtype": np.uint8}, np.uint8, 255),
    ],
)
def test_dtype_and_scale(fake_folder, options, dtype, top):
    ds = load_mnist(fake_folder, n_val=N_VAL, **options)
    raw = expected_arrays(fake_files())[0][16:].reshape(N_TRAIN, 784)
    for X in (ds.X_train, ds.X_val, ds.X_test):
        assert X.dtype == dtype and X.ndim == 2 and X.shape[1] == 784
    np.testing.assert_allclose(ds.X_train, raw[: N_TRAIN - N_VAL] * (top / 255), rtol=1e-6)
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert y.dtype == np.int64


def test_unflattened_images_and_split(fake_folder):
    ds = load_idx_folder(fake_folder, n_val=3, flatten=False)
    assert isinstance(ds, Dataset) and len(ds) == 6
    assert ds.X_train.shape == (N_TRAIN - 3, 28, 28) and ds.X_val.shape == (3, 28, 28)
    assert ds.X_test.shape == (N_TEST, 28, 28)


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"dtype": np.int32}, ValueError, "dtype must be float64, float32 or uint8; got"),
        ({"dtype": "pixels"}, TypeError, "dtype must be float64, float32 or uint8; got 'pixels'"),
        ({"scale": "yes"}, TypeError, "scale must be True or False; got 'yes'"),
        ({"dtype": np.uint8, "scale": True}, ValueError, "scale=True needs dtype float64"),
        ({"n_val": N_TRAIN}, ValueError, r"n_val must be in \[0, 12\) for 12 training images"),
        ({"n_val": 2.5}, TypeError, "n_val must be an int; got 2.5"),
        ({"mirrors": "ftp://x/"}, ValueError, "mirrors must be one or more http"),
        ({"checksums": {"a": "md5:1"}}, ValueError, "checksums must map each of"),
    ],
)
def test_bad_arguments_are_named(fake_folder, options, error, words):
    data_dir = None if {"mirrors", "checksums"} & set(options) else fake_folder
    with pytest.raises(error, match=words):
        load_mnist(data_dir, n_val=options.pop("n_val", N_VAL), download=False, **options)


def test_load_dataset_dispatch(fake_folder):
    assert load_dataset("mnist-small").X_train.shape == (5_000, 784)
    assert load_dataset("MNIST_small", dtype=np.uint8).X_test.dtype == np.uint8
    assert load_dataset(fake_folder, n_val=N_VAL).X_test.shape == (N_TEST, 784)
    assert load_dataset(str(fake_folder), n_val=N_VAL).X_test.shape == (N_TEST, 784)
    assert load_dataset("mnist", data_dir=fake_folder, n_val=N_VAL).X_val.shape == (N_VAL, 784)
    with pytest.raises(ValueError, match="'mnist-small', 'mnist', 'fashion-mnist' or a folder"):
        load_dataset("cifar10")
    with pytest.raises(TypeError, match="name_or_path must be"):
        load_dataset(3)


# --- the bundled subset -----------------------------------------------------------------------


def test_subset_loads_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("MLP_DATA_DIR", str(tmp_path / "nowhere"))  # not consulted
    ds = load_mnist_small()
    shapes = [a.shape for a in ds]
    assert shapes == [(5000, 784), (5000,), (1000, 784), (1000,), (1000, 784), (1000,)]
    assert ds.X_train.dtype == np.float64 and ds.X_train.max() == 255
    np.testing.assert_array_equal(ds.y_train[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert load_mnist_small(scale=True, dtype=np.float32).X_val.max() == 1
    assert not (tmp_path / "cache").exists()  # nothing downloaded, nothing cached


def test_subset_is_small():
    folder = BUNDLED
    sizes = {p.name: p.stat().st_size for p in folder.iterdir() if p.suffix == ".gz"}
    assert set(sizes) == set(data.FILES) and sum(sizes.values()) < 2_000_000


@needs_full
def test_subset_matches_the_full_files():
    small = load_mnist_small(dtype=np.uint8, n_val=0)
    full = load_idx_folder(FULL, n_val=0, dtype=np.uint8)
    np.testing.assert_array_equal(small.y_train, full.y_train[:6000])
    np.testing.assert_array_equal(small.y_test, full.y_test[:1000])
    np.testing.assert_array_equal(small.X_test, full.X_test[:1000])
    # Exact against the copies it was made from; within one grey level of the original
    # MNIST training images (see src/mlp/datasets/README.md).
    diff = np.abs(small.X_train.astype(int) - full.X_train[:6000])
    assert diff.max() <= 1


@needs_full
def test_subset_script_reproduces_the_bundled_files(tmp_path):
    script = ROOT / "scripts" / "make_mnist_subset.py"
    subprocess.run(
        [sys.executable, str(script), "--source", FULL, "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    bundled = BUNDLED
    for name in data.FILES:
        assert (tmp_path / name).read_bytes() == (bundled / name).read_bytes(), name


# --- the problem set's loader on the full files -----------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    if not FULL:
        pytest.skip("MLP_DATA_DIR is unset: it names the folder of the full MNIST files")
    return get_MNIST_data(FULL)


def test_get_mnist_data_shapes_and_dtypes(mnist):
    X_train, y_train, X_val, y_val, X_test, y_test = mnist
    assert X_train.shape == (50_000, 784) and y_train.shape == (50_000,)
    assert X_val.shape == (10_000, 784) and y_val.shape == (10_000,)
    assert X_test.shape == (10_000, 784) and y_test.shape == (10_000,)
    assert {X.dtype for X in (X_train, X_val, X_test)} == {np.dtype(np.float64)}
    assert {y.dtype for y in (y_train, y_val, y_test)} == {np.dtype(np.int64)}
    assert X_train.min() == 0 and X_train.max() == 255  # raw grey levels, as the seed's
    for y in (y_train, y_val, y_test):
        assert y.min() == 0 and y.max() == 9


def test_get_mnist_data_order(mnist):
    X_train, y_train, X_val, y_val, X_test, y_test = mnist
    np.testing.assert_array_equal(y_train[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    images = read_idx(Path(FULL) / TRAIN_IMAGES).reshape(60_000, 784)
    labels = read_idx(Path(FULL) / TRAIN_LABELS)
    np.testing.assert_array_equal(X_train[-1], images[49_999])
    np.testing.assert_array_equal(X_val, images[50_000:])
    np.testing.assert_array_equal(y_val, labels[50_000:])
    np.testing.assert_array_equal(X_test, read_idx(Path(FULL) / TEST_IMAGES).reshape(-1, 784))
    np.testing.assert_array_equal(y_test, read_idx(Path(FULL) / TEST_LABELS))


@needs_full
def test_get_mnist_data_reads_mlp_data_dir(monkeypatch):
    monkeypatch.setenv("MLP_DATA_DIR", FULL)
    X_train, y_train, *_ = get_MNIST_data(dtype=np.uint8)
    assert X_train.dtype == np.uint8 and y_train[0] == 5


# --- timeouts and options that do not apply ------------------------------------------------


@pytest.fixture
def stalled_server():
    """Accepts connections and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/stall/"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_stalled_mirror_times_out_and_the_next_is_tried(tmp_path, server, stalled_server):
    good = fake_files()
    mirrors = [stalled_server, server.serve("ok", good)]
    folder = download_dataset("mnist", tmp_path / "c", mirrors=mirrors, checksums=md5s(good),
                              progressbar=False, timeout=0.3)
    assert_cache_clean(folder, good)
    with pytest.raises(ConnectionError) as info:
        load_mnist(cache_dir=tmp_path / "d", mirrors=stalled_server, checksums=md5s(good),
                   progressbar=False, timeout=0.3)
    message = str(info.value)
    assert f"{stalled_server}{TRAIN_IMAGES}: no answer within 0.3 s (the mirror stalled)" in message
    assert "\n" not in message  # one line, however many mirrors
    assert_cache_clean(tmp_path / "d" / "mnist", good)


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan"), "5", True])
def test_timeout_must_be_positive_seconds(tmp_path, timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        download_dataset("mnist", tmp_path, timeout=timeout)


def test_download_options_do_not_apply_to_a_folder_or_the_subset(fake_folder):
    with pytest.raises(TypeError, match="timeout apply to downloadable datasets"):
        load_dataset(fake_folder, n_val=N_VAL, timeout=5)
    with pytest.raises(TypeError, match="mirrors, data_dir apply to downloadable datasets"):
        load_dataset("mnist-small", "/x", mirrors="http://x/")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_idx_folder(fake_folder / "nope")


def test_one_loader_for_every_dataset(fake_folder):
    """load_mnist, load_mnist_small and load_idx_folder are load_dataset with a name."""
    for a, b in zip(load_mnist(fake_folder, n_val=N_VAL),
                    load_dataset("mnist", fake_folder, n_val=N_VAL), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(load_mnist_small(), load_dataset("mnist-small"), strict=True):
        np.testing.assert_array_equal(a, b)
    assert load_idx_folder(fake_folder, n_val=0).X_train.shape == (N_TRAIN, 784)
    with pytest.raises(ValueError, match=r"n_val must be in \[0, 12\) for 12 training images; "
                                         "got 10000"):
        load_dataset(fake_folder)  # a folder keeps MNIST's 10,000 for validation


# --- uint8 pixels read as scaled floats ---------------------------------------------------------


def test_scaled_pixels_train_exactly_like_floats():
    """Training on ScaledPixels gives bit for bit the parameters and history of training on the
    float copy: the training loop and the network read their inputs only by indexing."""
    from mlp import MLP
    from mlp.data import ScaledPixels

    ds = load_mnist_small(dtype=np.uint8)
    X, X_val = ds.X_train[:600], ds.X_val[:200]
    results = []
    for inputs in ((X.astype(np.float32) / 255, X_val.astype(np.float32) / 255),
                   (ScaledPixels.wrap(X, 255, np.float32), ScaledPixels.wrap(X_val, 255,
                                                                              np.float32))):
        net = MLP(784, [16], 10, seed=0, dtype="float32", batch_norm=True)
        history = net.train(inputs[0], ds.y_train[:600], inputs[1], ds.y_val[:200],
                            num_epochs=2, batch_size=50, learning_rate=0.1)
        results.append((net, history, net.predict(inputs[1])))
    (a, ha, pa), (b, hb, pb) = results
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)
    assert ha == hb
    np.testing.assert_array_equal(pa, pb)


def test_scaled_pixels_never_show_their_bytes():
    from mlp.data import ScaledPixels

    raw = np.array([[0, 51, 255], [102, 0, 1]], dtype=np.uint8)
    X = ScaledPixels.wrap(raw, 255, np.float32)
    assert X.dtype == np.uint8 and X.shape == (2, 3) and len(X) == 2  # the storage's
    expected = raw.astype(np.float32) / 255
    np.testing.assert_array_equal(X[[1, 0]], expected[[1, 0]])
    np.testing.assert_array_equal(X[1:], expected[1:])
    assert X[0, 1] == np.float32(0.2) and X[1:].dtype == np.float32
    np.testing.assert_array_equal(X.reshape(3, 2)[0], expected.reshape(3, 2)[0])
    assert X.max() == 1.0 and np.abs(X).dtype == np.float32  # ufuncs see the values
    assert np.mean(X) == pytest.approx(expected.mean())  # so do NumPy's functions
    np.testing.assert_array_equal(X.astype(np.float64), expected.astype(np.float64))
    assert np.asarray(X).dtype == np.uint8  # the storage itself, for fingerprints
    with pytest.raises(TypeError, match="read-only"):
        np.add(X, 1, out=X)
    with pytest.raises(ValueError, match="read-only"):
        X[0, 0] = 1
    with pytest.raises(TypeError, match="stored must be uint8"):
        ScaledPixels.wrap(expected, 255, np.float32)
    assert "uint8 / 255 as float32" in repr(X)


@pytest.fixture
def trickle_server():
    """Answers every request with a large Content-Length, then one byte every 0.2 s."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            while not stop.is_set():
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                stop.wait(0.2)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/trickle/"
    stop.set()
    httpd.shutdown()
    httpd.server_close()


def test_a_mirror_that_trickles_is_given_up_after_the_timeout(tmp_path, trickle_server):
    """A byte every 0.2 s never trips the per-read timeout: the average rate does."""
    good = fake_files()
    start = time.monotonic()
    with pytest.raises(ConnectionError) as info:
        download_dataset("mnist", tmp_path / "c", mirrors=trickle_server,
                         checksums=md5s(good), progressbar=False, timeout=1)
    assert time.monotonic() - start < 10
    assert "slower than 1,024 bytes/s" in str(info.value)
    assert not any((tmp_path / "c" / "mnist").glob("*"))


def test_a_file_larger_than_any_dataset_file_is_refused(tmp_path, server, monkeypatch):
    import mlp.data.download as download

    good = fake_files()
    big = dict(good)
    big[TRAIN_IMAGES] = good[TRAIN_IMAGES] + b"\0" * 5000
    monkeypatch.setattr(download, "MAX_FILE_BYTES", len(good[TRAIN_IMAGES]) + 100)
    with pytest.raises(ConnectionError) as info:
        download_dataset("mnist", tmp_path / "c", mirrors=server.serve("big", big),
                         checksums=md5s(good), progressbar=False, timeout=5)
    assert "more than the" in str(info.value) and "bytes a file may have" in str(info.value)
    assert not (tmp_path / "c" / "mnist" / TRAIN_IMAGES).exists()
