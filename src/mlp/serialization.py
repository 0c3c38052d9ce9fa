"""Saving and loading models and training checkpoints.

A model file is a NumPy ``.npz`` archive that holds only plain arrays: the parameters
(``params/W1``, ``params/b1``, ...) and a ``metadata`` entry, the UTF-8 bytes of a JSON object
that describes the network (class, layer sizes, activation, output, dtype, init, std, seed, the
state of its random generator) plus free-form ``extra`` information such as training settings.
Files are read with ``allow_pickle=False``, so opening a model file can never run code.

A checkpoint is a model file that also holds the training state of
:meth:`mlp.training.TrainState.snapshot` (``state/...`` arrays and ``training_state`` in the
metadata), so that ``train(..., resume=snapshot)`` continues a run exactly where it stopped.
Every write goes to a temporary file in the same folder that replaces the target only once it is
complete and flushed to disk: a crash during a save leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_atomic
from .layers import ACTIVATIONS, LAYER_TYPES, Activation, BatchNorm, Dense, Dropout, Layer
from .losses import output_head
from .memory import human_bytes, memory_cap
from .network import MLP, TwoLayerMLP
from .training import TrainState

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFileError",
    "save",
    "load",
    "load_metadata",
    "load_with_metadata",
    "check_extra",
    "save_checkpoint",
    "load_checkpoint",
]

FORMAT = "mlp-model"
FORMAT_VERSION = 2
META_KEY = "metadata"
PARAMS = "params/"
STATS = "stats/"
STATE = "state/"

_CLASSES: dict[str, type[MLP]] = {"MLP": MLP, "TwoLayerMLP": TwoLayerMLP}

Snapshot = tuple[dict[str, Any], dict[str, np.ndarray]]


class ModelFileError(ValueError):
    """A file that is not a readable model (or checkpoint). ``path`` is the file, ``problem``
    says what is wrong with it; the message is ``"<path>: <problem>"``."""

    def __init__(self, path: os.PathLike | str, problem: str) -> None:
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


# -- writing ------------------------------------------------------------------------------------


def _atomic_savez(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    write_atomic(path, lambda f: np.savez(f, **arrays))


def _json_bytes(meta: Mapping[str, Any]) -> np.ndarray:
    try:
        text = json.dumps(meta, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"extra must hold JSON-serialisable values only: {exc}") from exc
    data = text.encode("utf-8")
    if len(data) > MAX_METADATA_BYTES:
        raise ValueError(f"the metadata would take {len(data)} bytes, more than a model file "
                         f"may hold ({MAX_METADATA_BYTES}): keep extra small")
    return np.frombuffer(data, dtype=np.uint8)


def model_metadata(model: MLP, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able description of ``model`` that a model file stores: every layer in order
    (``layers``), the output head, and the constructor's settings for display."""
    cls = type(model).__name__
    if cls not in _CLASSES:
        # A subclass may add state we know nothing about: store it as the general network.
        cls = "MLP"
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "class": cls,
        "input_size": model.input_size,
        "hidden_sizes": list(model.hidden_sizes),
        "output_size": model.output_size,
        "activation": model.activation,
        "output": model.output,
        "loss": model.head.loss_name,
        "huber_delta": getattr(model.head, "delta", 1.0),
        "dropout": model.dropout,
        "batch_norm": model.batch_norm,
        "dtype": model.dtype.name,
        "init": model.init,
        "std": model.std,
        "seed": None if model.seed is None else int(model.seed),
        "rng_state": None if model.rng is None else model.rng.bit_generator.state,
        "layers": [layer.config() for layer in model.layers],
        "params": {name: list(p.shape) for name, p in model.params.items()},
        "stats": {name: list(a.shape) for name, a in model.state().items()},
        "extra": dict(extra or {}),
    }
    return meta


