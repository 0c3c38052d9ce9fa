"""``mlp info``: what a model or checkpoint file holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .. import serialization
from ..run.text import layer_text
from .options import show

#: Entries of ``extra`` that ``mlp info`` shows in words, or that are too long to show.
SHOWN = ("settings", "metrics", "input_max", "image_shape", "data", "epoch_log",
         "unit_activity", "table")


def register(sub) -> None:
    p = sub.add_parser(
        "info", help="describe a model or checkpoint file",
        description="Print the architecture, parameter shapes, training settings and results "
                    "stored in a model or checkpoint file.")
    p.add_argument("model", metavar="MODEL", help="a model or checkpoint file")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # One reading, checked as every reader of a model file checks it (its extra included).
    model, meta = serialization.load_with_metadata(args.model)
    if args.json:
        shown = {k: v for k, v in meta.items() if k != "rng_state"}
        print(json.dumps(shown, indent=2, default=str))
        return 0
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    _architecture(args.model, meta, model)
    _training(extra)
    state = meta.get("training_state")
    if state:
        total = (extra.get("settings") or {}).get("epochs", "?")
        print(f"checkpoint: {state['epoch']} of {total} epochs done; continue with "
              f"'mlp train --resume {args.model}'")
    other = {k: v for k, v in extra.items() if k not in SHOWN}
    if other:
        print(f"extra: {json.dumps(other, default=str)[:400]}")
    return 0


def _architecture(path: str, meta: dict[str, Any], model) -> None:
    from ..initializers import default_init
    from ..layers import BatchNorm, Dropout

    print(f"{path}: {meta['class']} {'-'.join(map(str, model.layer_sizes))}, "
          f"activation {show(model.activation)}, output {model.output}, {model.dtype.name}")
    if any(isinstance(layer, BatchNorm | Dropout) for layer in model.layers):
        print("layers: " + " -> ".join(map(layer_text, model.layers)))
    n_params = sum(p.size for p in model.params.values())
    shapes = ", ".join(f"{k} {tuple(p.shape)}" for k, p in model.params.items())
    print(f"parameters: {n_params:,} ({shapes})")
    init = f"std {model.std:g}" if model.std is not None else f"init {model.init}"
    if model.std is None and model.init is None and isinstance(model.activation, list):
        # MLP(...) picks each hidden layer's scheme to suit its activation.
        init = "init " + ",".join(map(default_init, model.activation)) + " (by activation)"
    print(f"initialisation: {init}, seed {model.seed}")


def _training(extra: dict[str, Any]) -> None:
    from ..run.settings import TrainSettings

    settings = extra.get("settings")
    if isinstance(settings, dict):
        s = TrainSettings(**{k: v for k, v in settings.items() if k in TrainSettings.names()})
        table = extra.get("table")
        if isinstance(table, dict):
            classes = table.get("classes")
            kind = (f"classification into {len(classes)} classes ({', '.join(classes[:10])}"
                    f"{', ...' if len(classes) > 10 else ''})" if classes else "regression")
            print(f"trained on {s.data}: target {table.get('target')!r}, {kind}, "
                  f"{len(table.get('features', []))} standardised features; {s.describe()}")
        else:
            print(f"trained on {s.dataset}: {s.describe()}; inputs scaled to "
                  f"[0, {serialization.input_max(extra):g}]")
    metrics = extra.get("metrics")
    if isinstance(metrics, dict):
        _scores(metrics)


def _scores(metrics: dict[str, Any]) -> None:
    """``accuracy: train 0.95, val 0.93, test 0.93`` (or R^2 and the test RMSE)."""
    for key, label in (("accuracy", "accuracy"), ("r2", "R^2")):
        parts = [f"{split} {metrics[f'{split}_{key}']:.4f}" for split in ("train", "val", "test")
                 if isinstance(metrics.get(f"{split}_{key}"), int | float)]
        if parts:
            rmse = metrics.get("test_rmse")
            print(f"{label}: " + ", ".join(parts)
                  + (f"; test RMSE {rmse:.4g}" if isinstance(rmse, int | float) else ""))
