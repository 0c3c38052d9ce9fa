"""Your own 2-D data: a CSV table of two numeric feature columns and a label or target column.

The table is read by the library's one CSV reader (:func:`mlp.data.read_csv`, on the upload's
text), so it needs what ``mlp train --data`` needs (a header row naming the columns), the task
is the one every door gives the same target (:func:`mlp.data.target_task`), and a bad file gets
the same message. On top come the page's own limits: two feature columns (the page's square),
a size and row count it can draw, and at most as many classes as it has colours. The features
are mapped onto the square, each to [-5, 5]; a regression's target to [-1, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..data import DataFileError, read_csv
from .datasets import RADIUS

MAX_BYTES = 1 << 20
MAX_ROWS = 5000
MIN_ROWS = 10
#: The colours of the page's classes (app.js CLASS_COLOURS).
MAX_CLASSES = 10


class Upload(NamedTuple):
    """A checked upload. X: (N, 2) in the page's square; y: (N,) int64 labels in [0, classes)
    or float64 targets in [-1, 1]; names: the three columns' names; labels: the original label
    of each class (classification)."""

    X: np.ndarray
    y: np.ndarray
    task: str
    classes: int
    names: tuple[str, str, str]
    labels: tuple[str, ...]


def parse_csv(text: str, name: str = "upload.csv") -> Upload:
    """Read and check an uploaded CSV table (see the module's docstring); ``name`` is the
    file's name, for messages. The last column is the target."""
    table = read_csv(name, None, text=text, max_bytes=MAX_BYTES)
    if len(table.features) != 2:
        raise DataFileError(name, f"expected 3 columns (two numeric features and a label or "
                          f"target); got {len(table.features) + 1}")
    if not MIN_ROWS <= len(table.X) <= MAX_ROWS:
        raise DataFileError(name, f"expected {MIN_ROWS} to {MAX_ROWS} data rows; got "
                          f"{len(table.X)}")
    names = (*table.features, table.target)
    if table.task == "regression":
        lo, hi = float(table.y.min()), float(table.y.max())
        return Upload(_to_square(table.X), (2 * table.y - (lo + hi)) / (hi - lo), table.task,
                      0, names, ())
    if len(table.classes) > MAX_CLASSES:
        raise DataFileError(name, f"the target {table.target!r} has {len(table.classes)} "
                          f"classes; the page draws at most {MAX_CLASSES}")
    return Upload(_to_square(table.X), table.y, table.task, len(table.classes), names,
                  tuple(table.classes))


def _to_square(X: np.ndarray) -> np.ndarray:
    """Each column mapped linearly onto [-5, 5] (a constant column onto 0)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return RADIUS * (2 * (X - lo) / span - 1) * (hi > lo)
