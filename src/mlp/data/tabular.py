"""Tables of your own: a CSV file with a header row, numeric feature columns and a target column.

>>> table = read_csv("houses.csv", target="price")        # task chosen from the target
>>> table.X, table.y, table.features, table.task, table.classes

This is the one reader of tables for every door: ``mlp train`` reads the file by its path, the
playground reads an upload's text (``text=``), and both get the same table, task and errors.
The task of a target is :func:`target_task`'s; the output layer it gets is
:func:`mlp.losses.output_head`'s.

Every problem with the file's content raises :class:`~mlp.data.DataFileError` (a ValueError)
whose message starts with the path and names the line of the file and the column: an empty
file, a missing header, a row with the wrong number of fields, a missing or non-numeric value, a
missing target column, a file larger than the cap.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .idx import DataFileError

#: The largest CSV file read (a table of numbers takes about 4 times its size in memory).
MAX_CSV_BYTES = 50_000_000
#: A numeric target of whole numbers with at most this many distinct values is a class label.
MAX_INTEGER_LEVELS = 20
#: More distinct labels than this is not a classification problem this library can learn.
MAX_CLASSES = 1_000
TASKS = ("classification", "regression")


class Table(NamedTuple):
    """A CSV table read for learning.

    X: (N, D) float64 features, in the order of ``features`` (the column names); y: (N,) int64
    class indices into ``classes`` for classification, float64 values for regression, or None
    when the file was read for prediction; target: the target column's name; task:
    'classification' or 'regression'; classes: the class labels as written in the file.
    """

    X: np.ndarray
    y: np.ndarray | None
    features: list[str]
    target: str | None
    task: str | None
    classes: list[str] | None


def read_csv(path: os.PathLike | str, target: str | None, *,
             features: Sequence[str] | None = None, task: str | None = None,
             max_bytes: int = MAX_CSV_BYTES, text: str | None = None) -> Table:
    """Read a CSV file whose first row names the columns: ``target`` is the column to learn
    (None: the last column), ``features`` the numeric columns to learn it from (default: every
    other column). ``text``: the file's content, already in memory (an upload); ``path`` then
    only names it in messages.

    The task is ``task`` if given, else :func:`target_task`'s. Classes are sorted, numerically
    where they are numbers.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}; got {task!r}")
    path, header, rows = _open_rows(path, max_bytes, text)
    target = header[-1] if target is None else target
    if target not in header:
        raise DataFileError(path, f"no column {target!r} to learn (the columns are "
                                  f"{_names(header)})")
    if features is None:
        features = [name for name in header if name != target]
    features = list(features)
    position = {name: i for i, name in enumerate(header)}
    _check_features(path, position, header, features, target)
    if not features:
        raise DataFileError(path, f"the target {target!r} is the only column: there are no "
                                  "features to learn from")
    columns = [position[name] for name in features]
    X, labels = _parse(path, header, rows, columns, position[target])
    y, task, classes = _encode_target(path, target, labels, task)
    return Table(X, y, features, target, task, classes)


def _check_features(path: Path, position: dict[str, int], header: list[str],
                    features: list[str], target: str) -> None:
    for name in features:
        if name not in position:
            raise DataFileError(path, f"no column {name!r} among the features (the columns are "
                                      f"{_names(header)})")
        if name == target:
            raise DataFileError(path, f"the target {target!r} cannot be a feature too")
    if len(set(features)) != len(features):
        raise DataFileError(path, "a feature column is named twice")


def read_csv_features(path: os.PathLike | str, features: Sequence[str], *,
                      max_bytes: int = MAX_CSV_BYTES) -> np.ndarray:
    """The columns ``features`` of a CSV file, matched by name (other columns are ignored), as
    (N, len(features)) float64."""
    path, header, rows = _open_rows(path, max_bytes)
    position = {name: i for i, name in enumerate(header)}
    missing = [name for name in features if name not in position]
    if missing:
        raise DataFileError(path, f"no column {missing[0]!r}, which the model needs (it reads "
                                  f"{_names(features)}; the file has {_names(header)})")
    X, _ = _parse(path, header, rows, [position[name] for name in features], None)
    return X


def read_csv_column(path: os.PathLike | str, column: str, *,
                    max_bytes: int = MAX_CSV_BYTES) -> list[str]:
    """The raw text of one column of a CSV file (to compare with a model's targets)."""
    path, header, rows = _open_rows(path, max_bytes)
    if column not in header:
        raise DataFileError(path, f"no column {column!r} (the columns are {_names(header)})")
    _, labels = _parse(path, header, rows, [], header.index(column))
    return labels


