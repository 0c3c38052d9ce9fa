"""The search: an Optuna study whose trials are training runs of the run layer (what ``mlp train``
runs), by one or more workers.

Every worker, in this process, in a local worker process or on another machine, runs the same
loop on the same study (Optuna's own: no scheduler here): sample a trial from the study's
storage, train it with pruning after each epoch, store its score. The study remembers its
search space and metric, so a worker of another search cannot join it by mistake, and a search
run again resumes: it runs only the trials still missing.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..run.values import SettingsError as UsageError
from .space import SearchSpace

#: --metric: the per-epoch history entry it reads, and which way is better.
METRICS = {"val_accuracy": ("val_acc", "maximize"), "val_loss": ("val_loss", "minimize"),
           "r2": ("val_r2", "maximize")}
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
#: What a search writes into the study, to recognise it when a worker joins or it resumes.
STUDY_ATTR = "mlp_search"
#: The settings that decide the data a trial trains on (one copy kept in memory per worker).
DATA_FIELDS = ("dataset", "data", "target", "features", "task", "train_size", "val_size",
               "test_size", "scale", "dtype")


def worker_name() -> str:
    """Who runs a trial, kept with it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Job:
    """A search as every worker runs it (JSON-able, to be sent to worker processes)."""

    space: SearchSpace
    storage: str
    study: str = "mlp-tune"
    trials: int = 20
    metric: str = "val_accuracy"
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 0
    heartbeat: int = 10
    fetch: dict[str, Any] = field(default_factory=dict)  # download options of the dataset

    def __post_init__(self) -> None:
        for name, value, allowed in (("metric", self.metric, METRICS),
                                     ("sampler", self.sampler, SAMPLERS),
                                     ("pruner", self.pruner, PRUNERS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or self.trials < 1:
            raise ValueError(f"trials must be a positive integer; got {self.trials!r}")
        if self.sampler == "grid":
            self.space.grid()  # ranges cannot be a grid: say so now

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "space": self.space.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(**{**data, "space": SearchSpace.from_dict(data["space"])})

    def identity(self) -> dict[str, Any]:
        """What every worker of one study must agree on."""
        return {"space": self.space.to_dict(), "metric": self.metric}


def search(space: SearchSpace, storage: str, *, study: str = "mlp-tune", trials: int = 20,
           timeout: float | None = None, metric: str = "val_accuracy", sampler: str = "tpe",
           pruner: str = "median", seed: int = 0, workers: int = 1, heartbeat: int = 10,
           fetch: dict[str, Any] | None = None, echo: Callable[[str], None] | None = print):
    """Run (or resume, or join) the study ``study`` in ``storage`` until it holds ``trials``
    finished trials (complete or pruned), or ``timeout`` seconds have passed; return it.

    ``workers``: local worker processes (1: this process), each with an equal share of the
    cores for its BLAS. Run the same call on other machines with the same database URL to
    share the work. ``echo``: called with one line per finished trial (None: silent).
    """
    import optuna

    from .workers import run_workers

    job = Job(space, storage, study, trials, metric, sampler, pruner, seed, heartbeat,
              dict(fetch or {}))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = Objective(job)
    objective.data(space.settings(space.first()))  # bad data fails here, once
    found = load_study(job)
    remaining = job.trials - finished(found)
    if remaining <= 0:
        return found
    deadline = None if timeout is None else time.time() + timeout
    if workers == 1:
        run_worker(job, remaining, deadline, objective=objective, echo=echo)
    else:
        del objective  # the workers load the data themselves
        run_workers(job, min(workers, remaining), remaining, deadline, quiet=echo is None)
    return load_study(job)


def finished(study) -> int:
    """Trials that count towards the total: complete or pruned (not failed, not running)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def load_study(job: Job, sampler=None, pruner=None):
    """The study of ``job``, created if missing; refused if another search made it."""
    import optuna

    from .storage import open_storage, store_errors

    with store_errors(job.storage):
        study = optuna.create_study(
            storage=open_storage(job.storage, job.heartbeat), study_name=job.study,
            direction=METRICS[job.metric][1], sampler=sampler, pruner=pruner,
            load_if_exists=True)
        recorded = study.user_attrs.get(STUDY_ATTR)
        if recorded is None:
            study.set_user_attr(STUDY_ATTR, job.identity())
    if recorded is not None and recorded != job.identity():
        theirs = SearchSpace.from_dict(recorded["space"])
        raise ValueError(
            f"study {job.study!r} in {job.storage} belongs to another search (--metric "
            f"{recorded['metric']}, {_text(theirs)}), not to this one (--metric {job.metric}, "
            f"{_text(job.space)}): give another --study name, or that search's options")
    return study


def _text(space: SearchSpace) -> str:
    return " ".join(space.argv()) + (" " if space.fixed else "") + space.describe()


def run_worker(job: Job, n_trials: int, deadline: float | None, *, index: int = 0,
               objective: Objective | None = None,
               echo: Callable[[str], None] | None = print) -> None:
    """Run trials of the study until it holds ``job.trials`` finished ones, ``n_trials`` ran
    here, or the ``deadline`` (a ``time.time()``) passed."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    probe = load_study(job)
    seed = int(np.random.SeedSequence([job.seed, index, len(probe.trials)]).generate_state(1)[0])
    study = load_study(job, make_sampler(job, seed), make_pruner(job.pruner))
    callbacks = [MaxTrialsCallback(job.trials, states=(TrialState.COMPLETE, TrialState.PRUNED))]
    if echo is not None:
        callbacks.append(lambda study, trial: echo(trial_line(trial, job.metric)))
    objective = objective or Objective(job)
    timeout = None if deadline is None else max(deadline - time.time(), 1e-3)
    study.optimize(objective, n_trials=n_trials, timeout=timeout, callbacks=callbacks,
                   catch=(UsageError,))
    retry_stale(study, objective, callbacks[1:], deadline, job.heartbeat)


def retry_stale(study, objective, callbacks, deadline: float | None, heartbeat: int) -> None:
    """Before the study ends here: a trial left running by a worker that died is failed by
    Optuna once its heartbeat is stale, and the copy it queues is run here. While any trial
    still runs (another worker's, alive or dead), this waits a heartbeat and looks again, so
    that a fast worker does not end the search with a dead one's trial still RUNNING."""
    import optuna
    from optuna.trial import TrialState

    while deadline is None or time.time() < deadline:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if waiting:
            study.optimize(objective, n_trials=len(waiting), callbacks=callbacks,
                           catch=(UsageError,))
            continue
        if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            return
        time.sleep(heartbeat)


def make_sampler(job: Job, seed: int):
    import optuna

    if job.sampler == "grid":
        return optuna.samplers.GridSampler(job.space.grid(), seed=seed)
    if job.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # The constant liar keeps parallel workers from sampling the same point.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def make_pruner(name: str):
    import optuna

    if name == "median":  # against the median of 5 or more trials, from the second epoch
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    return optuna.pruners.NopPruner()


def trial_line(trial, metric: str) -> str:
    """``trial 3: val_accuracy 0.9340 (lr 0.0123, hidden 128), 2.1 s`` and the like."""
    params = ", ".join(f"{k.replace('_', '-')} {_short(v)}" for k, v in trial.params.items())
    seconds = (trial.duration.total_seconds() if trial.duration else 0.0)
    state = trial.state.name.lower()
    what = (f"{metric} {trial.value:.4f}" if state == "complete" else
            trial.user_attrs.get("note") or state)
    return f"trial {trial.number}: {what} ({params}), {seconds:.1f} s"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Objective:
    """A trial: its ``mlp train`` settings from the space, trained with pruning; returns the
    validation score of ``job.metric``. The data of the last settings stays loaded."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._data_key: str | None = None
        self._data = None

    def data(self, settings):
        """The splits of ``settings``, loaded once per worker (checked to suit the metric)."""
        from ..run.data import load_training_data

        key = repr([getattr(settings, f) for f in DATA_FIELDS]
                   + ([settings.seed] if settings.is_table else []))
        if key != self._data_key:
            self._data = None  # free the old copy before loading the new one
            self._data = check_data(load_training_data(settings, self.job.fetch), self.job)
            self._data_key = key
        return self._data

    def __call__(self, trial) -> float:
        import optuna

        from ..training import DivergenceError

        trial.set_user_attr("worker", worker_name())
        values = self.job.space.suggest(trial)
        try:
            settings = self.job.space.settings(values)
        except UsageError as exc:  # a combination that mlp train refuses
            trial.set_user_attr("note", f"refused by mlp train: {exc}")
            raise
        try:
            return train_trial(trial, settings, self.data(settings), self.job.metric)
        except DivergenceError as exc:  # as bad as a trial gets: stop it, as a pruner would
            trial.set_user_attr("note", f"diverged at epoch {exc.epoch}")
            raise optuna.TrialPruned(str(exc)) from None
        except optuna.TrialPruned as exc:
            trial.set_user_attr("note", str(exc) or "pruned")
            raise


def check_data(data, job: Job):
    """The splits must have a validation set, and a task the metric applies to."""
    if not len(data.X_val):
        raise ValueError("a search scores each trial on the validation split, which is empty: "
                         "give --val-size a count or fraction above 0")
    regression = data.output == "linear"
    if (job.metric == "r2") != regression:
        raise ValueError(f"--metric {job.metric} does not apply to "
                         f"{'regression' if regression else 'classification'}: use "
                         f"{'r2 or val_loss' if regression else 'val_accuracy or val_loss'}")
    return data


def train_trial(trial, s, data, metric: str) -> float:
    """Train the network of settings ``s`` on ``data`` as ``mlp train`` does, reporting each
    epoch to ``trial``; return the final validation score (of the best epoch with early
    stopping, whose parameters the model keeps)."""
    from ..callbacks import EarlyStopping
    from ..run.training import build_model
    from .pruning import PruningCallback

    key = METRICS[metric][0]
    model = build_model(s, data)
    stopper = EarlyStopping("val_loss", patience=s.patience) if s.early_stopping else None
    callbacks = [PruningCallback(trial, key), *([stopper] if stopper else [])]
    # NumPy's overflow warnings would only come before the DivergenceError that says it all.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = model.train(data.X, data.y, data.X_val, data.y_val, callbacks=callbacks,
                              **s.train_options())
    if key == "val_loss":
        return float(stopper.best if stopper else history["val_loss_history"][-1])
    return float(model.score(data.X_val, data.y_val))
