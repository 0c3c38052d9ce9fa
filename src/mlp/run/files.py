"""Files the commands write: each atomically (complete under its name, or not there at all) and
at exactly the path given."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..atomic import write_atomic, write_text_atomic


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` itself: matplotlib would add ``.png`` to a name without a known
    suffix. The format follows the suffix where matplotlib knows it, else PNG."""
    suffix = path.suffix.lower().lstrip(".")
    fmt = suffix if suffix in fig.canvas.get_supported_filetypes() else "png"
    return write_atomic(path, lambda f: fig.savefig(f, format=fmt, dpi=100))


def write_csv(path: Path | None, fields: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """Rows as CSV text, written to ``path`` if given; returns the text."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if path is not None:
        write_text_atomic(path, buffer.getvalue())
    return buffer.getvalue()


def write_json(path: Path, data: Any) -> Path:
    """``data`` as JSON (:func:`json_text`)."""
    return write_text_atomic(path, json_text(data))


def json_text(data: Any) -> str:
    """``data`` as JSON text, NaN and infinities as null: strict JSON readers refuse them."""
    return json.dumps(_finite(data), indent=2, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
