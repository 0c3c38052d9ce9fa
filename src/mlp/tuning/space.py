"""A search space over ``mlp train``'s options, in ``mlp train``'s own terms.

Any option of ``mlp train`` may be given as a range ``low:high`` (``low:high:log`` to sample on a
log scale) or as choices ``a/b/c``, each written as ``mlp train`` reads it: ``--hidden
64/128/256,128`` chooses between one layer of 64, one of 128, and two of 256 and 128. A trial's
values are written back into ``mlp train`` arguments and read by ``mlp train``'s own parser and
settings, so every choice keeps its meaning, its defaults and its checks; the best trial is an
``mlp train`` command line. A TOML file says the same with one key per option::

    lr = "1e-4:1e-1:log"                # the command line's syntax
    hidden = ["64", "128", "256,128"]   # choices
    reg = { low = 0.0, high = 1e-2 }    # a range (log = true for a log scale)
    epochs = 5                          # a fixed value

Optuna is imported only to sample (``suggest``); parsing a space needs NumPy only.
"""

from __future__ import annotations

import argparse
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..cli.errors import UsageError
from ..cli.options import (
    Parser,
    fraction,
    nonnegative_float,
    option,
    positive_float,
    positive_int,
    rates,
    seed,
    size,
    widths,
)

#: Options that ``mlp tune`` does not take from ``mlp train``: the output of one run (a search
#: writes its own), and the download timeout (``mlp tune --timeout`` limits the search).
NOT_TAKEN = ("help", "out", "checkpoint", "no_checkpoint", "resume", "no_plots", "quiet",
             "timeout", "mirrors")
#: Options naming files, columns or datasets: fixed, read as given (a path may hold / or :).
FIXED_ONLY = ("dataset", "data", "target", "features", "task")
#: Option types whose values are numbers, and so may be ranges.
INT_TYPES = (positive_int, seed, widths)
FLOAT_TYPES = (positive_float, nonnegative_float, fraction, rates)
#: Options sampled only when another one has one of some values (else ``mlp train`` refuses
#: them): SGD's momentum, and early stopping's patience.
CONDITIONS = {"momentum": ("optimizer", ("sgd",)), "nesterov": ("optimizer", ("sgd",)),
              "patience": ("early_stopping", ("on",))}
ON_OFF = ("on", "off")


class _Raising(Parser):
    """``mlp train``'s parser, raising its one-line errors instead of exiting."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


@functools.cache
def train_parser() -> argparse.ArgumentParser:
    """``mlp train``'s own argument parser (its options, types and checks)."""
    from ..cli.train import register

    root = _Raising(prog="mlp")
    register(root.add_subparsers())
    return root._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]


def train_options() -> dict[str, argparse.Action]:
    """``mlp train``'s options that a search may set, by settings name (``batch_size``)."""
    return {a.dest: a for a in train_parser()._actions
            if a.option_strings and a.dest not in NOT_TAKEN}


def is_flag(action: argparse.Action) -> bool:
    """An on/off option (``--batch-norm``, ``--scale/--no-scale``), set as ``on`` or ``off``."""
    return action.nargs == 0


@dataclass
class Dimension:
    """One option that the search chooses: a range of numbers or a list of choices."""

    name: str  # the settings field, e.g. "lr"; also the Optuna parameter's name
    kind: str  # "int", "float" or "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[str] = field(default_factory=list)

    def text(self) -> str:
        """As typed on the command line: ``1e-4:0.1:log`` or ``sgd/adam``."""
        if self.kind == "choice":
            return "/".join(self.choices)
        return f"{self.low:g}:{self.high:g}" + (":log" if self.log else "")

    def suggest(self, trial) -> str:
        """The trial's value, as ``mlp train`` reads it."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, self.choices)
        if self.kind == "int":
            return str(trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log))
        return repr(trial.suggest_float(self.name, self.low, self.high, log=self.log))

    def distribution(self):
        """The Optuna distribution this dimension samples from."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "choice":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)


