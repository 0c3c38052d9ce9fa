"""``mlp train``'s settings: one dataclass holding every choice of a run, its defaults, how the
command line and a checkpoint fill it, and the optimiser and schedule it names.

The settings are stored in the model file and the checkpoint (``to_dict``), and a resumed run
takes them from there: only ``epochs`` may change.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..optim import (
    OPTIMIZERS,
    Constant,
    CosineDecay,
    ExponentialDecay,
    Optimizer,
    Schedule,
    StepDecay,
    Warmup,
)
from ..regularizers import L1
from .errors import UsageError
from .options import option, show

#: The schedules by name, each built from the settings (the library keeps no such table).
SCHEDULES: dict[str, Callable[[TrainSettings], Schedule]] = {
    "exp": lambda s: ExponentialDecay(s.decay),
    "step": lambda s: StepDecay(s.step_epochs, gamma=s.decay),
    "cosine": lambda s: CosineDecay(max(s.epochs - s.warmup, 1e-9)),
    "constant": lambda s: Constant(),
}
DTYPES = ("float32", "float64")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}
#: What may differ between a checkpoint and the command that resumes it.
RESUME_MAY_CHANGE = ("epochs",)
#: A CSV table is split this way unless --val-size / --test-size say otherwise.
TABLE_SPLIT = 0.15


@dataclass
class TrainSettings:
    """Every choice of an ``mlp train`` run (the defaults: about 0.93 test accuracy on the
    bundled subset in a few seconds). ``None`` marks a value that depends on others."""

    # data: an image set by name or folder, or a CSV table (data, target, task)
    dataset: str = "mnist-small"
    data: str | None = None
    target: str | None = None
    features: list[str] | None = None  # None: every other column
    task: str | None = None
    train_size: int | None = None
    val_size: int | float | None = None  # None: 10,000 (1,000 for mnist-small), or 0.15
    test_size: int | float | None = None  # tables only; None: 0.15
    scale: bool = True
    dtype: str = "float32"
    # architecture
    hidden: list[int] = field(default_factory=lambda: [128])
    activation: str | list[str] = "relu"
    dropout: float | list[float] = 0.0
    batch_norm: bool = False
    init: str | None = None
    std: float | None = None
    # optimisation
    epochs: int = 15
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float | None = None  # 0.05 for SGD, 0.001 for Adam
    momentum: float | None = None  # 0.9 for SGD
    nesterov: bool = False
    schedule: str = "exp"
    decay: float = 0.95
    step_epochs: int = 5
    warmup: float = 0.0
    reg: float = 1e-4
    l1: float = 0.0
    proximal: bool = False
    seed: int = 0
    early_stopping: bool = False
    patience: int = 5

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def is_table(self) -> bool:
        return self.data is not None

    def make_optimizer(self) -> Optimizer:
        if self.optimizer == "sgd":
            return OPTIMIZERS["sgd"](momentum=self.momentum, nesterov=self.nesterov)
        return OPTIMIZERS[self.optimizer]()

    def make_schedule(self) -> Schedule:
        schedule = SCHEDULES[self.schedule](self)
        return Warmup(self.warmup, after=schedule) if self.warmup > 0 else schedule

    def train_options(self) -> dict[str, Any]:
        """The keyword arguments of ``MLP.train`` that these settings give (fresh optimiser and
        schedule objects; no data, callbacks or resume)."""
        return dict(learning_rate=self.lr, reg=self.reg, num_epochs=self.epochs,
                    batch_size=self.batch_size, optimizer=self.make_optimizer(),
                    schedule=self.make_schedule(), regularizer=L1(self.l1) if self.l1 else None,
                    proximal=self.proximal)

    def describe(self) -> str:
        """``sgd (momentum 0.9), lr 0.05, exp schedule, reg 0.0001, batch 64, 15 epochs``."""
        opt = self.optimizer
        if opt == "sgd" and self.momentum:
            opt += f" (momentum {show(self.momentum)}{', nesterov' if self.nesterov else ''})"
        text = f"{opt}, lr {show(self.lr)}, {self.schedule} schedule"
        if self.reg:
            text += f", reg {show(self.reg)}"
        if self.l1:
            text += f", l1 {show(self.l1)}{' (proximal)' if self.proximal else ''}"
        text += f", batch {self.batch_size}, {self.epochs} epochs"
        if self.early_stopping:
            text += f", early stopping (patience {self.patience})"
        return text


def from_command_line(args: argparse.Namespace, saved: Mapping[str, Any] | None
                      ) -> TrainSettings:
    """The settings of a new run (``saved`` None) or of a resumed one (a checkpoint's)."""
    explicit = {name: getattr(args, name) for name in TrainSettings.names()
                if getattr(args, name, None) is not None}
    if saved is not None:
        return _resumed(explicit, saved)
    settings = TrainSettings(**explicit)
    _check_data_options(settings, explicit)
    _check_architecture(settings)
    _fill_optimiser(settings)
    if "patience" in explicit and not settings.early_stopping:
        raise UsageError("--patience applies with --early-stopping")
    return settings


def _resumed(explicit: dict[str, Any], saved: Mapping[str, Any]) -> TrainSettings:
    # Checkpoints from before an option existed were trained with its default.
    known = {k: v for k, v in saved.items() if k in TrainSettings.names()}
    settings = TrainSettings(**known)
    for name, value in explicit.items():
        if name not in RESUME_MAY_CHANGE and value != getattr(settings, name):
            raise ValueError(
                f"{option(name)} {show(value)} differs from the checkpoint's "
                f"{show(getattr(settings, name))}: a resumed run keeps its settings (only "
                "--epochs may change)")
    for name in RESUME_MAY_CHANGE:
        if name in explicit:
            setattr(settings, name, explicit[name])
    if settings.early_stopping:
        raise ValueError("a run with --early-stopping cannot be resumed: the checkpoint does not "
                         "hold the early-stopping state (the best epoch and its parameters); "
                         "start the run again")
    return settings


def _check_data_options(s: TrainSettings, explicit: dict[str, Any]) -> None:
    if s.is_table:
        if s.target is None:
            raise UsageError(f"--data {s.data} needs --target COLUMN, the column to learn")
        for name in ("dataset", "scale"):
            if name in explicit:
                raise UsageError(f"{option(name) if name != 'scale' else '--scale/--no-scale'} "
                                 f"applies to image datasets, not to --data (a CSV table's "
                                 "features are standardised)")
        s.val_size = TABLE_SPLIT if s.val_size is None else s.val_size
        s.test_size = TABLE_SPLIT if s.test_size is None else s.test_size
        return
    for name in ("target", "features", "task", "test_size"):
        if name in explicit:
            raise UsageError(f"{option(name)} applies to a CSV table given with --data FILE.csv")


def _check_architecture(s: TrainSettings) -> None:
    check_per_layer("--activation", s.activation, s.hidden, "name")
    check_per_layer("--dropout", s.dropout, s.hidden, "rate")
    if s.batch_norm and s.batch_size < 2:
        raise UsageError(f"--batch-norm needs --batch-size 2 or more (it normalises with the "
                         f"batch's statistics), got {s.batch_size}")


def _fill_optimiser(s: TrainSettings) -> None:
    if s.lr is None:
        s.lr = DEFAULT_LR[s.optimizer]
    if s.optimizer == "sgd":
        s.momentum = 0.9 if s.momentum is None else s.momentum
    elif s.momentum is not None or s.nesterov:
        raise UsageError("--momentum and --nesterov apply to --optimizer sgd only")
    if s.proximal and not s.l1:
        raise UsageError("--proximal applies the L1 penalty: give --l1 too")


def check_per_layer(flag: str, value: Any, hidden: list[int], what: str) -> None:
    """A list given to ``flag`` must have one entry per hidden layer (a single value is used
    for every layer)."""
    if isinstance(value, list) and len(value) != len(hidden):
        widths = ",".join(map(str, hidden)) or "0"
        raise UsageError(
            f"{flag} expects one {what}, or one per hidden layer ({len(hidden)} for --hidden "
            f"{widths}), got {len(value)}: {show(value)}")
