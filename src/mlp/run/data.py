"""The data a command works on, loaded once per run and read the way the model expects.

Images stay uint8 in memory: as pixels divided by 255 (``input_max`` 1, the default) they are
read through :class:`~mlp.data.ScaledPixels`, a batch at a time; as raw 0-255 values
(``--no-scale``, ``input_max`` 255) the network converts each batch itself. Either way the
model file records ``input_max``, so that ``mlp evaluate`` and ``mlp predict`` feed it the same
values. A CSV table is split by the seed and standardised with the training split's statistics,
which the model file records with the column names and the classes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..data import SOURCES, ScaledPixels, Standardizer, load_dataset, read_csv, shuffle_split
from ..data.loaders import DEFAULT_N_VAL
from ..data.split import rows_of
from ..data.tabular import (
    encode_labels,
    parse_targets,
    read_csv_column,
    read_csv_features,
)
from ..losses import output_head
from .settings import TrainSettings
from .values import SettingsError

#: Validation images of a dataset without an entry in DEFAULT_N_VAL (MNIST's 10,000).
N_VAL = 10_000


class Splits(NamedTuple):
    """Training, validation and test sets, what the network's output must be, and what the
    model file records to read inputs the same way later (``extra``) and about the data
    (``info``, for metrics.json)."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    output: str
    output_size: int
    extra: dict[str, Any]
    info: dict[str, Any]


def load_training_data(s: TrainSettings, fetch: dict[str, Any]) -> Splits:
    """The run's data, loaded once. ``fetch``: download options given on the command line."""
    return _table_splits(s) if s.is_table else _image_splits(s, fetch)


# -- image sets -----------------------------------------------------------------------------------


def load_images(dataset: str, fetch: dict[str, Any]):
    """``load_dataset(dataset)`` as uint8 images, (N, rows, columns), all training images in
    ``X_train`` (the caller splits off the validation set)."""
    key = dataset.strip().lower().replace("_", "-")
    if key not in SOURCES and fetch:
        raise SettingsError(f"{', '.join(map(_flag, fetch))} applies to the downloadable "
                         f"datasets ({', '.join(SOURCES)}), not to {dataset!r}")
    return load_dataset(dataset, dtype=np.uint8, flatten=False, n_val=0, **fetch)


def _flag(name: str) -> str:
    return {"mirrors": "--mirror"}.get(name, "--" + name)


def val_count(dataset: str, val_size: int | float | None, n: int) -> int:
    """How many of n training images form the validation set."""
    if val_size is None:
        return DEFAULT_N_VAL.get(dataset.strip().lower().replace("_", "-"), N_VAL)
    try:
        return rows_of(n, val_size, "--val-size")
    except ValueError as exc:
        raise ValueError(f"--dataset {dataset}: {exc}") from None


def split_images(dataset: str, X_all: np.ndarray, val_size: int | float | None,
                 train_size: int | None = None):
    """(X, X_val) row ranges of the training images, checked to leave each split non-empty."""
    n = len(X_all)
    n_val = val_count(dataset, val_size, n)
    if n_val >= n:
        raise ValueError(f"--dataset {dataset} holds {n:,} training images, not more than the "
                         f"{n_val:,} kept for validation (--val-size): give a smaller "
                         "--val-size, or a dataset with more images")
    n_train = n - n_val
    if train_size is not None and train_size > n_train:
        raise ValueError(f"--train-size {train_size} is more than the {n_train:,} training "
                         f"images of {dataset} ({n:,} less {n_val:,} for validation)")
    return slice(0, train_size or n_train), slice(n_train, n)


def pixels(X: np.ndarray, input_max: float, dtype: str) -> np.ndarray:
    """uint8 images (N, ...) as rows (N, D) in [0, input_max], the way the model reads them."""
    rows = X.reshape(len(X), math.prod(X.shape[1:]))  # -1 cannot be inferred for 0 rows
    if input_max == 255.0:
        return rows  # the network converts each batch
    return ScaledPixels.wrap(rows, 255.0 / input_max, dtype)