def _model_arrays(model: MLP) -> dict[str, np.ndarray]:
    """The arrays to save, after refusing what :func:`load` would refuse."""
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an mlp.MLP; got {type(model).__name__}")
    for layer in model.layers:
        if LAYER_TYPES.get(type(layer).__name__) is not type(layer):
            raise TypeError(f"cannot save a network with a {type(layer).__name__} layer: model "
                            f"files hold the library's layers only ({', '.join(LAYER_TYPES)})")
    for name, a in [*model.params.items(), *model.state().items()]:
        if not np.isfinite(a).all():
            raise ValueError(f"cannot save the model: {name} holds non-finite values (NaN or "
                             "inf)")
    arrays = {PARAMS + name: p for name, p in model.params.items()}
    arrays.update({STATS + name: a for name, a in model.state().items()})
    return arrays


def save(model: MLP, path: os.PathLike | str, *, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` (an ``.npz`` file, written atomically) and return the path.

    ``extra``: JSON-serialisable information kept with the model (read it back with
    :func:`load_metadata`). The file name is used as given; ``.npz`` is the usual suffix.
    """
    arrays = _model_arrays(model)
    arrays[META_KEY] = _json_bytes(model_metadata(model, extra))
    path = Path(path)
    _atomic_savez(path, arrays)
    return path


def save_checkpoint(
    path: os.PathLike | str,
    model: MLP,
    state: TrainState,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` and the resumable part of the training ``state`` to ``path``, atomically.

    Load it with :func:`load_checkpoint` and continue with ``model.train(..., resume=snapshot)``.
    """
    arrays = _model_arrays(model)
    state_meta, state_arrays = state.snapshot()
    arrays.update({STATE + key: value for key, value in state_arrays.items()})
    meta = model_metadata(model, extra)
    meta["training_state"] = state_meta
    arrays[META_KEY] = _json_bytes(meta)
    path = Path(path)
    _atomic_savez(path, arrays)
    return path


# -- reading ------------------------------------------------------------------------------------

# What np.load and the zip reader raise on a file that is not an npz archive, or a damaged one.
_READ_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


#: The most data a model file may hold, and its metadata alone: sizes are checked from the
#: archive's directory before anything is read.
MAX_MODEL_BYTES = 2 << 30
MAX_METADATA_BYTES = 64 << 20
#: Parsed JSON takes up to about this many times its text's size in Python objects.
JSON_COST = 24
_MEMBER = re.compile(r"metadata|params/[A-Za-z]+\d+|stats/[a-z_]+\d+|state/[\w./-]+")


def _check_archive(path: Path, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """Refuse what is not a plain model archive before reading anything from it: other kinds of
    file, unknown members, encrypted or compressed members, and sizes past the limits. Returns
    the members by name (without ``.npy``).

    The memory bound, the same for every reader: the members are stored as they are (``save``
    never compresses), so reading a model takes no more memory than its file's size (a door
    that bounds the size of what it is sent bounds the memory); the arrays and the parsed
    metadata must fit both ``max_bytes`` and the memory guard (:func:`mlp.memory.memory_cap`).
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, not a model file")
    if not stat.S_ISREG(path.stat().st_mode):
        raise ModelFileError(path, "not a regular file (a FIFO, socket or device)")
    with open(path, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            raise ModelFileError(path, "a single NumPy array, not an mlp model file")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError(path, "not a readable mlp model file (truncated, damaged or "
                                   f"another format: {exc})") from exc
    names = {info.filename.removesuffix(".npy"): info for info in infos}
    if META_KEY not in names:
        raise ModelFileError(path, "not an mlp model file (an .npz archive without a metadata "
                                   "entry)")
    unknown = [name for name in names if not _MEMBER.fullmatch(name)]
    if unknown:
        raise ModelFileError(path, f"not an mlp model file: it holds an unexpected member "
                                   f"{unknown[0]!r}")
    locked = [name for name, info in names.items() if info.flag_bits & 0x1]
    if locked:
        raise ModelFileError(path, f"not an mlp model file: its member {locked[0]!r} is "
                                   "encrypted (mlp.save never encrypts)")
    packed = [name for name, info in names.items() if info.compress_type != zipfile.ZIP_STORED]
    if packed:
        raise ModelFileError(path, f"not an mlp model file: its member {packed[0]!r} is "
                                   "compressed (mlp.save stores arrays as they are, so that "
                                   "reading a model costs no more memory than its size)")
    total, meta_size = sum(info.file_size for info in infos), names[META_KEY].file_size
    if total > max_bytes or meta_size > MAX_METADATA_BYTES:
        raise ModelFileError(path, f"too large: its members unpack to {total} bytes (metadata "
                                   f"{meta_size}); the limits are {max_bytes} and "
                                   f"{MAX_METADATA_BYTES}")
    cost = total + (JSON_COST - 1) * meta_size
    if cost > memory_cap():
        raise ModelFileError(path, f"too large: reading it needs about {human_bytes(cost)} of "
                                   f"memory, more than the {human_bytes(memory_cap())} "
                                   "available")
    return names


def _read(path: os.PathLike | str) -> tuple[Path, dict[str, Any], dict[str, np.ndarray]]:
    """The metadata, checked (``extra`` included), then the arrays: nothing is read from a file
    whose metadata is refused."""
    path = Path(path)
    names = _check_archive(path, MAX_MODEL_BYTES)
    try:
        with zipfile.ZipFile(path) as archive, archive.open(names[META_KEY]) as f:
            raw = np.lib.format.read_array(f, allow_pickle=False)
        meta = _decode_metadata(path, raw)
        check_extra(path, meta)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files if key != META_KEY}
    except _READ_ERRORS as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(
            path, f"not a readable mlp model file (truncated, damaged or another format: {exc})"
        ) from exc
    return path, meta, arrays


