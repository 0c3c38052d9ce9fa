"""Your own 2-D data: a CSV table of two numeric feature columns and a label or target column.

The text is checked line by line (errors name the line, the column, what was expected and what
was given) and kept within a size limit. The features are mapped onto the page's square, each
to [-5, 5]; a regression's target to [-1, 1]. A label column of at most five distinct values
that are not all numbers, or whole numbers, is a classification.
"""

from __future__ import annotations

import csv
import io
from typing import NamedTuple

import numpy as np

from ..data.tabular import finite_number
from .datasets import RADIUS

MAX_BYTES = 1 << 20
MAX_ROWS = 5000
MIN_ROWS = 10
MAX_CLASSES = 5


class UploadError(ValueError):
    """A CSV file the page cannot use; the message says where and why."""


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


def _rows(text: str) -> tuple[tuple[str, str, str], list[tuple[int, list[str]]]]:
    """The header (given, or x1, x2, label) and the data rows with their line numbers."""
    rows = [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text)), start=1)
            if any(cell.strip() for cell in row)]
    if not rows:
        raise UploadError("the file is empty: expected a CSV table of two numeric feature "
                          "columns and a label or target column")
    for line, row in rows:
        if len(row) != 3:
            raise UploadError(f"line {line}: expected 3 columns (two numeric features and a "
                              f"label or target); got {len(row)}: {','.join(row)[:80]!r}")
    first = [cell.strip() for cell in rows[0][1]]
    if finite_number(first[0]) is None or finite_number(first[1]) is None:
        return (first[0], first[1], first[2]), rows[1:]
    return ("x1", "x2", "label"), rows


def parse_csv(text: str) -> Upload:
    """Check and convert a CSV table (see the module's docstring)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise UploadError(f"the file is too large: expected at most {MAX_BYTES // 1024} KiB; "
                          f"got {len(text.encode('utf-8', 'surrogatepass')) // 1024} KiB")
    names, rows = _rows(text)
    if not MIN_ROWS <= len(rows) <= MAX_ROWS:
        raise UploadError(f"expected {MIN_ROWS} to {MAX_ROWS} data rows; got {len(rows)}")
    X = np.empty((len(rows), 2))
    for r, (line, row) in enumerate(rows):
        for c in range(2):
            value = finite_number(row[c].strip())
            if value is None:
                raise UploadError(f"line {line}, column {c + 1} ({names[c]!r}): expected a "
                                  f"finite number; got {row[c].strip()!r}")
            X[r, c] = value
    raw = [row[2].strip() for _, row in rows]
    task, y, labels = _targets(raw, rows, names[2])
    return Upload(_to_square(X), y, task, len(labels), names, labels)


def _targets(raw: list[str], rows, name: str):
    values = [finite_number(t) for t in raw]
    distinct = sorted(set(raw), key=lambda t: (finite_number(t) is None, finite_number(t) or 0, t))
    numeric = all(v is not None for v in values)
    whole = numeric and all(float(v).is_integer() for v in values)
    if not numeric or (whole and len(distinct) <= MAX_CLASSES):
        if not 2 <= len(distinct) <= MAX_CLASSES:
            raise UploadError(f"column 3 ({name!r}): expected 2 to {MAX_CLASSES} distinct "
                              f"labels, or numbers for a regression; got {len(distinct)} "
                              f"distinct labels ({', '.join(distinct[:8])[:80]})")
        index = {label: k for k, label in enumerate(distinct)}
        return "classification", np.array([index[t] for t in raw], np.int64), tuple(distinct)
    y = np.array(values, dtype=np.float64)
    lo, hi = float(y.min()), float(y.max())
    if hi == lo:
        raise UploadError(f"column 3 ({name!r}): expected a target that varies; every row "
                          f"holds {lo:g}")
    return "regression", (2 * y - (lo + hi)) / (hi - lo), ()


def _to_square(X: np.ndarray) -> np.ndarray:
    """Each column mapped linearly onto [-5, 5] (a constant column onto 0)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return RADIUS * (2 * (X - lo) / span - 1) * (hi > lo)
