"""A training run's settings: one dataclass holding every choice of a run, the table that says
what each one is (:data:`SETTINGS`: its reader, range or choices, default and help), how a
set of values (from the command line, a search trial, the playground) or a checkpoint fills
it, and the optimiser and schedule it names.

Every door builds on the table: ``mlp train``'s options, ``mlp tune``'s search space and the
playground's controls. The settings are stored in the model file and the checkpoint
(``to_dict``), and a resumed run takes them from there: only ``epochs`` may change.

Two rules every door takes from here. Weight decay is ``reg``: the loss adds
``0.5 * reg * sum ||W||^2``, so a step adds ``reg * W`` to the gradient (the problem set's
convention; ``mlp.regularizers.L2(reg / 2)`` is the same penalty, and SGD's
``weight_decay=reg`` the same step on the weights, but it decays the biases too); ``l1`` is the
L1 penalty beside it. A dropout rate is a
number in [0, 1), the rule of :func:`mlp.layers.check_rate` (the reader and the table's range
say the same).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..initializers import INITIALIZERS
from ..layers import HIDDEN_ACTIVATIONS
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
from . import values
from .values import SettingsError, option, show

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

    def describe_optimizer(self) -> str:
        """``sgd (momentum 0.9)``, ``sgd (momentum 0.9, nesterov)``, ``sgd`` or ``adam``."""
        opt = self.optimizer
        if opt == "sgd" and self.momentum:
            opt += f" (momentum {show(self.momentum)}{', nesterov' if self.nesterov else ''})"
        return opt

    def describe(self) -> str:
        """``sgd (momentum 0.9), lr 0.05, exp schedule, reg 0.0001, batch 64, 15 epochs``."""
        text = f"{self.describe_optimizer()}, lr {show(self.lr)}, {self.schedule} schedule"
        if self.reg:
            text += f", reg {show(self.reg)}"
        if self.l1:
            text += f", l1 {show(self.l1)}{' (proximal)' if self.proximal else ''}"
        text += f", batch {self.batch_size}, {self.epochs} epochs"
        if self.early_stopping:
            text += f", early stopping (patience {self.patience})"
        return text


def from_values(explicit: Mapping[str, Any], saved: Mapping[str, Any] | None = None
                ) -> TrainSettings:
    """The settings of a new run (``saved`` None) or of a resumed one (a checkpoint's), from
    the values a door set (by settings name; the others take their defaults), checked
    together."""
    explicit = {name: value for name, value in explicit.items() if value is not None}
    unknown = sorted(set(explicit) - set(TrainSettings.names()))
    if unknown:
        raise SettingsError(f"no such setting: {', '.join(unknown)} (the settings: "
                            f"{', '.join(TrainSettings.names())})")
    if saved is not None:
        return _resumed(explicit, saved)
    settings = TrainSettings(**explicit)
    _check_data_options(settings, explicit)
    _check_architecture(settings)
    _fill_optimiser(settings)
    if "patience" in explicit and not settings.early_stopping:
        raise SettingsError("--patience applies with --early-stopping")
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
            raise SettingsError(f"--data {s.data} needs --target COLUMN, the column to learn")
        for name in ("dataset", "scale"):
            if name in explicit:
                raise SettingsError(f"{option(name) if name != 'scale' else '--scale/--no-scale'} "
                                 f"applies to image datasets, not to --data (a CSV table's "
                                 "features are standardised)")
        s.val_size = TABLE_SPLIT if s.val_size is None else s.val_size
        s.test_size = TABLE_SPLIT if s.test_size is None else s.test_size
        return
    for name in ("target", "features", "task", "test_size"):
        if name in explicit:
            raise SettingsError(f"{option(name)} applies to a CSV table given with --data FILE.csv")


def _check_architecture(s: TrainSettings) -> None:
    check_per_layer("--activation", s.activation, s.hidden, "name")
    check_per_layer("--dropout", s.dropout, s.hidden, "rate")
    if s.batch_norm and s.batch_size < 2:
        raise SettingsError(f"--batch-norm needs --batch-size 2 or more (it normalises with the "
                         f"batch's statistics), got {s.batch_size}")


def _fill_optimiser(s: TrainSettings) -> None:
    if s.lr is None:
        s.lr = DEFAULT_LR[s.optimizer]
    if s.optimizer == "sgd":
        s.momentum = 0.9 if s.momentum is None else s.momentum
    elif s.momentum is not None or s.nesterov:
        raise SettingsError("--momentum and --nesterov apply to --optimizer sgd only")
    if s.proximal and not s.l1:
        raise SettingsError("--proximal applies the L1 penalty: give --l1 too")


def check_per_layer(flag: str, value: Any, hidden: list[int], what: str) -> None:
    """A list given to ``flag`` must have one entry per hidden layer (a single value is used
    for every layer)."""
    if isinstance(value, list) and len(value) != len(hidden):
        widths = ",".join(map(str, hidden)) or "0"
        raise SettingsError(
            f"{flag} expects one {what}, or one per hidden layer ({len(hidden)} for --hidden "
            f"{widths}), got {len(value)}: {show(value)}")


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """What one training setting is: how its value is read from text (``read``; a flag has
    none), its choices or the range a search may draw from (``low``/``high``, ``log``: on a log
    scale), its group, its help (with ``{default}``), and the setting whose values it needs
    (``needs``: SGD's momentum needs ``optimizer`` sgd). ``search``: whether a search may vary
    it (files, columns and datasets stay as given). ``names``: for a setting read as one name
    or a list of names (the activation), the names it takes, for a door that offers them."""

    name: str
    group: str
    help: str
    read: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    needs: tuple[str, tuple[Any, ...]] | None = None
    search: bool = True
    names: tuple[str, ...] | None = None

    @property
    def flag(self) -> bool:
        return self.read is None and self.choices is None

    @property
    def default(self) -> Any:
        return getattr(TrainSettings(), self.name)

    def parse(self, text: str) -> Any:
        """The value of ``text`` as the command line reads it."""
        if self.flag:
            if text not in ("on", "off"):
                raise SettingsError(f"expected on or off, got {text!r}")
            return text == "on"
        if self.choices is not None:
            if text not in self.choices:
                raise SettingsError(f"expected one of {', '.join(self.choices)}, got {text!r}")
            return text
        return self.read(text)


def _table() -> tuple[Setting, ...]:
    S = Setting
    data, arch, opt = "data", "architecture", "optimisation"
    return (
        S("dataset", data, "mnist-small (bundled, offline), mnist, fashion-mnist, or a folder of "
          "the four IDX files (default: {default})", str, metavar="NAME|FOLDER", search=False),
        S("data", data, "train on a CSV table instead: a header row naming the columns, numeric "
          "features, and the --target column", str, metavar="FILE.csv", search=False),
        S("target", data, "the column of --data to learn", str, metavar="COLUMN", search=False),
        S("features", data, "the columns of --data to learn from (default: every column but the "
          "target, which must all hold numbers)", values.columns,
          metavar="COLUMN[,COLUMN...]", search=False),
        S("task", data, "what to learn from --target (default: classification for labels that "
          "are not numbers or are few whole numbers, else regression)",
          choices=("classification", "regression"), search=False),
        S("train_size", data, "train on the first N training examples only (default: all)",
          values.positive_int, metavar="N", low=1, high=values.MAX_COUNT),
        S("val_size", data, "examples kept for validation (default: 10000 of MNIST's and "
          "Fashion-MNIST's, 1000 of mnist-small's, 0.15 of a table's)", values.size,
          metavar="N|FRACTION", low=0, high=values.MAX_COUNT),
        S("test_size", data, "rows of a table kept for testing (default: 0.15)", values.size,
          metavar="N|FRACTION", low=0, high=values.MAX_COUNT),
        S("scale", data, "divide the pixels by 255 (default: yes; --no-scale keeps the problem "
          "set's raw 0-255 inputs)"),
        S("dtype", data, "floating-point type of the network and data (default: {default})",
          choices=DTYPES),
        S("hidden", arch, "hidden layer widths, repeatable or comma-separated: --hidden 256,128 "
          "(default: 128; 0 for none, i.e. softmax regression)", values.widths,
          metavar="WIDTHS", low=1, high=values.MAX_COUNT),
        S("activation", arch, f"hidden activation, {'|'.join(HIDDEN_ACTIVATIONS)}, for every "
          "hidden layer, or a comma-separated list with one per hidden layer: --activation "
          "relu,tanh (default: relu)", values.activations, metavar="NAME[,NAME...]",
          names=HIDDEN_ACTIVATIONS),
        S("dropout", arch, "inverted dropout after each hidden activation: each unit is zeroed "
          "with probability RATE in training (and the rest scaled by 1/(1-RATE)); one rate for "
          "every hidden layer, or one per hidden layer (default: 0, none)", values.rates,
          metavar="RATE[,RATE...]", low=0, high=1),
        S("batch_norm", arch, "batch normalisation between each hidden affine layer and its "
          "activation (default: off)"),
        S("init", arch, "weight scale: he (for ReLU) or xavier (for sigmoid/tanh) (default: the "
          "one that suits each layer's activation)", choices=tuple(INITIALIZERS)),
        S("std", arch, "draw every weight as std * randn instead (the problem set's rule, which "
          "used 0.1)", values.positive_float, low=0, high=float("inf")),
        S("epochs", opt, "passes over the training set (default: {default})",
          values.positive_int, low=1, high=values.MAX_COUNT),
        S("batch_size", opt, "examples per gradient step (default: {default})",
          values.positive_int, metavar="N", low=1, high=values.MAX_COUNT),
        S("optimizer", opt, "update rule (default: {default})", choices=tuple(OPTIMIZERS)),
        S("lr", opt, "base learning rate (default: 0.05 for sgd, 0.001 for adam)",
          values.positive_float, metavar="RATE", low=0, high=float("inf"), log=True),
        S("momentum", opt, "SGD momentum in [0, 1) (default: 0.9)", values.fraction, low=0,
          high=1, needs=("optimizer", ("sgd",))),
        S("nesterov", opt, "Nesterov momentum (SGD only)", needs=("optimizer", ("sgd",))),
        S("schedule", opt, "learning-rate schedule: exp multiplies the rate by --decay after "
          "every epoch, step by --decay every --step-epochs, cosine anneals to 0 over the run "
          "(default: {default})", choices=tuple(SCHEDULES)),
        S("decay", opt, "factor of the exp and step schedules (default: {default})",
          values.positive_float, low=0, high=float("inf")),
        S("step_epochs", opt, "epochs between steps of the step schedule (default: {default})",
          values.positive_int, metavar="N", low=1, high=values.MAX_COUNT),
        S("warmup", opt, "linear warm-up of the rate over this many epochs (default: 0)",
          values.nonnegative_float, metavar="EPOCHS", low=0, high=float("inf")),
        S("reg", opt, "L2 strength: the loss adds 0.5 * reg * sum ||W||^2 (the problem set's "
          "convention) (default: {default})", values.nonnegative_float, low=0,
          high=float("inf")),
        S("l1", opt, "L1 strength: the loss adds l1 * sum |W| (default: 0)",
          values.nonnegative_float, low=0, high=float("inf")),
        S("proximal", opt, "apply the L1 penalty by soft-thresholding after each step, which "
          "makes exact zeros (needs --l1)"),
        S("seed", opt, "seed of the initial weights, the shuffling and a table's split "
          "(default: {default})", values.seed, low=0, high=values.MAX_SEED),
        S("early_stopping", opt, "stop when the validation loss has not improved for "
          "--patience epochs, and keep the parameters of its best epoch"),
        S("patience", opt, "epochs without improvement before stopping (default: {default})",
          values.positive_int, metavar="N", low=1, high=values.MAX_COUNT,
          needs=("early_stopping", (True,))),
    )


#: Every training setting, by name, in the order of ``TrainSettings``.
SETTINGS: dict[str, Setting] = {s.name: s for s in _table()}
assert tuple(SETTINGS) == TrainSettings.names(), "the table and TrainSettings disagree"
