"""The page's whole state in one object, checked on the server like any user input.

The page sends it as JSON (``Config.from_dict``) or as the query string of its URL
(``Config.from_query``); a bad value raises :class:`ConfigError`, which names the field, what
was expected and what was given. ``to_query`` is the canonical URL form, so a link reproduces
the configuration.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..layers import HIDDEN_ACTIVATIONS
from .datasets import CLASSIFICATION, DATASETS, REGRESSION
from .features import FEATURES

#: The dataset name of a CSV uploaded in the page (its points stay on the server).
UPLOAD = "upload"
OPTIMIZERS = ("sgd", "momentum", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
#: The groups of controls a lesson's link may hide.
CONTROL_GROUPS = ("data", "features", "network", "training", "regularization", "gradcheck",
                  "export", "digits")
MAX_LAYERS, MAX_WIDTH = 6, 8
MIN_POINTS, MAX_POINTS = 50, 2000


class ConfigError(ValueError):
    """A configuration value the page may not use. ``field`` names it."""

    def __init__(self, name: str, expected: str, given: object) -> None:
        self.field = name
        super().__init__(f"{name}: expected {expected}; got {given!r}")


def _number(name: str, value: object, lo: float, hi: float, integer: bool) -> float | int:
    kind = "an integer" if integer else "a number"
    expected = f"{kind} from {lo:g} to {hi:g}"
    ok = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, ok):
        # JSON has one number type: 3.0 is a fine integer.
        if integer and isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(name, expected, value)
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ConfigError(name, expected, value)
    return int(value) if integer else float(value)


def _choice(name: str, value: object, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(name, "one of " + ", ".join(choices), value)
    return value


def _names(name: str, value: object, choices, minimum: int) -> tuple[str, ...]:
    expected = f"a list of {'at least one of' if minimum else 'names from'} " + ", ".join(choices)
    if not isinstance(value, list | tuple) or len(value) < minimum:
        raise ConfigError(name, expected, value)
    for item in value:
        if not isinstance(item, str) or item not in choices:
            raise ConfigError(name, expected, value)
    # Canonical order, no repeats: equal configurations have equal links.
    return tuple(c for c in choices if c in value)


def _widths(value: object) -> tuple[int, ...]:
    expected = (f"a list of 0 to {MAX_LAYERS} layer widths, each an integer from 1 to "
                f"{MAX_WIDTH}")
    if not isinstance(value, list | tuple) or len(value) > MAX_LAYERS:
        raise ConfigError("hidden", expected, value)
    for w in value:
        if isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_WIDTH:
            raise ConfigError("hidden", expected, value)
    return tuple(value)


@dataclass(frozen=True)
class Config:
    """Data, network and training settings of the 2-D playground (see docs/playground.md)."""

    dataset: str = "circle"
    classes: int = 2
    noise: float = 0.0
    train_fraction: float = 0.5
    points: int = 500
    seed: int = 1
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    learning_rate: float = 0.03
    optimizer: str = "sgd"
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.0
    dropout: float = 0.0
    batch_norm: bool = False
    hide: tuple[str, ...] = field(default=())

    @property
    def task(self) -> str:
        """``classification`` or ``regression`` (an upload's task comes with its data)."""
        return "regression" if self.dataset in REGRESSION else "classification"

    @classmethod
    def from_dict(cls, values: object) -> Config:
        """Check a JSON object; missing fields keep their defaults, unknown ones are refused."""
        if not isinstance(values, dict):
            raise ConfigError("config", "a JSON object of settings", values)
        names = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                raise ConfigError("config", "only the settings " + ", ".join(names), key)
        merged = {**dataclasses.asdict(cls()), **values}
        return cls(**_checked(merged))

    @classmethod
    def from_query(cls, query: str) -> Config:
        """Parse the URL form (``dataset=spiral&hidden=4,4&...``) and check it."""
        if len(query) > 4000:
            raise ConfigError("link", "a query string of at most 4000 characters",
                              f"{len(query)} characters")
        kinds = {f.name: f.type for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, text in parse_qsl(query.lstrip("?"), keep_blank_values=True):
            if key not in kinds:
                raise ConfigError("link", "only the settings " + ", ".join(kinds), key)
            values[key] = _from_text(key, kinds[key], text)
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (lists for the tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    def to_query(self) -> str:
        """The URL form, every field in a fixed order."""
        def text(v: Any) -> str:
            if isinstance(v, tuple):
                return ",".join(map(str, v))
            if isinstance(v, bool):
                return "1" if v else "0"
            return f"{v:g}" if isinstance(v, float) else str(v)
        return urlencode({k: text(v) for k, v in dataclasses.asdict(self).items()}, safe=",^")


def _from_text(key: str, kind: str, text: str) -> Any:
    """A query string's text as the field's JSON type (the checks come after)."""
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text not in ("0", "1", "true", "false"):
                raise ValueError
            return text in ("1", "true")
        if kind == "tuple[int, ...]":
            return [int(t) for t in text.split(",") if t]
        if kind == "tuple[str, ...]":
            return [t for t in text.split(",") if t]
        return text
    except ValueError:
        expected = {"int": "an integer", "float": "a number", "bool": "0 or 1",
                    "tuple[int, ...]": "comma-separated integers"}[kind]
        raise ConfigError(key, expected, text) from None


def _checked(v: dict[str, Any]) -> dict[str, Any]:
    """Every field checked and normalised; errors name the first bad field."""
    out = dict(v)
    out["dataset"] = _choice("dataset", v["dataset"], (*DATASETS, UPLOAD))
    out["classes"] = _number("classes", v["classes"], 2, 5, True)
    if out["dataset"] in CLASSIFICATION:
        allowed = CLASSIFICATION[out["dataset"]][1]
        if out["classes"] not in allowed:
            want = (f"exactly {allowed.start}" if len(allowed) == 1
                    else f"{allowed.start} to {allowed.stop - 1}")
            raise ConfigError("classes", f"{want} classes for the {out['dataset']} set",
                              out["classes"])
    out["noise"] = _number("noise", v["noise"], 0, 0.5, False)
    out["train_fraction"] = _number("train_fraction", v["train_fraction"], 0.1, 0.9, False)
    out["points"] = _number("points", v["points"], MIN_POINTS, MAX_POINTS, True)
    out["seed"] = _number("seed", v["seed"], 0, 2**31 - 1, True)
    out["features"] = _names("features", v["features"], tuple(FEATURES), 1)
    out["hidden"] = _widths(v["hidden"])
    out["activation"] = _choice("activation", v["activation"], HIDDEN_ACTIVATIONS)
    out["learning_rate"] = _number("learning_rate", v["learning_rate"], 1e-5, 10, False)
    out["optimizer"] = _choice("optimizer", v["optimizer"], OPTIMIZERS)
    out["batch_size"] = _number("batch_size", v["batch_size"], 1, 500, True)
    out["regularization"] = _choice("regularization", v["regularization"], REGULARIZATIONS)
    out["reg_rate"] = _number("reg_rate", v["reg_rate"], 0, 10, False)
    out["dropout"] = _number("dropout", v["dropout"], 0, 0.9, False)
    if not isinstance(v["batch_norm"], bool):
        raise ConfigError("batch_norm", "true or false", v["batch_norm"])
    out["hide"] = _names("hide", v["hide"], CONTROL_GROUPS, 0)
    return out
