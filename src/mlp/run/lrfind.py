"""A learning-rate range test as a run: the network and data of a run's settings, the test
with the settings' batch size, optimiser and seed, and its files (the curve as JSON and as a
picture), written atomically into the run's folder.

``mlp lr-find`` is this with argparse and printing around it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..lrfind import LRFinderResult, find_learning_rate
from .data import Splits
from .files import save_figure, write_json
from .settings import SETTINGS, TrainSettings
from .values import option

#: The files a range test writes into its folder.
FILES = ("lr_find.json", "lr_find.png")
#: The optimisation settings that shape the test; the others (the rate itself, its schedule,
#: the epochs, the penalties, early stopping) do not apply to it.
TESTED = ("batch_size", "optimizer", "momentum", "nesterov", "seed")


def find_rate(model, s: TrainSettings, data: Splits, *, start: float, end: float,
              steps: int) -> LRFinderResult:
    """The range test of ``model`` on the training split, with the settings' batch size,
    optimiser (fresh) and seed; ``model`` is left unchanged."""
    return find_learning_rate(model, data.X, data.y, batch_size=s.batch_size, start=start,
                              end=end, num_steps=steps, optimizer=s.make_optimizer(),
                              seed=s.seed)


def train_option(result: LRFinderResult) -> str:
    """``--lr 0.0351``: the suggestion to three significant digits, as ``mlp train`` reads it
    (more would claim a precision the test does not have)."""
    return f"{option('lr')} {result.suggestion:.3g}"


def record(s: TrainSettings, data: Splits, start: float, end: float,
           steps: int) -> dict[str, Any]:
    """What ``lr_find.json`` records beside the curve: the settings that apply to the test
    (data, architecture and :data:`TESTED`), the data's sizes and the range."""
    tested = {name: value for name, value in s.to_dict().items()
              if SETTINGS[name].group != "optimisation" or name in TESTED}
    return {"settings": tested, "data": data.info, "start": start, "end": end, "steps": steps}


def write_files(out: Path, result: LRFinderResult, record: dict[str, Any],
                plots: bool = True) -> list[str]:
    """``lr_find.json`` (the curve, the suggestion, ``record``: the settings and data) and,
    with ``plots``, ``lr_find.png`` into ``out``; returns the names written."""
    write_json(out / FILES[0], {**result.to_dict(), "train_option": train_option(result),
                                **record})
    if not plots:
        return [FILES[0]]
    from ..viz import plot_lr_find

    save_figure(plot_lr_find(result), out / FILES[1])
    return list(FILES)