@dataclass
class SearchSpace:
    """``mlp train``'s options for every trial: ``fixed`` values (as typed) and ``dimensions``
    the search chooses. Build one with :func:`parse_space`."""

    fixed: dict[str, str]
    dimensions: list[Dimension]

    def suggest(self, trial) -> dict[str, str]:
        """A trial's values by settings name, as ``mlp train`` reads them (conditional options
        are sampled only where they apply: no momentum for Adam)."""
        values: dict[str, str] = {}
        for dim in self.dimensions:
            condition = CONDITIONS.get(dim.name)
            if condition and self.value_of(condition[0], values) not in condition[1]:
                continue
            values[dim.name] = dim.suggest(trial)
        return values

    def first(self) -> dict[str, str]:
        """The point of each dimension's first choice or low end (checked up front)."""
        return self.suggest(_LowestTrial())

    def value_of(self, name: str, values: Mapping[str, str]) -> str:
        """An option's value in a trial: sampled, fixed, or ``mlp train``'s default."""
        if name in values:
            return values[name]
        if name in self.fixed:
            return self.fixed[name]
        from ..cli.settings import TrainSettings

        default = getattr(TrainSettings(), name)
        return ("on" if default else "off") if isinstance(default, bool) else str(default)

    def argv(self, values: Mapping[str, str] | None = None) -> list[str]:
        """``mlp train`` arguments for the fixed options and a trial's ``values``."""
        actions = train_options()
        args: list[str] = []
        for name, value in {**self.fixed, **(values or {})}.items():
            args += render(actions[name], value)
        return args

    def settings(self, values: Mapping[str, str] | None = None):
        """The :class:`~mlp.cli.settings.TrainSettings` of a trial, made by ``mlp train``'s
        parser and checks (a UsageError names a combination that ``mlp train`` refuses)."""
        from ..cli.settings import from_command_line

        return from_command_line(train_parser().parse_args(self.argv(values)), None)

    def grid(self) -> dict[str, list[str]]:
        """The choices of every dimension, for a grid search (ranges have none)."""
        ranges = [f"{option(d.name)} {d.text()}" for d in self.dimensions if d.kind != "choice"]
        if ranges:
            raise UsageError(f"--sampler grid takes lists of choices a/b/c, not ranges: "
                             f"{', '.join(ranges)}")
        return {d.name: d.choices for d in self.dimensions}

    def to_dict(self) -> dict[str, Any]:
        return {"fixed": dict(self.fixed), "dimensions": [asdict(d) for d in self.dimensions]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        return cls(dict(data["fixed"]), [Dimension(**d) for d in data["dimensions"]])

    def describe(self) -> str:
        """``--lr 1e-4:0.1:log --optimizer sgd/adam`` (the dimensions only)."""
        return " ".join(f"{option(d.name)} {d.text()}" for d in self.dimensions)


def render(action: argparse.Action, value: str) -> list[str]:
    """``mlp train`` arguments that give ``value`` to the option of ``action``."""
    if is_flag(action):
        on = value == "on"
        if isinstance(action, argparse.BooleanOptionalAction):
            return [action.option_strings[0] if on else action.option_strings[1]]
        return [action.option_strings[0]] if on else []
    return [action.option_strings[0], value]


def parse_space(options: Mapping[str, str], file: str | Path | None = None) -> SearchSpace:
    """The search space of ``options`` (settings name -> text as typed: ``"1e-4:1e-1:log"``,
    ``"sgd/adam"``, ``"5"``), over the entries of a TOML ``file`` where both give an option.
    Every value, range end and choice is checked by ``mlp train``'s own option types, and the
    first point of the space by its settings, so a mistake is reported before any trial runs."""
    entries = {**(read_space_file(file) if file is not None else {}), **options}
    actions = train_options()
    space = SearchSpace({}, [])
    for name in (a for a in actions if a in entries):  # mlp train's order: the space's order
        parsed = parse_option(actions[name], name, entries[name])
        if isinstance(parsed, Dimension):
            space.dimensions.append(parsed)
        else:
            space.fixed[name] = parsed
    unknown = sorted(set(entries) - set(actions))
    if unknown:
        raise UsageError(f"{file}: unknown option {unknown[0]!r}; expected options of "
                         f"'mlp train' such as lr, hidden, optimizer")
    first = space.first()
    space.settings(first)
    searched = {d.name for d in space.dimensions}
    for dim in space.dimensions:  # one whose condition never holds: mlp train says why
        if dim.name in CONDITIONS and CONDITIONS[dim.name][0] not in searched:
            space.settings({**first, dim.name: dim.suggest(_LowestTrial())})
    return space


class _LowestTrial:
    """Suggests each dimension's first choice or low end: the point checked up front."""

    def suggest_categorical(self, name: str, choices: list[str]) -> str:
        return choices[0]

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        return low

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        return low


def parse_option(action: argparse.Action, name: str, text: str) -> Dimension | str:
    """An option's fixed value (as typed) or the dimension that ``text`` describes."""
    flag = action.option_strings[0]
    text = str(text).strip()
    if name in FIXED_ONLY:
        return text
    if "/" in text:
        choices = [c.strip() for c in text.split("/")]
        for choice in choices:
            check_value(action, flag, text, choice)
        if len(set(choices)) != len(choices):
            raise UsageError(f"{flag} {text}: a choice is given twice")
        return Dimension(name, "choice", choices=choices)
    if ":" in text:
        return parse_range(action, flag, name, text)
    check_value(action, flag, text, text)
    return text


def parse_range(action: argparse.Action, flag: str, name: str, text: str) -> Dimension:
    """``low:high`` or ``low:high:log`` for an option that takes a number."""
    parts = text.split(":")
    kind = ("int" if action.type in INT_TYPES else "float" if action.type in FLOAT_TYPES
            else "size" if action.type is size else None)
    if kind is None:
        raise UsageError(f"{flag} {text}: {flag} takes choices separated by / (such as "
                         f"{_example(action)}), not a range low:high")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
        raise UsageError(f"{flag} {text}: expected a range low:high or low:high:log")
    for end in parts[:2]:
        check_value(action, flag, text, end)
    if kind == "size":  # a count of examples or a fraction of them
        kind = "int" if all(p.strip().isdigit() for p in parts[:2]) else "float"
    try:
        cast = int if kind == "int" else float
        low, high = cast(parts[0]), cast(parts[1])
    except ValueError:
        raise UsageError(f"{flag} {text}: a range of {flag} takes one "
                         f"{'whole number' if kind == 'int' else 'number'} at each end, not a "
                         "list") from None
    log = len(parts) == 3
    if not low < high:
        raise UsageError(f"{flag} {text}: the low end must be below the high end")
    if log and low <= 0:
        raise UsageError(f"{flag} {text}: a log range needs a low end above 0")
    return Dimension(name, kind, low=low, high=high, log=log)


def check_value(action: argparse.Action, flag: str, text: str, value: str) -> None:
    """``value`` must be what ``mlp train`` accepts for the option (its own type and choices)."""
    if is_flag(action):
        if value not in ON_OFF:
            raise UsageError(f"{flag} {text}: expected on, off or on/off, got {value!r}")
        return
    try:
        parsed = action.type(value) if action.type else value
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{flag} {text}: {exc}") from None
    if action.choices is not None and parsed not in action.choices:
        raise UsageError(f"{flag} {text}: expected one of {', '.join(action.choices)}, "
                         f"got {value!r}")


def _example(action: argparse.Action) -> str:
    return "/".join(list(action.choices)[:2]) if action.choices else "on/off"


def read_space_file(path: str | Path) -> dict[str, str]:
    """The entries of a TOML search-space file as command-line texts, by settings name."""
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not a valid TOML file ({exc})") from None
    return {key.replace("-", "_"): _entry_text(path, key, value) for key, value in table.items()}


def _entry_text(path: str | Path, key: str, value: Any) -> str:
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{path}: {key} = []: expected at least one choice")
        return "/".join(_scalar(path, key, v) for v in value)
    if isinstance(value, dict):
        if set(value) - {"low", "high", "log"} or not {"low", "high"} <= set(value):
            raise ValueError(f"{path}: {key}: a range is {{ low = ..., high = ... }} with an "
                             f"optional log = true, got keys {', '.join(value)}")
        return (f"{_scalar(path, key, value['low'])}:{_scalar(path, key, value['high'])}"
                + (":log" if value.get("log") is True else ""))
    return _scalar(path, key, value)


def _scalar(path: str | Path, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float | str):
        return repr(value) if isinstance(value, float) else str(value)
    raise ValueError(f"{path}: {key}: expected a number, a text, a list of choices or a range "
                     f"table, got {type(value).__name__}")
