"""One loader for every MNIST-style dataset: MNIST, Fashion-MNIST, the bundled subset, or any
folder of the four IDX files.

>>> X_train, y_train, X_val, y_val, X_test, y_test = load_dataset("mnist")

Where a named dataset's files come from, first match wins: the ``data_dir=`` argument; its
environment variable (``MLP_DATA_DIR`` for MNIST, ``MLP_FASHION_MNIST_DIR`` for Fashion-MNIST);
the download cache (``MLP_CACHE_DIR``, else the user's cache folder); a download from the public
mirrors into that cache. Images come as rows of raw 0-255 grey levels, float64 unless asked
otherwise; labels as int64 in [0, 9]. See docs/data.md.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from .download import (
    DEFAULT_TIMEOUT,
    FILES,
    SOURCES,
    check_cache,
    default_cache_dir,
    download_dataset,
    get_source,
    resolve_checksums,
    resolve_mirrors,
)
from .idx import DataFileError, read_pair

BUNDLED = "mnist-small"
#: The names ``load_dataset`` knows; anything else must be a folder.
DATASETS = (BUNDLED, *SOURCES)
#: How many training images become the validation set unless ``n_val`` says otherwise.
DEFAULT_N_VAL = {BUNDLED: 1_000}
_N_VAL = 10_000

_Pair = tuple[np.ndarray, np.ndarray]  # images (N, rows, columns) uint8, labels (N,) int64
_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.uint8))


class Dataset(NamedTuple):
    """A train / validation / test split. Unpacks like the problem set's 6-tuple.

    X_*: (N, 784) images (or (N, 28, 28) with ``flatten=False``); y_*: (N,) int64 in [0, 9].
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_dataset(
    name_or_path: os.PathLike | str,
    data_dir: os.PathLike | str | None = None,
    *,
    dtype: DTypeLike = np.float64,
    scale: bool = False,
    flatten: bool = True,
    n_val: int | None = None,
    download: bool = True,
    cache_dir: os.PathLike | str | None = None,
    mirrors: Sequence[str] | str | None = None,
    checksums: Mapping[str, str] | None = None,
    progressbar: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Dataset:
    """Load ``'mnist'``, ``'fashion-mnist'``, ``'mnist-small'`` (bundled) or a folder of IDX files.

    The last ``n_val`` training images (default 10,000; 1,000 for the bundled subset) become the
    validation set, the rest the training set; the t10k files are the test set. MNIST and
    Fashion-MNIST split 50,000 / 10,000 / 10,000.

    Files of a named dataset come from ``data_dir``, else its environment variable, else the
    cache ``cache_dir`` (default ``$MLP_CACHE_DIR`` or the user's cache folder), downloading what
    the cache lacks unless ``download=False``. ``mirrors`` (base URLs) and ``checksums`` ({file
    name: 'md5:...'}) replace the public mirrors and their published checksums; ``timeout`` is
    how many seconds to wait for a stalled mirror. The bundled subset and a folder take none of
    these options.

    X_*: (N, 784) raw grey levels 0-255 as ``dtype`` (float64, float32 or uint8), divided by
    255 if ``scale``; (N, 28, 28) if not ``flatten``. y_*: (N,) int64 in [0, 9].
    Raises FileNotFoundError for a missing folder or file, and DataFileError (a ValueError
    naming the file) for a broken one.
    """
    dt = _check_options(dtype, scale, flatten)
    key = _dataset_key(name_or_path)
    fetch = {"download": download, "cache_dir": cache_dir, "mirrors": mirrors,
             "checksums": checksums, "progressbar": progressbar, "timeout": timeout}
    if key in SOURCES:
        train, test = _read_named(key, data_dir, **fetch)
    else:
        _refuse_fetch_options(name_or_path, data_dir, fetch)
        train, test = _read_bundled() if key == BUNDLED else _read_folder(Path(name_or_path))
    n_val = DEFAULT_N_VAL.get(key, _N_VAL) if n_val is None else n_val
    return _split(train, test, n_val, dt, scale, flatten)


def load_mnist(data_dir: os.PathLike | str | None = None, **options) -> Dataset:
    """``load_dataset("mnist", data_dir, **options)``: MNIST split 50,000 / 10,000 / 10,000."""
    return load_dataset("mnist", data_dir, **options)


def load_mnist_small(**options) -> Dataset:
    """``load_dataset("mnist-small", **options)``: the MNIST subset bundled with the package,
    no download and no network. The first 6,000 training images (split 5,000 / 1,000 into train
    / validation) and the first 1,000 test images."""
    return load_dataset(BUNDLED, **options)


def load_idx_folder(path: os.PathLike | str, **options) -> Dataset:
    """``load_dataset(path, **options)`` for a folder of the four IDX files (gzipped or not)."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a folder path; got {path!r}")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    return load_dataset(folder, **options)


def get_MNIST_data(  # noqa: N802  (the problem set's name)
    data_dir: os.PathLike | str | None = None,
    *,
    dtype: DTypeLike = np.float64,
    scale: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The problem set's loader: ``X_train, y_train, X_val, y_val, X_test, y_test``.

    Shapes (50000, 784), (50000,), (10000, 784), (10000,), (10000, 784), (10000,); images
    are raw grey levels 0-255 as float64, labels int64. See :func:`load_dataset` for the
    sources and options.
    """
    return tuple(load_dataset("mnist", data_dir, dtype=dtype, scale=scale))


# -- which dataset, and its files ----------------------------------------------------------------


def _dataset_key(name_or_path: object) -> str | None:
    """The dataset's name in DATASETS, or None for a folder (checked to exist)."""
    if isinstance(name_or_path, str):
        key = name_or_path.strip().lower().replace("_", "-")
        if key in DATASETS:
            return key
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"name_or_path must be a dataset name or a folder path; got {name_or_path!r}"
        )
    if not Path(name_or_path).expanduser().is_dir():
        raise ValueError(
            f"name_or_path must be one of {', '.join(map(repr, DATASETS))} or a folder of IDX "
            f"files; got {os.fspath(name_or_path)!r}, which is neither"
        )
    return None