def encode_labels(path: os.PathLike | str, column: str, labels: Sequence[str],
                  classes: Sequence[str]) -> np.ndarray:
    """Class indices (N,) int64 of ``labels`` in ``classes``; an unknown label is an error
    naming its data row."""
    index = {name: i for i, name in enumerate(classes)}
    numeric = {finite_number(name): i for i, name in enumerate(classes)} if all(
        finite_number(name) is not None for name in classes) else {}
    out = np.empty(len(labels), np.int64)
    for row, label in enumerate(labels):
        i = index.get(label, numeric.get(finite_number(label)) if numeric else None)
        if i is None:
            raise DataFileError(path, f"data row {row + 1}, column {column!r}: label {label!r} "
                                      f"is not one of the model's classes ({_names(classes)})")
        out[row] = i
    return out


#: The largest magnitude a feature or a regression target may have: a value's square (in the
#: standardisation's variance, in the squared error) must stay finite in float64 (1.8e308).
MAX_MAGNITUDE = 1e150


def parse_targets(path: os.PathLike | str, column: str, labels: Sequence[str]) -> np.ndarray:
    """Regression targets (N,) float64 from a column's text; a non-number, or one beyond
    ``MAX_MAGNITUDE``, is an error naming its row."""
    values = [finite_number(label) for label in labels]
    for row, value in enumerate(values):
        if value is None:
            raise DataFileError(path, f"data row {row + 1}, column {column!r}: "
                                      f"{_not_a_number(labels[row])}")
        if abs(value) > MAX_MAGNITUDE:
            raise DataFileError(path, f"data row {row + 1}, column {column!r}: "
                                      f"{_too_large(labels[row])}")
    return np.array(values, dtype=np.float64)


def _too_large(text: str) -> str:
    return (f"{text.strip()!r} is beyond ±{MAX_MAGNITUDE:g}, where its square overflows "
            "float64 (the standardisation and the squared error would be inf): rescale the "
            "column")


# -- reading -------------------------------------------------------------------------------------


class _Rows(NamedTuple):
    """The data rows of a CSV file: each with the line of the file it starts on."""

    lines: list[int]
    cells: list[list[str]]


