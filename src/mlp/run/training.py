"""A training run as data, below every door: the network its settings describe (once it is
known to fit in memory), its training with the run's callbacks, and its outcome.

``mlp train`` is this with argparse and printing around it; ``mlp tune`` trains its trials and
the best one again with the same functions, in process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..training import Callback, DivergenceError
from .data import Splits
from .diagnosis import INPUT_SAMPLE, input_stats, weight_change
from .limits import check_fits, n_parameters, training_bytes
from .outcome import Diverged, Outcome, diverged, measure
from .settings import TrainSettings
from .values import show


def resumed(path: str):
    """(model, snapshot, the checkpoint's extra) of the checkpoint at ``path``."""
    from ..serialization import load_checkpoint, load_metadata

    model, snapshot = load_checkpoint(path)
    saved = load_metadata(path).get("extra") or {}
    if not isinstance(saved, dict) or "settings" not in saved:
        raise ValueError(f"{path}: a checkpoint without 'mlp train' settings; resume it from "
                         "Python with model.train(..., resume=...)")
    return model, snapshot, saved


def check_splits(s: TrainSettings, data: Splits) -> None:
    if s.early_stopping and not len(data.X_val):
        raise ValueError("--early-stopping watches the validation loss, but the validation "
                         f"split is empty (--val-size {show(s.val_size)})")


def build_model(s: TrainSettings, data: Splits):
    """The network the settings describe, once it is known to fit in memory."""
    from ..network import MLP

    sizes = [data.X.shape[1], *s.hidden, data.output_size]
    slots = {"sgd": 1 if s.momentum else 0, "adam": 2}.get(s.optimizer, 2)
    itemsize = 4 if s.dtype == "float32" else 8
    check_fits(f"--hidden {show(s.hidden) or 0}: a {'-'.join(map(str, sizes))} network of "
               f"{n_parameters(sizes):,} parameters in {s.dtype}",
               training_bytes(sizes, itemsize, min(s.batch_size, len(data.X)), slots))
    return MLP(sizes[0], s.hidden, sizes[-1], activation=s.activation, output=data.output,
               init=s.init, std=s.std, seed=s.seed, dtype=s.dtype, dropout=s.dropout,
               batch_norm=s.batch_norm)


def check_resumable(path: str, model, snapshot, s: TrainSettings, data: Splits) -> None:
    if model.input_size != data.X.shape[1]:
        raise ValueError(f"{path}: the model takes {model.input_size} inputs per example, but "
                         f"the data has {data.X.shape[1]}")
    done = snapshot[0]["epoch"]
    if done > s.epochs:
        raise ValueError(f"{path} has completed {done} epochs, more than --epochs {s.epochs}")


def describe_data(data: Splits) -> str:
    info = data.info
    sizes = f"{info['train']} train, {info['val']} val, {info['test']} test"
    if "dataset" in info:
        return f"{info['dataset']} ({sizes})"
    return f"{info['data']} (target {info['target']!r}, {info['task']}; {sizes})"


def run_training(model, s: TrainSettings, data: Splits, *, saved: dict | None = None,
                 snapshot=None, checkpoint: Path | None = None, progress: bool = False,
                 callbacks: Sequence[Callback] = ()) -> Outcome:
    """Train ``model`` on ``data`` as the settings say, with the run's callbacks (epoch log,
    unit activity, early stopping, a checkpoint after every epoch where ``checkpoint`` is
    given, a progress bar with ``progress``, then ``callbacks``); resumes from ``snapshot`` (a
    checkpoint's, with its ``saved`` extra). Returns the outcome: metrics (with the
    ``diagnostics`` ``mlp doctor`` reads: unit activity and the inputs' size), history, the
    model file's extra. A run that diverges raises :class:`~mlp.run.outcome.Diverged`, with
    the outcome of its epochs until then."""
    from ..callbacks import (
        ActivityMonitor,
        Checkpoint,
        EarlyStopping,
        EpochLog,
        ProgressBar,
        Watch,
    )

    saved = saved or {}
    options = s.train_options()
    schedule = options["schedule"]
    log = EpochLog(lambda t: s.lr * schedule(t), saved.get("epoch_log"))
    # Indexing reads the probe as the model does (scaled), which np.asarray would not.
    monitor = ActivityMonitor((data.X_val if len(data.X_val) else data.X)[:1000])
    monitor.history = saved.get("unit_activity", monitor.history)
    stopper = EarlyStopping("val_loss", patience=s.patience) if s.early_stopping else None

    def extra() -> dict[str, Any]:
        return {"settings": s.to_dict(), **data.extra, "data": data.info,
                "epoch_log": log.rows, "unit_activity": monitor.history}

    watch = Watch()
    run_callbacks = [watch, log, monitor, *([stopper] if stopper else [])]
    run_callbacks += [ProgressBar()] if progress else []
    run_callbacks += [Checkpoint(checkpoint, extra=extra)] if checkpoint is not None else []
    run_callbacks += list(callbacks)
    has_val = len(data.X_val) > 0
    diagnostics = {"inputs": input_stats(data.X[:INPUT_SAMPLE]), "unit_activity": monitor.history}
    # Where the weights started (a resumed run's start is not kept: it records no weight_change).
    start = None if snapshot is not None else {
        name: value.copy() for name, value in model.params.items() if name.startswith("W")}
    try:
        # NumPy's overflow warnings would only come before the line that says it diverged.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            stats = model.train(
                data.X, data.y, data.X_val if has_val else None, data.y_val if has_val else None,
                callbacks=run_callbacks, resume=snapshot, **options)
    except KeyboardInterrupt:
        if checkpoint is not None and checkpoint.exists():
            print(f"mlp: interrupted; continue with: mlp train --resume {checkpoint}",
                  file=sys.stderr)
        raise
    except DivergenceError as exc:
        state = watch.state
        history = state.history if state else {"loss_history": [], "grad_magnitude_history": []}
        outcome = diverged(model, exc, history, log.rows,
                           monitor.history, state.iterations if state else 1)
        _finish(outcome, s, extra(), diagnostics, resumed=snapshot is not None,
                moved=_moved(start, model))
        raise Diverged(exc, outcome) from None
    outcome = measure(model, stats, data, log.rows, monitor.history, stopper)
    _finish(outcome, s, extra(), diagnostics, resumed=snapshot is not None,
            moved=_moved(start, model))
    return outcome


def _moved(start: dict[str, np.ndarray] | None, model) -> dict[str, float] | None:
    """:func:`weight_change` from ``start`` (None for a resumed run: its start is not kept),
    its finite values."""
    if start is None:
        return None
    with np.errstate(all="ignore"):
        moved = weight_change(start, model.params)
    return {k: v for k, v in moved.items() if np.isfinite(v)}


def _finish(outcome: Outcome, s: TrainSettings, extra: dict[str, Any],
            diagnostics: dict[str, Any], resumed: bool, moved: dict[str, float] | None) -> None:
    if moved is not None:
        diagnostics["weight_change"] = moved
    outcome.extra.update(extra)
    outcome.metrics.update(settings=s.to_dict(), resumed=resumed, mlp_version=__version__,
                           diagnostics=diagnostics)


