"""A run folder's diagnosis: what ``mlp train`` wrote there (metrics.json, history.csv,
iterations.csv) read back into a :class:`~mlp.run.diagnosis.Record`, its findings, and the
line that names them at the end of a run.

A folder written before the diagnostics were recorded (no ``diagnostics`` in metrics.json, or
no iterations.csv) gets the findings its files allow.
"""

from __future__ import annotations

import csv
import json
import math
import shlex
from pathlib import Path
from typing import Any

from .diagnosis import Finding, Record, diagnose


def examine(folder: str | Path) -> list[Finding]:
    """The findings of the run in ``folder``; ValueError if it is not a readable run folder."""
    return diagnose(read_run(folder))


def doctor_line(findings: list[Finding], folder: str | Path) -> str | None:
    """One line naming the findings and the command that explains them; None for a healthy
    run."""
    kinds = [f.kind for f in findings if f.kind != "healthy"]
    if not kinds:
        return None
    return (f"doctor: {', '.join(kinds)}; for the numbers and what to try: "
            f"mlp doctor {shlex.quote(str(folder))}")


def read_run(folder: str | Path) -> Record:
    """What the run in ``folder`` recorded. ValueError, naming the file, if the folder is
    missing, holds no run, or a file is not what ``mlp train`` writes."""
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"{folder}: {'not a folder' if path.exists() else 'no such folder'}; "
                         "give the folder a run of mlp train wrote (its --out)")
    if not (path / "metrics.json").is_file():
        raise ValueError(f"{folder}: not a run folder (no metrics.json); give the folder a run "
                         "of mlp train wrote (its --out)")
    metrics = _read_metrics(path / "metrics.json")
    _check_metrics(metrics, path / "metrics.json")
    rows = _read_table(path / "history.csv", ("epoch", "loss"))
    iterations = (_read_table(path / "iterations.csv", ("loss",))
                  if (path / "iterations.csv").exists() else [])
    return _record(metrics, rows, iterations)


def _record(m: dict[str, Any], rows: list[dict[str, float]],
            iterations: list[dict[str, float]]) -> Record:
    regression = "train_r2" in m or any("train_r2" in row for row in rows)
    metric = "r2" if regression else "acc"
    architecture = m.get("architecture") or {}
    sizes = architecture.get("layer_sizes") or []
    activation = architecture.get("activation", "relu")
    units = list(sizes[1:-1])
    diagnostics = m.get("diagnostics") or {}
    return Record(
        losses=[row["loss"] for row in iterations],
        epoch_losses=[row["loss"] for row in rows],
        val_losses=[row["val_loss"] for row in rows if "val_loss" in row],
        metric=metric,
        train_score=_number(m.get("train_r2" if regression else "train_accuracy")),
        val_score=_number(m.get("val_r2" if regression else "val_accuracy")),
        activations=activation if isinstance(activation, list) else [activation] * len(units),
        units=units, outputs=sizes[-1] if len(sizes) > 1 else None,
        activity=diagnostics.get("unit_activity"), inputs=diagnostics.get("inputs"),
        moved=diagnostics.get("weight_change"), diverged=m.get("diverged"),
        settings=m.get("settings") or {})


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _read_metrics(path: Path) -> dict[str, Any]:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not the JSON mlp train writes ({exc})") from None
    if not isinstance(metrics, dict):
        raise ValueError(f"{path}: not the JSON mlp train writes (not an object)")
    return metrics


def _check_metrics(m: dict[str, Any], path: Path) -> None:
    """The entries the diagnosis reads have the shape ``mlp train`` writes, where present."""
    for key in ("settings", "architecture", "diverged", "diagnostics"):
        if m.get(key) is not None and not isinstance(m[key], dict):
            raise ValueError(f"{path}: not the JSON mlp train writes ({key!r} is not an object)")
    sizes = (m.get("architecture") or {}).get("layer_sizes")
    if sizes is not None and not (isinstance(sizes, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in sizes)):
        raise ValueError(f"{path}: not the JSON mlp train writes (architecture.layer_sizes)")
    diagnostics = m.get("diagnostics") or {}
    activity = diagnostics.get("unit_activity")
    for key in ("inputs", "weight_change"):
        value = diagnostics.get(key)
        if value is not None and not (isinstance(value, dict) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value.values())):
            raise ValueError(f"{path}: not the JSON mlp train writes (diagnostics.{key})")
    if activity is not None and not _is_activity(activity):
        raise ValueError(f"{path}: not the JSON mlp train writes (diagnostics.unit_activity)")


def _is_activity(activity: Any) -> bool:
    """An ActivityMonitor's history: per epoch, a fraction (or null) per hidden layer."""
    if not isinstance(activity, dict):
        return False
    dead, saturated = activity.get("dead"), activity.get("saturated")
    if not (isinstance(dead, list) and isinstance(saturated, list)
            and len(dead) == len(saturated)):
        return False
    return all(isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
               and all(v is None or isinstance(v, int | float) for v in a + b)
               for a, b in zip(dead, saturated, strict=True))


def _read_table(path: Path, needed: tuple[str, ...]) -> list[dict[str, float]]:
    """A CSV file of numbers (empty cells left out), with at least the ``needed`` columns."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            rows = [{k: float(v) for k, v in row.items() if k is not None and v not in ("", None)}
                    for row in reader]
    except FileNotFoundError:
        raise ValueError(f"{path.parent}: not a run folder (no {path.name})") from None
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise ValueError(f"{path}: not the CSV mlp train writes ({exc})") from None
    missing = [name for name in needed if name not in fields]
    if missing:
        raise ValueError(f"{path}: not the CSV mlp train writes (no column "
                         f"{', '.join(missing)})")
    if any(name not in row for row in rows for name in needed):
        raise ValueError(f"{path}: not the CSV mlp train writes (a row without "
                         f"{', '.join(needed)})")
    return rows
