"""How a training setting's value is read from text (the command line, a search space, a TOML
file): one reader per kind of value, each checking it and saying what it expects when it is
wrong (:class:`SettingsError`)."""

from __future__ import annotations

import math
from typing import Any

from ..layers import HIDDEN_ACTIVATIONS, check_rate

#: Counts above this are typing mistakes, not runs: refused before anything is allocated.
MAX_COUNT = 2**31 - 1
#: NumPy's generators take any seed >= 0; the usual 32-bit range keeps seeds portable.
MAX_SEED = 2**32 - 1


class SettingsError(ValueError):
    """A setting's value that is wrong on its own (``--epochs 0``) or with others (three
    dropout rates for two hidden layers); the command reports it like argparse's errors, with
    a pointer to its --help."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= MAX_COUNT:
        raise SettingsError(
            f"expected a positive integer up to {MAX_COUNT}, got {text!r}")
    return value


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED:
        raise SettingsError(f"expected a seed in 0..{MAX_SEED}, got {text!r}")
    return value


def size(text: str) -> int | float:
    """A number of examples (``10000``) or a fraction of them (``0.15``)."""
    try:
        value: int | float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = -1
        if not 0 <= value < 1:  # NaN fails too
            value = -1
    if not 0 <= value <= MAX_COUNT:
        raise SettingsError(
            f"expected a count of examples (such as 10000) or a fraction of them in [0, 1) "
            f"(such as 0.15), got {text!r}")
    return value


def _finite_float(text: str, low: float, high: float, include_low: bool, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value >= low if include_low else value > low)
            and value < high):
        raise SettingsError(f"expected {expected}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    return _finite_float(text, 0.0, math.inf, False, "a positive number")


def nonnegative_float(text: str) -> float:
    return _finite_float(text, 0.0, math.inf, True, "a number >= 0")


def fraction(text: str) -> float:
    return _finite_float(text, 0.0, 1.0, True, "a number in [0, 1)")


def widths(text: str) -> list[int]:
    """``64`` or ``256,128``: the widths of hidden layers (``0`` or ``""``: none)."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if parts == ["0"] or not parts:
        return []
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = [0]
    if not all(0 < w <= MAX_COUNT for w in values):
        raise SettingsError(
            f"expected positive layer widths such as 64 or 256,128, got {text!r}")
    return values


def activations(text: str) -> str | list[str]:
    """``relu`` (every hidden layer) or ``relu,tanh`` (one per hidden layer)."""
    names = text.replace(" ", "").split(",")
    unknown = [name for name in names if name not in HIDDEN_ACTIVATIONS]
    if unknown:
        which = f" ({unknown[0]!r} is none of them)" if len(names) > 1 else ""
        raise SettingsError(
            f"expected one of {', '.join(HIDDEN_ACTIVATIONS)}, or a comma-separated list of "
            f"them with one per hidden layer, got {text!r}{which}")
    return names[0] if len(names) == 1 else names


def rates(text: str) -> float | list[float]:
    """``0.5`` (every hidden layer) or ``0.2,0.1`` (one per hidden layer): dropout rates."""
    try:
        values = [check_rate(float(part)) for part in text.replace(" ", "").split(",")]
    except (TypeError, ValueError):  # the layers' one rule: a rate in [0, 1)
        raise SettingsError(
            f"expected dropout rates in [0, 1): one such as 0.5, or a comma-separated list with "
            f"one per hidden layer such as 0.2,0.1, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def columns(text: str) -> list[str]:
    """``a,b,c``: column names of a CSV table."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise SettingsError(f"expected column names separated by commas, got "
                                         f"{text!r}")
    return names


def show(value: Any) -> str:
    """A setting's value as it is typed on the command line (a flag: on or off)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def option(name: str) -> str:
    """The command-line spelling of a setting: ``batch_size`` -> ``--batch-size`` (messages
    name settings so, whichever door set them)."""
    return "--" + name.replace("_", "-")