def _image_splits(s: TrainSettings, fetch: dict[str, Any]) -> Splits:
    ds = load_images(s.dataset, fetch)
    if not len(ds.X_test):
        raise ValueError(f"--dataset {s.dataset} holds no test images")
    train, val = split_images(s.dataset, ds.X_train, s.val_size, s.train_size)
    input_max = 1.0 if s.scale else 255.0
    image_shape = list(ds.X_train.shape[1:])

    def rows(X):
        return pixels(X, input_max, s.dtype)

    info = {"dataset": s.dataset, "train": train.stop - train.start,
            "val": val.stop - val.start, "test": len(ds.X_test), "image_shape": image_shape}
    return Splits(rows(ds.X_train[train]), ds.y_train[train], rows(ds.X_train[val]),
                  ds.y_train[val], rows(ds.X_test), ds.y_test, *output_head("classification", 10),
                  {"input_max": input_max, "image_shape": image_shape}, info)


# -- CSV tables -----------------------------------------------------------------------------------


def _table_splits(s: TrainSettings) -> Splits:
    table = read_csv(s.data, s.target, features=s.features, task=s.task)
    try:
        train, val, test = shuffle_split(len(table.X), s.val_size, s.test_size, s.seed)
    except ValueError as exc:
        raise ValueError(f"--data {s.data}: {exc} (--val-size {s.val_size}, --test-size "
                         f"{s.test_size})") from None
    if not len(test):
        raise ValueError(f"--data {s.data}: the test split is empty (--test-size "
                         f"{s.test_size} of {len(table.X)} rows)")
    if s.train_size is not None:
        if s.train_size > len(train):
            raise ValueError(f"--train-size {s.train_size} is more than the {len(train):,} "
                             f"training rows of {s.data}")
        train = train[: s.train_size]
    scaler = Standardizer.fit(table.X[train])
    regression = table.task == "regression"
    target = Standardizer.fit(table.y[train, None]) if regression else None
    record = {"file": os.fspath(s.data), "features": table.features, "target": table.target,
              "task": table.task, "classes": table.classes,
              "standardize": scaler.to_dict(),
              "target_standardize": target.to_dict() if target else None}

    def part(rows):
        y = table.y[rows]
        y = target.transform(y[:, None])[:, 0] if target else y
        return scaler.transform(table.X[rows], s.dtype), y

    (X, y), (X_val, y_val), (X_test, y_test) = part(train), part(val), part(test)
    info = {"data": os.fspath(s.data), "target": table.target, "task": table.task,
            "features": len(table.features), "classes": table.classes, "train": len(train),
            "val": len(val), "test": len(test)}
    output, size = output_head(table.task, 1 if regression else len(table.classes))
    return Splits(X, y, X_val, y_val, X_test, y_test, output, size, {"table": record}, info)


class TableModel(NamedTuple):
    """What a model trained on a CSV table needs to read another: its ``extra["table"]``."""

    features: list[str]
    target: str
    task: str
    classes: list[str] | None
    scaler: Standardizer
    target_scaler: Standardizer | None

    @classmethod
    def from_extra(cls, record: dict[str, Any], n_features: int) -> TableModel:
        """``record``: as read from a model file, so already checked
        (:func:`mlp.serialization.check_extra`)."""
        ts = record.get("target_standardize") if record["task"] == "regression" else None
        return cls(list(record["features"]), record["target"], record["task"],
                   record.get("classes"), Standardizer.from_dict(record["standardize"], n_features),
                   Standardizer.from_dict(ts, 1) if ts else None)

    def features_of(self, path: str, dtype) -> np.ndarray:
        """The model's inputs from a CSV file: its columns by name, standardised."""
        return self.scaler.transform(read_csv_features(path, self.features), dtype)

    def targets_of(self, path: str, column: str) -> np.ndarray:
        """The file's targets in the model's terms: class indices, or values (unscaled)."""
        labels = read_csv_column(path, column)
        if self.task == "classification":
            return encode_labels(path, column, labels, self.classes)
        return parse_targets(path, column, labels)

    def values(self, scores: np.ndarray) -> np.ndarray:
        """Regression predictions in the target's units, from the network's outputs."""
        return self.target_scaler.mean[0] + self.target_scaler.std[0] * scores.reshape(-1)

    def names(self, labels: Sequence[int]) -> list[str]:
        return [self.classes[i] for i in labels]
