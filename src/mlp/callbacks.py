"""Callbacks: extras that hook into the training loop (see :class:`mlp.training.Callback`).

``train`` calls ``on_train_begin``, ``on_batch_end``, ``on_epoch_end`` and ``on_train_end`` with
the run's :class:`~mlp.training.TrainState`, which is current before every hook. A callback ends
the run by setting ``state.stop = True``::

    from mlp.callbacks import Checkpoint, EarlyStopping, ProgressBar
    net.train(X, y, X_val, y_val, callbacks=[EarlyStopping("val_loss", patience=3),
                                             Checkpoint("run.npz"), ProgressBar()])
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .serialization import save_checkpoint
from .training import Callback, TrainState
from .viz import unit_activity

__all__ = ["Callback", "Watch", "ProgressBar", "Checkpoint", "ActivityMonitor", "EpochLog",
           "EarlyStopping"]


class Watch(Callback):
    """Keeps the run's :class:`TrainState` at hand, so that a run ending in an exception (a
    :class:`~mlp.training.DivergenceError`) still shows its history until then."""

    state: TrainState | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self.state = state


class ProgressBar(Callback):
    """A tqdm bar per epoch with the live batch loss, and the accuracies at its end."""

    def __init__(self, file=None) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError('progress bars need tqdm: pip install "mlp[data]"') from exc
        self._tqdm, self._file, self._bar = tqdm, file, None

    def on_batch_end(self, state: TrainState) -> None:
        if self._bar is None:
            self._bar = self._tqdm(total=state.iterations, file=self._file, leave=True,
                                   desc=f"epoch {state.epoch + 1}/{state.num_epochs}",
                                   unit="batch", dynamic_ncols=True)
        self._bar.update(1)
        if state.iteration % 20 == 0 or state.iteration == state.iterations:
            self._bar.set_postfix(loss=f"{state.loss:.4f}", refresh=False)

    def on_epoch_end(self, state: TrainState) -> None:
        if self._bar is not None:
            h, metric = state.history, state.model.head.metric
            postfix = {"loss": f"{h['loss_history'][-1]:.4f}",
                       f"train_{metric}": f"{h[f'train_{metric}_history'][-1]:.3f}"}
            if h[f"val_{metric}_history"]:
                postfix[f"val_{metric}"] = f"{h[f'val_{metric}_history'][-1]:.3f}"
            self._bar.set_postfix(postfix)
            self._bar.close()
            self._bar = None


class Checkpoint(Callback):
    """Save a checkpoint of the model and its training state after every ``every`` epochs.

    ``extra``: a dict, or a function returning one at each save, stored in the checkpoint's
    metadata (for example the settings needed to resume). Each save is atomic: a run killed at
    any moment leaves the last complete checkpoint behind.
    """

    def __init__(
        self,
        path: os.PathLike | str,
        every: int = 1,
        extra: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer; got {every!r}")
        self.path, self.every, self.extra = Path(path), every, extra
        self._saved_epoch = -1

    def _save(self, state: TrainState) -> None:
        extra = self.extra() if callable(self.extra) else self.extra
        save_checkpoint(self.path, state.model, state, extra=extra)
        self._saved_epoch = state.epoch

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            self._save(state)

    def on_train_end(self, state: TrainState) -> None:
        if state.epoch != self._saved_epoch and state.epoch > 0:
            self._save(state)


class ActivityMonitor(Callback):
    """Record :func:`unit_activity` on a fixed probe batch before training and after every
    epoch.

    ``history``: ``{"epoch": [0, 1, ...], "saturated": [[per layer], ...], "dead": [...]}``,
    ready for :func:`plot_unit_activity`. X: (N, D) probe inputs; only the first
    ``max_examples`` rows are used, to keep it cheap.
    """

    def __init__(self, X: np.ndarray, max_examples: int = 1000) -> None:
        self.X = np.asarray(X)[:max_examples]
        self.history: dict[str, list] = {"epoch": [], "saturated": [], "dead": []}

    def record(self, model, epoch: int) -> None:
        report = unit_activity(model, self.X)
        self.history["epoch"].append(epoch)
        self.history["saturated"].append([r["saturated"] for r in report])
        self.history["dead"].append([r["dead"] for r in report])

    def on_train_begin(self, state: TrainState) -> None:
        if not self.history["epoch"] or self.history["epoch"][-1] != state.epoch:
            self.record(state.model, state.epoch)

    def on_epoch_end(self, state: TrainState) -> None:
        self.record(state.model, state.epoch)


class EpochLog(Callback):
    """One row per epoch (``rows``): the epoch, the mean batch objective, the mean W1 gradient
    norm, every per-epoch entry of the history (train and validation loss and score), the
    learning rate at the epoch's start and the seconds it took. ``learning_rate(t)``: the rate
    at progress t in epochs."""

    def __init__(self, learning_rate: Callable[[float], float],
                 rows: list[dict[str, Any]] | None = None) -> None:
        self.learning_rate = learning_rate
        self.rows: list[dict[str, Any]] = list(rows or [])
        self._tick = time.perf_counter()

    def on_train_begin(self, state: TrainState) -> None:
        self._tick = time.perf_counter()

    def on_epoch_end(self, state: TrainState) -> None:
        h, n, metric = state.history, state.iterations, state.model.head.metric
        now = time.perf_counter()
        row: dict[str, Any] = {
            "epoch": state.epoch,
            "loss": float(np.mean(h["loss_history"][-n:])),
            "grad_norm_W1": float(np.mean(h["grad_magnitude_history"][-n:])),
        }
        for key in (f"train_{metric}", f"val_{metric}", "val_loss"):
            values = h[f"{key}_history"]
            row[key] = values[-1] if values else math.nan
        row.update(learning_rate=self.learning_rate(state.epoch - 1), seconds=now - self._tick)
        self.rows.append(row)
        self._tick = now


def copy_weights(model) -> dict[str, np.ndarray]:
    """Copies of a network's parameters and batch-norm running statistics, by name."""
    return {name: a.copy() for name, a in [*model.params.items(), *model.state().items()]}


