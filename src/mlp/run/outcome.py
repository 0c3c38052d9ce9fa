"""What ``mlp train`` reports once training ends: the final scores, and the run's files; for a
run that diverged, what it recorded until then (:class:`Diverged`), which ``mlp doctor``
reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import accuracy, rmse
from ..training import DivergenceError
from .data import Splits
from .files import save_figure, write_csv, write_json
from .text import arch

ITERATION_FIELDS = ("iteration", "epoch", "loss", "grad_norm_W1")


@dataclass
class Outcome:
    """A finished training run: the model, its history, scores and what the files need."""

    model: Any
    stats: dict[str, list[float]]
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]  # history.csv, one per epoch
    activity: dict[str, list]  # unit activity per epoch
    extra: dict[str, Any] = field(default_factory=dict)  # for the model file
    confusion: np.ndarray | None = None  # on the test set, for classifiers
    class_names: list[str] | None = None
    image_shape: list[int] | None = None
    per_epoch: int | None = None  # iterations per epoch, where the epochs do not tell


class Diverged(DivergenceError):
    """A run's DivergenceError, with the outcome of the epochs before it (``outcome``: no
    scores; ``metrics["diverged"]`` says where it stopped)."""

    def __init__(self, exc: DivergenceError, outcome: Outcome) -> None:
        FloatingPointError.__init__(self, *exc.args)
        vars(self).update(vars(exc))  # epoch, iteration, cause, ...
        self.outcome = outcome


def diverged(model, exc: DivergenceError, stats, rows, activity, per_epoch: int) -> Outcome:
    """The outcome of a run stopped by ``exc``: its history until then, and where it stopped."""
    outcome = Outcome(model, stats, {}, rows, activity, per_epoch=per_epoch)
    outcome.metrics.update(
        diverged={"epoch": exc.epoch, "iteration": exc.iteration, "message": str(exc)},
        epochs=len(rows), train_seconds=round(sum(row["seconds"] for row in rows), 3),
        architecture=_architecture(model))
    return outcome


def measure(model, stats, data: Splits, rows, activity, stopper) -> Outcome:
    """Score the trained model on the three splits."""
    from ..metrics import confusion_matrix

    def score(X, y) -> float | None:
        return model.score(X, y) if len(X) else None

    outcome = Outcome(model, stats, {}, rows, activity,
                      image_shape=data.extra.get("image_shape"),
                      class_names=(data.extra.get("table") or {}).get("classes"))
    if model.head.task == "classification":
        pred = model.predict(data.X_test)
        outcome.confusion = confusion_matrix(data.y_test, pred, model.n_classes)
        outcome.metrics.update(train_accuracy=score(data.X, data.y),
                               val_accuracy=score(data.X_val, data.y_val),
                               test_accuracy=accuracy(data.y_test, pred))
    else:
        # R^2 is the same in standardised and original units; the RMSE is given in the latter.
        unit = data.extra["table"]["target_standardize"]["std"][0]
        outcome.metrics.update(train_r2=score(data.X, data.y), val_r2=score(data.X_val, data.y_val),
                               test_r2=score(data.X_test, data.y_test),
                               test_rmse=unit * rmse(data.y_test, model.predict(data.X_test)))
    metric = model.head.metric
    outcome.metrics.update(
        final_loss=stats["loss_history"][-1], epochs=len(stats[f"train_{metric}_history"]),
        train_seconds=round(sum(row["seconds"] for row in rows), 3),
        architecture=_architecture(model))
    if stopper is not None:
        outcome.metrics["early_stopping"] = {
            "best_epoch": stopper.best_epoch, "stopped_epoch": stopper.stopped_epoch,
            "best_val_loss": stopper.best, "patience": stopper.patience}
    return outcome


def _architecture(model) -> dict[str, Any]:
    return {"layer_sizes": model.layer_sizes, "activation": model.activation,
            "dropout": model.dropout, "batch_norm": model.batch_norm, "output": model.output,
            "init": model.init, "std": model.std, "dtype": model.dtype.name}


def scores(metrics: dict[str, Any]) -> dict[str, Any]:
    """The per-split scores among the metrics (kept in the model file too)."""
    return {k: v for k, v in metrics.items() if k.endswith(("_accuracy", "_r2", "_rmse"))}


def summary_line(outcome: Outcome) -> str:
    m = outcome.metrics

    def show(key: str) -> str:
        return "-" if m.get(key) is None else f"{m[key]:.4f}"

    if "test_accuracy" in m:
        text = (f"accuracy: train {show('train_accuracy')}, val {show('val_accuracy')}, "
                f"test {show('test_accuracy')}")
    else:
        text = (f"R^2: train {show('train_r2')}, val {show('val_r2')}, test {show('test_r2')}; "
                f"test RMSE {m['test_rmse']:.4g}")
    stop = m.get("early_stopping")
    if stop:
        text += (f"; early stopping kept epoch {stop['best_epoch']}"
                 + (f", stopped after {stop['stopped_epoch']}" if stop["stopped_epoch"] else ""))
    return text + f" (training {m['train_seconds']:.1f} s)"


def write_run(out: Path, outcome: Outcome, plots: bool, started: float) -> list[str]:
    """Write the run's files into ``out``; returns their names."""
    from ..serialization import save

    save(outcome.model, out / "model.npz",
         extra={**outcome.extra, "metrics": scores(outcome.metrics)})
    fields = list(dict.fromkeys(k for row in outcome.rows for k in row))
    write_csv(out / "history.csv", fields, outcome.rows)
    write_csv(out / "iterations.csv", ITERATION_FIELDS, _iterations(outcome))
    written = ["model.npz", "metrics.json", "history.csv", "iterations.csv"]
    if plots:
        written += _pictures(out, outcome)
    outcome.metrics["seconds_this_run"] = round(time.perf_counter() - started, 3)
    write_json(out / "metrics.json", outcome.metrics)
    return written