def _decode_metadata(path: Path, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(path, "not an mlp model file (its metadata entry is not JSON bytes)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(path, f"damaged metadata (not valid JSON: {exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(path, f"not an mlp model file (its metadata has no format {FORMAT!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            path,
            f"written in model format version {version!r}, but this version of mlp reads "
            f"versions up to {FORMAT_VERSION}: upgrade mlp",
        )
    if not isinstance(meta.get("extra", {}), dict):
        raise ModelFileError(path, f"damaged metadata: 'extra' must be a JSON object; got "
                                   f"{type(meta['extra']).__name__}")
    return meta


def _layer_configs(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers a model file describes; format 1 files list sizes and one activation."""
    if meta["version"] >= 2:
        layers = meta["layers"]
        if not isinstance(layers, list) or not all(isinstance(c, dict) for c in layers):
            raise TypeError("'layers' must be a list of layer descriptions")
        return layers
    sizes = [meta["input_size"], *meta["hidden_sizes"], meta["output_size"]]
    configs: list[dict[str, Any]] = []
    for k in range(1, len(sizes)):
        configs.append({"type": "Dense", "in_features": sizes[k - 1], "out_features": sizes[k]})
        if k < len(sizes) - 1:
            configs.append({"type": "Activation", "name": meta["activation"]})
    return configs


def _int(config: dict[str, Any], key: str) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{config['type']} {key} must be a positive integer; got {value!r}")
    return value


def _expected_arrays(configs: list[dict[str, Any]]) -> tuple[dict, dict]:
    """The parameter and running-statistic shapes that ``configs`` imply, by name."""
    params: dict[str, tuple[int, ...]] = {}
    stats: dict[str, tuple[int, ...]] = {}
    k = 0
    for config in configs:
        kind = config.get("type")
        if kind not in LAYER_TYPES:
            raise ValueError(f"unknown layer type {kind!r} (known: {', '.join(LAYER_TYPES)})")
        if kind == "Dense":
            k += 1
            d, m = _int(config, "in_features"), _int(config, "out_features")
            params.update({f"W{k}": (d, m), f"b{k}": (m,)})
        elif kind == "BatchNorm":
            f = _int(config, "features")
            params.update({f"gamma{max(k, 1)}": (f,), f"beta{max(k, 1)}": (f,)})
            stats.update({f"running_mean{max(k, 1)}": (f,), f"running_var{max(k, 1)}": (f,)})
    return params, stats


def _check_description(meta: dict[str, Any], configs: list[dict[str, Any]]) -> None:
    """The sizes and activations that the metadata states for display must be those of its
    layers: a file that says two things at once is damaged or crafted."""
    dense = [c for c in configs if c["type"] == "Dense"]
    if not dense:
        raise ValueError("no Dense layer")
    stated = {"input_size": meta["input_size"], "hidden_sizes": meta["hidden_sizes"],
              "output_size": meta["output_size"]}
    actual = {"input_size": dense[0]["in_features"],
              "hidden_sizes": [c["out_features"] for c in dense[:-1]],
              "output_size": dense[-1]["out_features"]}
    acts = [c.get("name") for c in configs if c["type"] == "Activation"]
    for name in acts:
        if name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}; "
                             f"got {name!r}")
    activation = meta["activation"]
    stated["activation"] = [activation] * len(acts) if isinstance(activation, str) else activation
    actual["activation"] = acts
    for key, value in stated.items():
        if value != actual[key]:
            raise ValueError(f"it disagrees with itself: {key} is {value!r}, its layers give "
                             f"{actual[key]!r}")


def _check_arrays(path: Path, found: dict[str, np.ndarray], expected: dict, dtype, what: str):
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected]
    if missing or unexpected:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(unexpected)}"] if unexpected else [])
        raise ModelFileError(path, f"its {what} disagree with its metadata: " + "; ".join(parts))
    for name, shape in expected.items():
        a = found[name]
        if a.shape != shape:
            raise ModelFileError(path, f"its {what} disagree with its metadata: {name} has shape "
                                       f"{a.shape}, the metadata says {shape}")
        if a.dtype != dtype:
            raise ModelFileError(path, f"its {what} disagree with its metadata: {name} is "
                                       f"{a.dtype}, the metadata says {dtype}")
        bad = np.size(a) - np.count_nonzero(np.isfinite(a))
        if bad:
            raise ModelFileError(path, f"damaged: {name} holds {bad} non-finite value(s) (NaN "
                                       "or inf); a model file holds finite numbers only")


def _make_layer(config: dict[str, Any], k: int, arrays: dict[str, np.ndarray]) -> Layer:
    kind = config["type"]
    if kind == "Dense":
        return Dense.from_arrays(arrays[f"{PARAMS}W{k}"], arrays[f"{PARAMS}b{k}"])
    if kind == "Activation":
        return Activation(config["name"])
    if kind == "Dropout":
        return Dropout(config["p"])
    layer = BatchNorm(_int(config, "features"), momentum=config.get("momentum", 0.1),
                      eps=config.get("eps", 1e-5))
    k = max(k, 1)
    layer.params = {"gamma": arrays[f"{PARAMS}gamma{k}"], "beta": arrays[f"{PARAMS}beta{k}"]}
    layer.state = {"running_mean": arrays[f"{STATS}running_mean{k}"],
                   "running_var": arrays[f"{STATS}running_var{k}"]}
    return layer


def _build(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> MLP:
    """The network ``meta`` describes, computing with the file's arrays. The arrays' names,
    shapes and dtypes are checked against the metadata before anything is built."""
    cls = _CLASSES.get(meta.get("class"))
    if cls is None:
        raise ModelFileError(
            path, f"unknown network class {meta.get('class')!r} (known: {', '.join(_CLASSES)})"
        )
    try:
        dtype = np.dtype(meta["dtype"])
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {dtype}")
        configs = _layer_configs(meta)
        expected_params, expected_stats = _expected_arrays(configs)
        _check_description(meta, configs)
    except (KeyError, TypeError, ValueError) as exc:
        problem = f"missing entry {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelFileError(path, f"its metadata describes no valid network ({problem})") from exc
    params = {key[len(PARAMS):]: a for key, a in arrays.items() if key.startswith(PARAMS)}
    stats = {key[len(STATS):]: a for key, a in arrays.items() if key.startswith(STATS)}
    _check_arrays(path, params, expected_params, dtype, "arrays")
    _check_arrays(path, stats, expected_stats, dtype, "running statistics")
    try:
        layers, k = [], 0
        for config in configs:
            k += config["type"] == "Dense"
            layers.append(_make_layer(config, k, arrays))
        model = cls.from_layers(layers, meta["output"], loss=meta.get("loss"),
                                huber_delta=meta.get("huber_delta", 1.0), seed=meta["seed"])
        for attr in ("activation", "init", "std", "dropout", "batch_norm"):
            if attr in meta:
                setattr(model, attr, meta[attr])
        if meta.get("rng_state") is not None and model.rng is not None:
            model.rng.bit_generator.state = meta["rng_state"]
    except (KeyError, TypeError, ValueError) as exc:
        problem = f"missing entry {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelFileError(path, f"its metadata describes no valid network ({problem})") from exc
    return model


def load(path: os.PathLike | str) -> MLP:
    """Read a model (or the model of a checkpoint) written by :func:`save`.

    Returns an :class:`mlp.MLP` or :class:`mlp.TwoLayerMLP` with exactly the saved parameters
    and settings. Raises FileNotFoundError, or :class:`ModelFileError` (a ValueError naming the
    file) for a file that is not a model, is truncated, or whose arrays disagree with its
    metadata.
    """
    path, meta, arrays = _read(path)
    return _build(path, meta, arrays)


def load_with_metadata(path: os.PathLike | str) -> tuple[MLP, dict[str, Any]]:
    """:func:`load` and :func:`load_metadata` in one reading of the file."""
    path, meta, arrays = _read(path)
    return _build(path, meta, arrays), meta


def load_metadata(path: os.PathLike | str) -> dict[str, Any]:
    """The metadata of a model file: the architecture, ``extra``, and for a checkpoint its
    ``training_state`` (epoch and history)."""
    return _read(path)[1]


def load_checkpoint(path: os.PathLike | str) -> tuple[MLP, Snapshot]:
    """Read a checkpoint written by :func:`save_checkpoint` or :class:`Checkpoint`.

    Returns ``(model, snapshot)``; continue the run with
    ``model.train(<same data and settings>, resume=snapshot)``.
    """
    path, meta, arrays = _read(path)
    state_meta = meta.get("training_state")
    if not isinstance(state_meta, dict):
        raise ModelFileError(path, "a model file, not a checkpoint (it holds no training state)")
    for key in ("epoch", "history", "rng"):
        if key not in state_meta:
            raise ModelFileError(path, f"damaged checkpoint: its training state lacks {key!r}")
    model = _build(path, meta, arrays)
    state_arrays = {key[len(STATE):]: a for key, a in arrays.items() if key.startswith(STATE)}
    return model, (state_meta, state_arrays)


# -- the entries of ``extra`` that readers compute with -------------------------------------------

#: What ``extra["input_max"]`` may be: the largest input value the model was trained on.
MAX_INPUT_MAX = 1e6
#: What a model without ``input_max`` was trained on: raw pixels 0-255.
DEFAULT_INPUT_MAX = 255.0
ESTIMATORS = ("MLPClassifier", "MLPRegressor")


def input_max(extra: Mapping[str, Any]) -> float:
    """The largest input value the model was trained on (checked by :func:`check_extra`)."""
    return float(extra.get("input_max", DEFAULT_INPUT_MAX))


def check_extra(path: os.PathLike | str, meta: Mapping[str, Any]) -> None:
    """Check the entries of a model file's ``extra`` that the library and its doors compute
    with, as strictly as a command's options (a file may be crafted): ``input_max``, a number in
    (0, 1e6]; ``image_shape``, two positive integers whose product is the input size;
    ``table`` (``mlp train --data``), its columns, task, classes and standardisation in the
    network's sizes; ``estimator`` (``MLPClassifier.save``), its kind, parameters and classes.
    Every reader of a model file calls it (``load``, ``load_metadata``, ``load_checkpoint``).
    Raises :class:`ModelFileError`."""
    extra, n_in = meta.get("extra") or {}, meta.get("input_size")
    head = (meta.get("output"), meta.get("output_size"))
    for key, check in (("input_max", _input_max_problem), ("image_shape", _shape_problem),
                       ("table", _table_problem), ("estimator", _estimator_problem)):
        if key in extra:
            problem = check(extra[key], n_in, head, extra)
            if problem:
                raise ModelFileError(path, f"damaged metadata: {problem}")


def _input_max_problem(value, n_in, head, extra) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            0 < value <= MAX_INPUT_MAX):
        return (f"input_max must be a number in (0, 1e6] (the largest input value the model was "
                f"trained on); got {value!r}")
    return None


def _shape_problem(shape, n_in, head, extra) -> str | None:
    if not (isinstance(shape, list) and len(shape) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)):
        return f"image_shape must be two positive integers; got {shape!r}"
    if shape[0] * shape[1] != n_in:
        return (f"image_shape {shape} holds {shape[0] * shape[1]} pixels, but the network reads "
                f"{n_in} inputs")
    return None


def _names_problem(what: str, names, count: int | None = None) -> str | None:
    if not (isinstance(names, list) and all(isinstance(n, str) and n for n in names)
            and len(set(names)) == len(names)):
        return f"{what} must be a list of distinct names"
    if count is not None and len(names) != count:
        return f"{what} names {len(names)}, but the network has {count}"
    return None


def _table_problem(table, n_in, head, extra) -> str | None:
    # Imported here: mlp.data loads the whole data package (downloads, IDX readers), which a
    # network that reads no table should not carry.
    from .data.standardize import Standardizer
    from .data.tabular import TASKS

    if not isinstance(table, dict):
        return "table must be a JSON object"
    if table.get("task") not in TASKS or not isinstance(table.get("target"), str):
        return "table must name its target and its task, classification or regression"
    problem = _names_problem("table features", table.get("features"), n_in)
    if problem:
        return problem
    regression = table["task"] == "regression"
    if not regression:
        problem = _names_problem("table classes", table.get("classes"))
        if problem or len(table["classes"]) < 2:
            return problem or "table classes must name at least 2 classes"
        if not _fits(len(table["classes"]), head):
            return (f"the table's {len(table['classes'])} classes do not fit the network's "
                    f"output ({head[0]}, {head[1]} units)")
    elif head != ("linear", 1):
        return "a regression table needs one linear output"
    try:
        Standardizer.from_dict(table.get("standardize"), n_in)
        if regression:
            Standardizer.from_dict(table.get("target_standardize"), 1)
    except (TypeError, ValueError) as exc:
        return f"table {exc}"
    return None


def _fits(n_classes: int, head: tuple) -> bool:
    """Whether a network's output (output, units) gives n classes: the head of
    :func:`mlp.losses.output_head`, or a softmax of n units (two-class models written before
    the rule gave them one sigmoid unit)."""
    return head in (output_head("classification", n_classes), ("softmax", n_classes))


def _estimator_problem(kind, n_in, head, extra) -> str | None:
    if kind not in ESTIMATORS or not isinstance(extra.get("params"), dict) or not isinstance(
            extra.get("fitted"), dict):
        return (f"estimator must be one of {', '.join(ESTIMATORS)}, with its params and fitted "
                "attributes")
    classes = extra["fitted"].get("classes_")
    if kind == "MLPClassifier" and not extra["fitted"].get("_multilabel"):
        if not isinstance(classes, list) or len(classes) < 2 or not _fits(len(classes), head):
            return (f"the classifier's classes_ {str(classes)[:60]} do not fit the network's "
                    f"output ({head[0]}, {head[1]} units)")
    return None
