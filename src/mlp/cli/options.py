"""Parsing the command line: argparse with one-line errors, and the readers of
:mod:`mlp.run.values` as option types (their errors become argparse's)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from ..run import values
from ..run.values import MAX_COUNT, MAX_SEED, SettingsError, option, show

__all__ = ["MAX_COUNT", "MAX_SEED", "Parser", "activations", "arg_type", "columns", "fraction",
           "nonnegative_float", "option", "positive_float", "positive_int", "rates", "seed",
           "show", "size", "widths"]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage of ``mlp train`` is long)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def arg_type(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """``read`` as an argparse type: its message is argparse's."""

    @functools.wraps(read)
    def parse(text: str) -> Any:
        try:
            return read(text)
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


positive_int = arg_type(values.positive_int)
seed = arg_type(values.seed)
size = arg_type(values.size)
positive_float = arg_type(values.positive_float)
nonnegative_float = arg_type(values.nonnegative_float)
fraction = arg_type(values.fraction)
widths = arg_type(values.widths)
activations = arg_type(values.activations)
rates = arg_type(values.rates)
columns = arg_type(values.columns)