def write_diverged(out: Path, outcome: Outcome, started: float) -> list[str]:
    """Write what a diverged run recorded into ``out`` (no model: its parameters are those
    before the step that failed, not a trained network); returns the files' names."""
    fields = list(dict.fromkeys(k for row in outcome.rows for k in row)) or ["epoch", "loss"]
    write_csv(out / "history.csv", fields, outcome.rows)
    write_csv(out / "iterations.csv", ITERATION_FIELDS, _iterations(outcome))
    outcome.metrics["seconds_this_run"] = round(time.perf_counter() - started, 3)
    write_json(out / "metrics.json", outcome.metrics)
    return ["metrics.json", "history.csv", "iterations.csv"]


def _iterations(outcome: Outcome) -> list[dict[str, Any]]:
    stats = outcome.stats
    per_epoch = outcome.per_epoch or max(
        1, len(stats["loss_history"]) // max(1, outcome.metrics["epochs"]))
    return [{"iteration": i + 1, "epoch": i // per_epoch + 1, "loss": loss, "grad_norm_W1": g}
            for i, (loss, g) in enumerate(zip(stats["loss_history"],
                                              stats["grad_magnitude_history"], strict=True))]


def _pictures(out: Path, outcome: Outcome) -> list[str]:
    from ..viz import plot_confusion_matrix, plot_stats, plot_unit_activity, show_net_weights

    model, written = outcome.model, []
    if model.head.task == "classification":  # plot_stats draws accuracies
        save_figure(plot_stats(outcome.stats), out / "stats.png")
        written.append("stats.png")
    if outcome.image_shape is not None and len(outcome.image_shape) == 2:
        save_figure(show_net_weights(model, image_shape=outcome.image_shape),
                    out / "weights.png")
        written.append("weights.png")
    if outcome.confusion is not None:
        title = (f"Confusion matrix, test set (accuracy "
                 f"{outcome.metrics['test_accuracy']:.4f})")
        save_figure(plot_confusion_matrix(outcome.confusion, outcome.class_names, title=title),
                    out / "confusion_matrix.png")
        written.append("confusion_matrix.png")
    save_figure(plot_unit_activity(outcome.activity, title=f"Hidden units of the {arch(model)} "
                                   "network on validation images"), out / "unit_activity.png")
    return written + ["unit_activity.png"]