def _refuse_fetch_options(name_or_path, data_dir, fetch: dict) -> None:
    """The bundled subset and a folder are read as they are: a download option given for them
    is a mistake worth reporting, not ignoring."""
    defaults = {"download": True, "cache_dir": None, "mirrors": None, "checksums": None,
                "progressbar": True, "timeout": DEFAULT_TIMEOUT}
    given = [k for k, v in {**fetch, "data_dir": data_dir}.items() if v != defaults.get(k)]
    if given:
        raise TypeError(f"{', '.join(given)} apply to downloadable datasets "
                        f"({', '.join(SOURCES)}), not to {os.fspath(name_or_path)!r}")


def _find(folder: Path, name: str) -> Path:
    # An uncompressed copy (say from `gunzip -k`) is preferred: it reads faster.
    stem = name.removesuffix(".gz")
    for candidate in (folder / stem, folder / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{folder}: no {stem} or {name} here (an MNIST-format folder holds "
        f"{', '.join(f.removesuffix('.gz') for f in FILES)}, each gzipped or not)"
    )


def _read_folder(folder: Path) -> tuple[_Pair, _Pair]:
    folder = folder.expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    paths = [_find(folder, name) for name in FILES]
    return read_pair(paths[0], paths[1]), read_pair(paths[2], paths[3])


def _read_bundled() -> tuple[_Pair, _Pair]:
    folder = resources.files("mlp").joinpath("datasets", BUNDLED)
    with resources.as_file(folder) as path:
        return _read_folder(path)


def _read_named(name: str, data_dir, *, timeout: float, **fetch) -> tuple[_Pair, _Pair]:
    env_var = get_source(name).env_var
    if data_dir is None and os.environ.get(env_var):
        data_dir = os.environ[env_var]
    if data_dir is not None:
        return _read_folder(Path(data_dir))
    return _read_cache(name, timeout=timeout, **fetch)


def _read_cache(
    name: str,
    *,
    cache_dir: os.PathLike | str | None,
    download: bool,
    mirrors: Sequence[str] | str | None,
    checksums: Mapping[str, str] | None,
    progressbar: bool,
    timeout: float,
) -> tuple[_Pair, _Pair]:
    source = get_source(name)
    known = resolve_checksums(source, checksums)
    mirrors = resolve_mirrors(source, mirrors)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = root / name
    if download:
        download_dataset(name, root, mirrors=mirrors, checksums=known, progressbar=progressbar,
                         timeout=timeout)
    else:
        needed = check_cache(folder, known)
        broken = {f: why for f, why in needed.items() if why != "missing"}
        if broken:
            raise DataFileError([folder / f for f in broken], "; ".join(broken.values()))
        if needed:
            raise FileNotFoundError(
                f"{source.title} is not in the cache {folder} (missing {', '.join(needed)}) "
                f"and download=False: pass data_dir=, set {source.env_var}, or allow the "
                "download"
            )
    try:
        return _read_folder(folder)
    except DataFileError as exc:
        # The checksums matched but the content does not hold together (possible only with
        # checksums= given by the caller): drop the files so that they are never read again.
        for path in exc.paths:
            path.unlink(missing_ok=True)
        raise DataFileError(exc.paths, f"{exc.problem}; removed from the cache") from exc


# -- options, split and conversion ---------------------------------------------------------------


def _check_options(dtype: object, scale: object, flatten: object) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float64, float32 or uint8; got {dtype!r}") from exc
    if dt not in _DTYPES:
        raise ValueError(f"dtype must be float64, float32 or uint8; got {dtype!r}")
    for name, value in (("scale", scale), ("flatten", flatten)):
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True or False; got {value!r}")
    if scale and dt == np.uint8:
        raise ValueError("scale=True needs dtype float64 or float32; got dtype uint8")
    return dt


def _images(X: np.ndarray, dtype: np.dtype, scale: bool, flatten: bool) -> np.ndarray:
    if flatten:
        X = X.reshape(len(X), math.prod(X.shape[1:]))
    if dtype == np.uint8:
        return X
    X = X.astype(dtype)
    if scale:
        X /= 255
    return X


def _split(train: _Pair, test: _Pair, n_val: int, dtype: np.dtype, scale: bool,
           flatten: bool) -> Dataset:
    (X, y), (X_test, y_test) = train, test
    if isinstance(n_val, bool) or not isinstance(n_val, int | np.integer):
        raise TypeError(f"n_val must be an int; got {n_val!r}")
    if not 0 <= n_val < len(X):
        raise ValueError(
            f"n_val must be in [0, {len(X)}) for {len(X)} training images; got {n_val}"
        )
    n_train = len(X) - n_val
    return Dataset(
        _images(X[:n_train], dtype, scale, flatten),
        y[:n_train],
        _images(X[n_train:], dtype, scale, flatten),
        y[n_train:],
        _images(X_test, dtype, scale, flatten),
        y_test,
    )