def put_back(model, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays taken by :func:`copy_weights` back into the network, in place."""
    current = {**model.params, **model.state()}
    for name, value in arrays.items():
        current[name][...] = value


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row.

    monitor: a per-epoch history entry without ``_history``: ``val_loss`` (default),
    ``train_loss``, ``val_acc``, ``val_r2``, ... Losses must fall, scores (acc, r2) rise.
    restore_best: at the end of the run, put back the parameters (and batch norm's running
    statistics) of the best epoch. After the run, ``best``, ``best_epoch`` and
    ``stopped_epoch`` (0 if it never stopped the run) say what happened.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        if not isinstance(monitor, str) or not monitor.endswith(("_loss", "_acc", "_r2")):
            raise ValueError(f"monitor must name a per-epoch history entry such as 'val_loss', "
                             f"'val_acc' or 'train_loss'; got {monitor!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be a positive integer; got {patience!r}")
        if not isinstance(min_delta, int | float) or not min_delta >= 0:
            raise ValueError(f"min_delta must be a number >= 0; got {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.restore_best = bool(restore_best)
        self.sign = 1.0 if monitor.endswith("_loss") else -1.0  # minimise sign * value

    def on_train_begin(self, state: TrainState) -> None:
        key = f"{self.monitor}_history"
        if key not in state.history:
            known = [k[: -len("_history")] for k in state.history if k.startswith(("val", "tr"))]
            raise ValueError(f"EarlyStopping cannot monitor {self.monitor!r}: this run records "
                             f"{', '.join(known)}")
        self.best, self.best_epoch, self.stopped_epoch, self.wait = math.inf, 0, 0, 0
        self._best_arrays: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        values = state.history[f"{self.monitor}_history"]
        if not values:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which this run does not "
                             "record (no validation set?)")
        value = self.sign * values[-1]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:
                self._best_arrays = copy_weights(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch, state.stop = state.epoch, True

    def on_train_end(self, state: TrainState) -> None:
        self.best *= self.sign
        if self.restore_best and self._best_arrays is not None and (
                self.best_epoch != state.epoch):
            put_back(state.model, self._best_arrays)
