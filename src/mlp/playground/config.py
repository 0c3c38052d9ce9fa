"""The page's whole state in one object, checked on the server like any user input, and
what the page may offer, sent to it (:func:`controls`) so that it restates none of it.

The page sends its state as JSON (``Config.from_dict``) or as the query string of its URL
(``Config.from_query``); a bad value raises :class:`ConfigError`, which names the field, what
was expected and what was given. ``to_query`` is the canonical URL form, so a link reproduces
the configuration.

The training controls are training settings (:data:`SETTING_OF`): each value is read by its
setting's reader in the run layer's table (:data:`mlp.run.settings.SETTINGS`, which
``mlp train``'s options and ``mlp tune``'s space are built from: same checks, same messages),
then held to the page's lesson limits (at most :data:`MAX_LAYERS` hidden layers of
:data:`MAX_WIDTH` units, batches of at most :data:`MAX_BATCH`), and the run layer checks them
together and builds the optimiser and penalty from them (:meth:`Config.settings`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..run.settings import SETTINGS, Setting, TrainSettings, from_values
from ..run.values import SettingsError, option
from .datasets import CLASSIFICATION, DATASETS, REGRESSION
from .features import FEATURES, LABELS
from .upload import MAX_BYTES

#: The dataset name of a CSV uploaded in the page (its points stay on the server).
UPLOAD = "upload"
#: The groups of controls a lesson's link may hide (``digits`` and ``backprop``: those tabs).
CONTROL_GROUPS = ("data", "features", "network", "training", "regularization", "gradcheck",
                  "export", "digits", "backprop")
#: The page's lesson limits, on top of the table's: a network it can draw, batches of a size
#: its data sets make sense of.
MAX_LAYERS, MAX_WIDTH, MAX_BATCH = 6, 8, 500
MIN_POINTS, MAX_POINTS = 50, 2000
#: The training controls, by the page's field: the training setting each one is. The names are
#: the table's, but for the learning rate, which the page's links have always called so.
SETTING_OF = {"hidden": "hidden", "activation": "activation", "learning_rate": "lr",
              "optimizer": "optimizer", "momentum": "momentum", "batch_size": "batch_size",
              "reg": "reg", "l1": "l1", "dropout": "dropout", "batch_norm": "batch_norm",
              "seed": "seed"}
#: What the page fixes: it trains one epoch per frame at a constant rate, in float64.
FIXED = {"schedule": "constant", "dtype": "float64"}
#: The values the page's menus offer (a link may choose any other value the table allows).
PRESETS = {
    "learning_rate": (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10),
    "momentum": (0, 0.5, 0.9, 0.99),
    "reg": (0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1),
    "l1": (0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1),
    "dropout": (0, 0.1, 0.2, 0.3, 0.5),
    "points": (100, 200, 500, 1000, 2000),
}


class ConfigError(ValueError):
    """A configuration value the page may not use. ``field`` names it. Without ``given``,
    ``expected`` is the whole complaint (a setting's reader's message)."""

    _NOTHING = object()

    def __init__(self, name: str, expected: str, given: object = _NOTHING) -> None:
        self.field = name
        text = expected if given is self._NOTHING else f"expected {expected}; got {given!r}"
        super().__init__(f"{name}: {text}")


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
    # The range first: an integer too large for a float (JSON allows 1e400 written out) would
    # make isfinite raise OverflowError; NaN fails the comparison.
    if not (lo <= value <= hi and math.isfinite(value)):
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
    momentum: float = 0.0
    batch_size: int = 10
    reg: float = 0.0
    l1: float = 0.0
    dropout: float = 0.0
    batch_norm: bool = False
    hide: tuple[str, ...] = field(default=())

    @property
    def task(self) -> str:
        """``classification`` or ``regression`` (an upload's task comes with its data)."""
        return "regression" if self.dataset in REGRESSION else "classification"

    def settings(self, epochs: int = 1) -> TrainSettings:
        """The run layer's settings of ``epochs`` epochs of this page's training (the page
        trains one per frame): its network, optimiser, penalties and batches."""
        return _settings(dataclasses.asdict(self), epochs)

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
        """Parse the URL form (``dataset=spiral&hidden=4,4&...``) and check it. Links written
        before the page's training controls were the table's settings still load
        (:func:`_old_link`)."""
        if len(query) > 4000:
            raise ConfigError("link", "a query string of at most 4000 characters",
                              f"{len(query)} characters")
        kinds = {f.name: f.type for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        texts = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
        for key, text in _old_link(texts).items():
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


def _old_link(texts: dict[str, str]) -> dict[str, str]:
    """A link's fields in today's words. Before the table, ``optimizer=momentum`` meant SGD
    with momentum 0.9, and ``regularization=l1|l2`` with ``reg_rate=r`` the penalty
    ``r * sum |W|`` or ``r * sum W^2``: now ``l1=r``, or ``reg=2r`` (the table's L2 is
    ``0.5 * reg * sum W^2``: the same penalty)."""
    texts = dict(texts)
    if texts.get("optimizer") == "momentum":
        texts["optimizer"] = "sgd"
        texts.setdefault("momentum", "0.9")
    kind = texts.pop("regularization", None)
    rate = texts.pop("reg_rate", None)
    if kind not in (None, "none", "l1", "l2"):
        raise ConfigError("regularization", "one of none, l1, l2", kind)
    if kind in ("l1", "l2") and rate is not None:
        value = _from_text("reg_rate", "float", rate)
        texts["l1" if kind == "l1" else "reg"] = repr(value if kind == "l1" else 2 * value)
    return texts


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
    out["features"] = _names("features", v["features"], tuple(FEATURES), 1)
    for name in SETTING_OF:
        out[name] = _setting(name, v[name])
    out["hide"] = _names("hide", v["hide"], CONTROL_GROUPS, 0)
    _settings(out, 1)  # the settings together, as the run layer checks them
    return out


# -- the training controls: the table's settings ---------------------------------------------


def _setting(name: str, value: object) -> Any:
    """A training control's value: of its JSON type, then read by its setting's reader in the
    table (refused with the reader's message), then held to the page's limits."""
    setting = SETTINGS[SETTING_OF[name]]
    try:
        typed = setting.parse(_text_of(name, value, setting))
    except SettingsError as exc:
        raise ConfigError(name, str(exc)) from None
    if name == "hidden":
        if len(value) > MAX_LAYERS or not all(1 <= w <= MAX_WIDTH for w in value):
            raise ConfigError("hidden", f"a list of 0 to {MAX_LAYERS} layer widths, each an "
                              f"integer from 1 to {MAX_WIDTH}", value)
        return tuple(value)
    if isinstance(typed, list):  # "relu,tanh": the page has one control for every layer
        raise ConfigError(name, "one value, for every hidden layer", value)
    if name == "batch_size" and typed > MAX_BATCH:
        raise ConfigError("batch_size", f"at most {MAX_BATCH} examples per batch in the page",
                          value)
    return typed


def _text_of(name: str, value: object, setting: Setting) -> str:
    """The text of a JSON value, as the setting's reader reads it from the command line, or a
    ConfigError if it is not of the control's JSON type."""
    if setting.flag:
        if not isinstance(value, bool):
            raise ConfigError(name, "true or false", value)
        return "on" if value else "off"
    if name == "hidden":
        if not isinstance(value, list | tuple) or not all(
                isinstance(w, int) and not isinstance(w, bool) for w in value):
            raise ConfigError(name, "a list of layer widths", value)
        return ",".join(map(str, value))
    if setting.choices is not None or setting.names is not None:
        if not isinstance(value, str):
            raise ConfigError(name, "a name", value)
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(name, "a number", value)
    if isinstance(value, float) and value.is_integer() and setting.read in _WHOLE:
        value = int(value)  # JSON has one number type: 3.0 is a fine integer
    return repr(value)


def _settings(v: dict[str, Any], epochs: int) -> TrainSettings:
    """The run layer's settings of checked page values; a combination it refuses (batch norm
    on batches of one) is a ConfigError (field ``config``) in the page's words."""
    values = {**FIXED, "epochs": epochs}
    for name, setting in SETTING_OF.items():
        needs = SETTINGS[setting].needs
        if needs and v[_FIELD_OF[needs[0]]] not in needs[1]:
            continue  # SGD's momentum with Adam: kept in the page, not used
        values[setting] = list(v[name]) if isinstance(v[name], tuple) else v[name]
    try:
        return from_values(values)
    except SettingsError as exc:
        raise ConfigError("config", _in_page_words(str(exc))) from None


def _in_page_words(message: str) -> str:
    """A run layer's message with the page's field names for the command's options."""
    return re.sub(r"--([a-z0-9-]+)",
                  lambda m: _FIELD_OF.get(m.group(1).replace("-", "_"), m.group(0)), message)


_FIELD_OF = {setting: name for name, setting in SETTING_OF.items()}
_WHOLE = {SETTINGS["seed"].read, SETTINGS["batch_size"].read}


# -- what the page is sent ---------------------------------------------------------------------


def controls() -> dict[str, Any]:
    """What the page offers and allows, so that it restates none of it: each training
    control's setting (its help, choices or range, and the setting it needs) with the page's
    menus and limits on top; the data sets, their classes, features and ranges; the groups a
    lesson may hide; the largest upload."""
    return {
        "training": {name: _control(name, SETTINGS[setting])
                     for name, setting in SETTING_OF.items()},
        "data": {
            "datasets": list(DATASETS),
            "classes": {name: list(CLASSIFICATION[name][1]) for name in CLASSIFICATION},
            "regression": list(REGRESSION),
            "points": {"low": MIN_POINTS, "high": MAX_POINTS, "choices": list(PRESETS["points"])},
            "noise": {"low": 0, "high": 0.5, "step": 0.05},
            "train_fraction": {"low": 0.1, "high": 0.9, "step": 0.1},
            "features": [[name, LABELS[name]] for name in FEATURES],
        },
        "hide": list(CONTROL_GROUPS),
        "upload": {"max_bytes": MAX_BYTES},
        "defaults": Config().to_dict(),
    }


def _control(name: str, setting: Setting) -> dict[str, Any]:
    """One training control: its setting's help (without the command's default), its choices
    (the table's, or the page's menu of values) and range (the table's, within the page's
    limits), and the control whose value it needs (momentum: the optimizer sgd)."""
    high = {"batch_size": MAX_BATCH, "hidden": MAX_WIDTH}.get(name, setting.high)
    out: dict[str, Any] = {
        "setting": setting.name, "option": option(setting.name),
        "help": re.sub(r"\s*\(default: [^()]*\)$", "", setting.help),
        "kind": "flag" if setting.flag else "name" if setting.choices or setting.names
        else "widths" if name == "hidden" else "integer" if setting.read in _WHOLE else "number",
        "choices": list(setting.choices or setting.names or PRESETS.get(name, ())),
        "low": setting.low, "high": None if high is None or math.isinf(high) else high,
    }
    if name == "hidden":
        out["max_layers"] = MAX_LAYERS
    if setting.needs:
        out["needs"] = [_FIELD_OF[setting.needs[0]], list(setting.needs[1])]
    return out


assert set(SETTING_OF.values()) <= set(SETTINGS), "a training control without its setting"
