"""A search space over ``mlp train``'s options, in ``mlp train``'s own terms.

Any training setting (:data:`mlp.run.settings.SETTINGS`, the table ``mlp train``'s options are
built from) may be given as a range ``low:high`` (``low:high:log`` to sample on a log scale) or
as choices ``a/b/c``, each written as ``mlp train`` reads it: ``--hidden 64/128/256,128``
chooses between one layer of 64, one of 128, and two of 256 and 128. Every value is read by
the setting's own reader, and a trial's values go straight into the run layer's settings
(:func:`mlp.run.settings.from_values`), so every choice keeps its meaning, its defaults and its
checks; the best trial is also an ``mlp train`` command line. A TOML file says the same with
one key per setting::

    lr = "1e-4:1e-1:log"                # the command line's syntax
    hidden = ["64", "128", "256,128"]   # choices
    reg = { low = 0.0, high = 1e-2 }    # a range (log = true for a log scale)
    epochs = 5                          # a fixed value

Optuna is imported only to sample (``suggest``); parsing a space needs NumPy only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..run import values as readers
from ..run.settings import SETTINGS, Setting, TrainSettings, from_values
from ..run.values import SettingsError as UsageError
from ..run.values import option

#: Readers whose values are whole numbers, and so may be ranges of them (a range of widths is
#: one hidden layer of that width); of numbers; of a count or a fraction of examples.
INT_READERS = (readers.positive_int, readers.seed, readers.widths)
FLOAT_READERS = (readers.positive_float, readers.nonnegative_float, readers.fraction,
                 readers.rates)
ON_OFF = ("on", "off")


def searchable() -> dict[str, Setting]:
    """The settings a search may set, by name (all of them; some only to a fixed value)."""
    return dict(SETTINGS)


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

    def suggest(self, trial) -> Any:
        """The trial's value, typed as the setting holds it."""
        setting = SETTINGS[self.name]
        if self.kind == "choice":
            return setting.parse(trial.suggest_categorical(self.name, self.choices))
        if self.kind == "int":
            value = trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
            return [value] if setting.read is readers.widths else value
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

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
    """The settings of every trial: ``fixed`` values (as typed) and ``dimensions`` the search
    chooses. Build one with :func:`parse_space`."""

    fixed: dict[str, str]
    dimensions: list[Dimension]

    def suggest(self, trial) -> dict[str, Any]:
        """A trial's values by settings name, typed (settings that need another one's value
        are sampled only where they apply: no momentum for Adam)."""
        values: dict[str, Any] = {}
        for dim in self.dimensions:
            needs = SETTINGS[dim.name].needs
            if needs and self.value_of(needs[0], values) not in needs[1]:
                continue
            values[dim.name] = dim.suggest(trial)
        return values

    def first(self) -> dict[str, Any]:
        """The point of each dimension's first choice or low end (checked up front)."""
        return self.suggest(_LowestTrial())

    def value_of(self, name: str, values: Mapping[str, Any]) -> Any:
        """A setting's typed value in a trial: sampled, fixed, or its default."""
        if name in values:
            return values[name]
        if name in self.fixed:
            return SETTINGS[name].parse(self.fixed[name])
        return getattr(TrainSettings(), name)

    def typed(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The fixed values and a trial's ``values``, typed (a text is read by its setting's
        reader, as ``mlp train`` would read it)."""
        merged = {**self.fixed, **(values or {})}
        return {name: SETTINGS[name].parse(v) if isinstance(v, str) else v
                for name, v in merged.items()}

    def argv(self, values: Mapping[str, Any] | None = None) -> list[str]:
        """``mlp train`` arguments for the fixed settings and a trial's ``values``."""
        args: list[str] = []
        for name, value in self.typed(values).items():
            args += render(SETTINGS[name], value)
        return args

    def settings(self, values: Mapping[str, Any] | None = None) -> TrainSettings:
        """The settings of a trial, checked by the run layer (a UsageError names a combination
        that ``mlp train`` refuses too)."""
        return from_values(self.typed(values))

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


def render(setting: Setting, value: Any) -> list[str]:
    """``mlp train`` arguments that give a setting ``value``."""
    flag = option(setting.name)
    if setting.flag:
        if setting.default:
            return [flag if value else "--no-" + flag[2:]]
        return [flag] if value else []
    return [flag, _text(value)]


def _text(value: Any) -> str:
    """A typed value as the command line reads it back exactly (floats in full)."""
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def parse_space(options: Mapping[str, str], file: str | Path | None = None) -> SearchSpace:
    """The search space of ``options`` (settings name -> text as typed: ``"1e-4:1e-1:log"``,
    ``"sgd/adam"``, ``"5"``), over the entries of a TOML ``file`` where both give an option.
    Every value, range end and choice is checked by ``mlp train``'s own option types, and the
    first point of the space by its settings, so a mistake is reported before any trial runs."""
    entries = {**(read_space_file(file) if file is not None else {}), **options}
    settings = searchable()
    space = SearchSpace({}, [])
    for name in (a for a in settings if a in entries):  # the table's order: the space's order
        parsed = parse_option(settings[name], name, entries[name])
        if isinstance(parsed, Dimension):
            space.dimensions.append(parsed)
        else:
            space.fixed[name] = parsed
    unknown = sorted(set(entries) - set(settings))
    if unknown:
        raise UsageError(f"{file}: unknown option {unknown[0]!r}; expected options of "
                         f"'mlp train' such as lr, hidden, optimizer")
    first = space.first()
    space.settings(first)
    searched = {d.name for d in space.dimensions}
    for dim in space.dimensions:  # one whose condition never holds: the settings say why
        needs = SETTINGS[dim.name].needs
        if needs and needs[0] not in searched:
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


def parse_option(setting: Setting, name: str, text: str) -> Dimension | str:
    """A setting's fixed value (as typed) or the dimension that ``text`` describes."""
    flag = option(name)
    text = str(text).strip()
    if not setting.search:
        check_value(setting, flag, text, text)
        return text
    if "/" in text:
        choices = [c.strip() for c in text.split("/")]
        for choice in choices:
            check_value(setting, flag, text, choice)
        if len(set(choices)) != len(choices):
            raise UsageError(f"{flag} {text}: a choice is given twice")
        return Dimension(name, "choice", choices=choices)
    if ":" in text:
        return parse_range(setting, flag, name, text)
    check_value(setting, flag, text, text)
    return text


def parse_range(setting: Setting, flag: str, name: str, text: str) -> Dimension:
    """``low:high`` or ``low:high:log`` for a setting that takes a number."""
    parts = text.split(":")
    read = setting.read
    kind = ("int" if read in INT_READERS else "float" if read in FLOAT_READERS
            else "size" if read is readers.size else None)
    if kind is None:
        raise UsageError(f"{flag} {text}: {flag} takes choices separated by / (such as "
                         f"{_example(setting)}), not a range low:high")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
        raise UsageError(f"{flag} {text}: expected a range low:high or low:high:log")
    for end in parts[:2]:
        check_value(setting, flag, text, end)
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


def check_value(setting: Setting, flag: str, text: str, value: str) -> None:
    """``value`` must be what the setting's reader accepts (its type, range and choices)."""
    if setting.flag and value not in ON_OFF:
        raise UsageError(f"{flag} {text}: expected on, off or on/off, got {value!r}")
    try:
        setting.parse(value)
    except UsageError as exc:
        raise UsageError(f"{flag} {text}: {exc}") from None


def _example(setting: Setting) -> str:
    return "/".join(list(setting.choices)[:2]) if setting.choices else "on/off"


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