def _open_rows(path: os.PathLike | str, max_bytes: int,
               text: str | None = None) -> tuple[Path, list[str], _Rows]:
    path = Path(path)
    if text is None:
        _check_file(path, max_bytes)
    else:
        _check_size(path, len(text.encode("utf-8", "surrogatepass")), max_bytes)
    try:
        with (path.open(newline="", encoding="utf-8-sig") if text is None
              else io.StringIO(text.removeprefix("\ufeff"), newline="")) as f:
            reader = csv.reader(f)
            header = [name.strip() for name in next(reader, [])]
            lines, cells = [], []
            for row in reader:
                if row and any(cell.strip() for cell in row):  # blank lines are not rows
                    lines.append(reader.line_num)
                    cells.append(row)
    except UnicodeDecodeError as exc:
        raise DataFileError(path, f"not UTF-8 text (byte {exc.start} of a line cannot be "
                                  "decoded); save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise DataFileError(path, f"not a readable CSV file ({exc})") from None
    _check_header(path, header)
    if not cells:
        raise DataFileError(path, "a header row but no data rows")
    return path, header, _Rows(lines, cells)


def _check_file(path: Path, max_bytes: int) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise DataFileError(path, "not a regular file (a folder, FIFO or device)")
    _check_size(path, info.st_size, max_bytes)


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DataFileError(path, f"{size:,} bytes, more than the {max_bytes:,} bytes "
                                  "read from a CSV file")
    if size == 0:
        raise DataFileError(path, "empty file: a CSV file needs a header row naming the "
                                  "columns, then one row per example")


def _check_header(path: Path, header: list[str]) -> None:
    if not any(header):
        raise DataFileError(path, "empty file: a CSV file needs a header row naming the "
                                  "columns, then one row per example")
    if all(finite_number(name) is not None for name in header):
        raise DataFileError(path, f"line 1 must name the columns, but it holds numbers "
                                  f"({', '.join(header[:4])}{', ...' if len(header) > 4 else ''})"
                                  ": add a header row")
    seen: set[str] = set()  # a set: a header of 100,000 columns is checked in linear time
    for i, name in enumerate(header):
        if not name:
            raise DataFileError(path, f"line 1: column {i + 1} has no name")
        if name in seen:
            raise DataFileError(path, f"line 1: two columns are named {name!r}")
        seen.add(name)


def _parse(path: Path, header: list[str], rows: _Rows, columns: list[int],
           target: int | None) -> tuple[np.ndarray, list[str]]:
    """Features (N, len(columns)) float64 and the target column's text (empty if None)."""
    values = array("d")  # 8 bytes a number, not a Python float's 32
    labels: list[str] = []
    for row, (line, cells) in enumerate(zip(rows.lines, rows.cells, strict=True)):
        if len(cells) != len(header):
            raise DataFileError(path, f"line {line} (data row {row + 1}) has {len(cells)} "
                                      f"fields, the header {len(header)}")
        for j in columns:
            value = finite_number(cells[j])
            if value is None or abs(value) > MAX_MAGNITUDE:
                why = _not_a_number(cells[j]) if value is None else _too_large(cells[j])
                raise DataFileError(path, f"line {line} (data row {row + 1}), column "
                                          f"{header[j]!r}: {why}")
            values.append(value)
        if target is not None:
            label = cells[target].strip()
            if not label:
                raise DataFileError(path, f"line {line} (data row {row + 1}), column "
                                          f"{header[target]!r}: the target value is missing")
            labels.append(label)
    X = np.frombuffer(values, dtype=np.float64).reshape(len(rows.cells), len(columns))
    return X.copy(), labels


def target_task(path: os.PathLike | str, column: str, labels: Sequence[str]) -> str:
    """The task a target column asks for, the one rule of every door.

    - labels that are all text (not numbers): a classification;
    - whole numbers with at most MAX_INTEGER_LEVELS distinct values (digits 0-9, ratings 1-5,
      a 0/1 flag): a classification;
    - other numbers: a regression;
    - numbers and text mixed: an error naming the first text value (a stray "n/a" in a column
      of numbers is a mistake in the file, not a class; give the task to read it anyway).
    """
    numbers = [finite_number(label) for label in labels]
    numeric = [v is not None for v in numbers]
    if not any(numeric):
        return "classification"
    if not all(numeric):
        row = numeric.index(False)
        raise DataFileError(path, f"data row {row + 1}, column {column!r}: "
                                  f"{_not_a_number(labels[row])}, but the column's other values "
                                  "are numbers (fix the value, or say the task: "
                                  "classification reads every value as a label)")
    whole = all(float(v).is_integer() for v in numbers)
    return "classification" if whole and len(set(numbers)) <= MAX_INTEGER_LEVELS else "regression"


def _encode_target(path: Path, target: str, labels: list[str],
                   task: str | None) -> tuple[np.ndarray, str, list[str] | None]:
    task = target_task(path, target, labels) if task is None else task
    numbers = [finite_number(label) for label in labels]
    numeric = all(v is not None for v in numbers)
    if task == "regression":
        y = parse_targets(path, target, labels)
        if y.min() == y.max():
            raise DataFileError(path, f"the target {target!r} holds {y[0]:g} in every row: "
                                      "there is nothing to learn")
        return y, task, None
    names = _class_names(labels, numbers if numeric else None)
    if len(names) < 2:
        raise DataFileError(path, f"the target {target!r} has a single value, {names[0]!r}: "
                                  "there is nothing to classify")
    if len(names) > MAX_CLASSES:
        raise DataFileError(path, f"the target {target!r} has {len(names):,} distinct labels, "
                                  f"more than {MAX_CLASSES:,}; for numbers, use --task "
                                  "regression")
    return encode_labels(path, target, labels, names), task, names


def _class_names(labels: list[str], numbers: list[float] | None) -> list[str]:
    """Distinct labels, sorted; numeric labels by value and written canonically (1.0 -> 1)."""
    if numbers is None:
        return sorted(set(labels))
    return [str(int(v)) if v.is_integer() else repr(v) for v in sorted(set(numbers))]


def finite_number(text: str) -> float | None:
    """The finite number ``text`` holds, or None (empty, not a number, NaN or infinite)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _not_a_number(cell: str) -> str:
    text = cell.strip()
    if not text:
        return "the value is missing"
    try:
        float(text)
    except ValueError:
        return f"{text!r} is not a number"
    return f"{text!r} is not a finite number"


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(map(repr, names[:limit]))
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
