"""Pruning: a training callback that reports each epoch's score to an Optuna trial and stops
the trial when the study's pruner says it will not beat the others (Optuna's usual
integration, as its Keras callback does)."""

from __future__ import annotations

from ..training import Callback, TrainState


class PruningCallback(Callback):
    """After every epoch, ``trial.report(value, epoch)`` with the history's ``monitor`` entry
    (``val_acc``, ``val_loss``, ``val_r2``, ...), then raise ``optuna.TrialPruned`` if
    ``trial.should_prune()``::

        net.train(X, y, X_val, y_val, callbacks=[PruningCallback(trial, "val_acc")])
    """

    def __init__(self, trial, monitor: str = "val_acc") -> None:
        if not isinstance(monitor, str) or not monitor.endswith(("_loss", "_acc", "_r2")):
            raise ValueError(f"monitor must name a per-epoch history entry such as 'val_acc' "
                             f"or 'val_loss'; got {monitor!r}")
        self.trial, self.monitor = trial, monitor

    def on_epoch_end(self, state: TrainState) -> None:
        import optuna

        values = state.history.get(f"{self.monitor}_history")
        if not values:
            raise ValueError(f"PruningCallback monitors {self.monitor!r}, which this run does "
                             "not record (no validation set?)")
        self.trial.report(values[-1], state.epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {state.epoch} ({self.monitor} "
                                     f"{values[-1]:.4g})")
