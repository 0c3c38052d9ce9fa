"""The ``mlp`` command: train, evaluate, predict, check gradients, describe a model file.

    mlp train                                  # the bundled MNIST subset, a good recipe, ~10 s
    mlp evaluate runs/<run>/model.npz --dataset mnist-small
    mlp predict runs/<run>/model.npz digit.png
    mlp gradcheck --activation sigmoid
    mlp info runs/<run>/model.npz

Every error is reported as one line ``mlp: error: ...`` on stderr with exit status 2.
See docs/cli.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .layers import HIDDEN_ACTIVATIONS
from .training import Callback

# -- argument parsing -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage of ``mlp train`` is long)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _UsageError(ValueError):
    """Options that parse one by one but do not fit together (three dropout rates for two
    hidden layers): reported like argparse's errors, by the command's own parser."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _finite_float(text: str, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        expected = "a positive number" if positive else "a number >= 0"
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    return _finite_float(text, positive=True)


def _nonnegative_float(text: str) -> float:
    return _finite_float(text, positive=False)


def _widths(text: str) -> list[int]:
    """``64`` or ``256,128``: the widths of hidden layers (``0`` or ``""``: none)."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if parts == ["0"] or not parts:
        return []
    try:
        widths = [int(p) for p in parts]
    except ValueError:
        widths = [0]
    if any(w <= 0 for w in widths):
        raise argparse.ArgumentTypeError(
            f"expected positive layer widths such as 64 or 256,128, got {text!r}"
        )
    return widths


def _activations(text: str) -> str | list[str]:
    """``relu`` (every hidden layer) or ``relu,tanh`` (one per hidden layer)."""
    names = text.replace(" ", "").split(",")
    unknown = [name for name in names if name not in HIDDEN_ACTIVATIONS]
    if unknown:
        which = f" ({unknown[0]!r} is none of them)" if len(names) > 1 else ""
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(HIDDEN_ACTIVATIONS)}, or a comma-separated list of "
            f"them with one per hidden layer, got {text!r}{which}"
        )
    return names[0] if len(names) == 1 else names


def _rates(text: str) -> float | list[float]:
    """``0.5`` (every hidden layer) or ``0.2,0.1`` (one per hidden layer): dropout rates."""
    try:
        rates = [float(part) for part in text.replace(" ", "").split(",")]
    except ValueError:
        rates = [math.nan]
    if not all(0 <= rate < 1 for rate in rates):  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"expected dropout rates in [0, 1): one such as 0.5, or a comma-separated list with "
            f"one per hidden layer such as 0.2,0.1, got {text!r}"
        )
    return rates[0] if len(rates) == 1 else rates


def _check_per_layer(option: str, value: Any, hidden: list[int], what: str) -> None:
    """A list given to ``option`` must have one entry per hidden layer (a single value is
    used for every layer)."""
    if isinstance(value, list) and len(value) != len(hidden):
        widths = ",".join(map(str, hidden)) or "0"
        raise _UsageError(
            f"{option} expects one {what}, or one per hidden layer ({len(hidden)} for --hidden "
            f"{widths}), got {len(value)}: {_show(value)}"
        )


def _show(value: Any) -> str:
    """An option's value as it is typed on the command line (a flag: on or off)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("exp", "step", "cosine", "constant")
DTYPES = ("float32", "float64")

#: ``mlp train``'s recipe when an option is not given: about 0.93 test accuracy on the bundled
#: subset in a few seconds.
TRAIN_DEFAULTS: dict[str, Any] = {
    "dataset": "mnist-small",
    "train_size": None,
    "scale": True,
    "dtype": "float32",
    "hidden": [128],
    "activation": "relu",
    "dropout": 0.0,
    "batch_norm": False,
    "init": None,
    "std": None,
    "epochs": 15,
    "batch_size": 64,
    "optimizer": "sgd",
    "lr": None,  # 0.05 for SGD, 0.001 for Adam
    "momentum": None,  # 0.9 for SGD
    "nesterov": False,
    "schedule": "exp",
    "decay": 0.95,
    "step_epochs": 5,
    "warmup": 0.0,
    "reg": 1e-4,
    "l1": 0.0,
    "proximal": False,
    "seed": 0,
}
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}

#: What may differ between a checkpoint and the command that resumes it.
RESUME_MAY_CHANGE = {"epochs"}


def _train_parser(sub) -> None:
    d = TRAIN_DEFAULTS
    p = sub.add_parser(
        "train",
        help="train a network and write the model, metrics, history and pictures",
        description=(
            "Train a multi-layer perceptron on an MNIST-style dataset. Writes into the output "
            "folder: model.npz, metrics.json, history.csv (per epoch), iterations.csv (per "
            "iteration), stats.png, weights.png, confusion_matrix.png, unit_activity.png and "
            "a checkpoint after every epoch (resume a killed run with --resume). With no "
            "options it trains on the bundled MNIST subset in a few seconds."
        ),
    )
    data = p.add_argument_group("data")
    data.add_argument("--dataset", metavar="NAME|FOLDER",
                      help="mnist-small (bundled, offline), mnist, fashion-mnist, or a folder "
                           f"of the four IDX files (default: {d['dataset']})")
    data.add_argument("--train-size", type=_positive_int, metavar="N",
                      help="train on the first N training images only (default: all)")
    data.add_argument("--scale", action=argparse.BooleanOptionalAction, default=None,
                      help="divide the pixels by 255 (default: yes; --no-scale keeps the "
                           "problem set's raw 0-255 inputs)")
    data.add_argument("--dtype", choices=DTYPES,
                      help=f"floating-point type of the network and data (default: {d['dtype']})")

    arch = p.add_argument_group("architecture")
    arch.add_argument("--hidden", type=_widths, action="extend", metavar="WIDTHS",
                      help="hidden layer widths, repeatable or comma-separated: --hidden 256,128"
                           " (default: 128; 0 for none, i.e. softmax regression)")
    arch.add_argument("--activation", type=_activations, metavar="NAME[,NAME...]",
                      help=f"hidden activation, {'|'.join(HIDDEN_ACTIVATIONS)}, for every "
                           "hidden layer, or a comma-separated list with one per hidden layer: "
                           f"--activation relu,tanh (default: {d['activation']})")
    arch.add_argument("--dropout", type=_rates, metavar="RATE[,RATE...]",
                      help="inverted dropout after each hidden activation: each unit is zeroed "
                           "with probability RATE in training (and the rest scaled by "
                           "1/(1-RATE)); one rate for every hidden layer, or one per hidden "
                           "layer (default: 0, none)")
    arch.add_argument("--batch-norm", action="store_true", default=None,
                      help="batch normalisation between each hidden affine layer and its "
                           "activation (default: off)")
    arch.add_argument("--init", choices=("he", "xavier"),
                      help="weight scale: he (for ReLU) or xavier (for sigmoid/tanh) (default: "
                           "the one that suits each layer's activation)")
    arch.add_argument("--std", type=_positive_float,
                      help="draw every weight as std * randn instead (the problem set's rule, "
                           "which used 0.1)")

    opt = p.add_argument_group("optimisation")
    opt.add_argument("--epochs", type=_positive_int,
                     help=f"passes over the training set (default: {d['epochs']})")
    opt.add_argument("--batch-size", type=_positive_int, metavar="N",
                     help=f"examples per gradient step (default: {d['batch_size']})")
    opt.add_argument("--optimizer", choices=OPTIMIZERS,
                     help=f"update rule (default: {d['optimizer']})")
    opt.add_argument("--lr", type=_positive_float, metavar="RATE",
                     help="base learning rate (default: 0.05 for sgd, 0.001 for adam)")
    opt.add_argument("--momentum", type=_nonnegative_float,
                     help="SGD momentum in [0, 1) (default: 0.9)")
    opt.add_argument("--nesterov", action="store_true", default=None,
                     help="Nesterov momentum (SGD only)")
    opt.add_argument("--schedule", choices=SCHEDULES,
                     help="learning-rate schedule: exp multiplies the rate by --decay after "
                          "every epoch, step by --decay every --step-epochs, cosine anneals to "
                          f"0 over the run (default: {d['schedule']})")
    opt.add_argument("--decay", type=_positive_float,
                     help=f"factor of the exp and step schedules (default: {d['decay']})")
    opt.add_argument("--step-epochs", type=_positive_int, metavar="N",
                     help=f"epochs between steps of the step schedule (default: "
                          f"{d['step_epochs']})")
    opt.add_argument("--warmup", type=_nonnegative_float, metavar="EPOCHS",
                     help="linear warm-up of the rate over this many epochs (default: 0)")
    opt.add_argument("--reg", type=_nonnegative_float,
                     help="L2 strength: the loss adds 0.5 * reg * sum ||W||^2 (the problem set's"
                          f" convention) (default: {d['reg']:g})")
    opt.add_argument("--l1", type=_nonnegative_float,
                     help="L1 strength: the loss adds l1 * sum |W| (default: 0)")
    opt.add_argument("--proximal", action="store_true", default=None,
                     help="apply the L1 penalty by soft-thresholding after each step, which "
                          "makes exact zeros (needs --l1)")
    opt.add_argument("--seed", type=int,
                     help=f"seed of the initial weights and the shuffling (default: {d['seed']})")

    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR",
                     help="output folder (default: runs/<date-time>, or the checkpoint's folder "
                          "with --resume)")
    out.add_argument("--checkpoint", metavar="FILE",
                     help="checkpoint written after every epoch (default: DIR/checkpoint.npz)")
    out.add_argument("--no-checkpoint", action="store_true", help="write no checkpoint")
    out.add_argument("--resume", metavar="CHECKPOINT",
                     help="continue the run saved in CHECKPOINT with its settings (only "
                          "--epochs may change); the result equals that of an uninterrupted run")
    out.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    out.add_argument("--quiet", "-q", action="store_true",
                     help="no progress bars and no summary")
    p.set_defaults(func=cmd_train)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mlp",
        description="Multi-layer perceptrons from scratch in NumPy: train, evaluate and inspect "
                    "networks on MNIST-style digits.",
        epilog="Run 'mlp COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"mlp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _train_parser(sub)

    p = sub.add_parser(
        "evaluate", help="accuracy, per-class accuracy and confusion matrix of a saved model",
        description="Evaluate a saved model (or checkpoint) on a dataset split: overall and "
                    "per-class accuracy, the confusion matrix as text and as a PNG.")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'mlp train'")
    p.add_argument("--dataset", metavar="NAME|FOLDER",
                   help="mnist-small, mnist, fashion-mnist or a folder of IDX files (default: "
                        "the dataset the model was trained on, else mnist-small)")
    p.add_argument("--split", choices=("test", "val", "train"), default="test",
                   help="which part of the dataset (default: test)")
    p.add_argument("--figure", metavar="PNG",
                   help="where to write the confusion matrix picture (default: "
                        "confusion_matrix_<dataset>_<split>.png beside the model)")
    p.add_argument("--no-figure", action="store_true", help="write no picture")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "predict", help="classify images of handwritten digits",
        description="Classify PNG/JPEG images of single digits, of any size and colours. Each "
                    "image is converted the way MNIST's digits were made: grey, inverted to a "
                    "white digit on black if its background is light, cropped to the digit, "
                    "scaled into a 20x20 box and centred by its centre of mass in 28x28.")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'mlp train'")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--top", type=_positive_int, default=1, metavar="K",
                   help="show the K most likely labels (default: 1)")
    p.add_argument("--save-inputs", metavar="DIR",
                   help="also write the 28x28 images the network sees, as PNGs, into DIR")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "gradcheck", help="compare analytic and numeric gradients of a network",
        description="Build a small network on random data and print, per parameter, the "
                    "largest relative error between its backpropagated gradient and centred "
                    "differences, in float64 (in float32 the differences themselves are only "
                    "good to about 1e-3). Exit status 1 if an error exceeds --tolerance. The "
                    "defaults "
                    "are the problem set's toy network (4 inputs, 10 hidden units, 3 classes, "
                    "5 examples, reg 0.1).")
    p.add_argument("--inputs", type=_positive_int, default=4, metavar="D",
                   help="input features (default: 4)")
    p.add_argument("--hidden", type=_widths, action="extend", metavar="WIDTHS",
                   help="hidden widths, repeatable or comma-separated (default: 10)")
    p.add_argument("--classes", type=_positive_int, metavar="C",
                   help="output classes (default: 3; 1 with --output sigmoid)")
    p.add_argument("--examples", type=_positive_int, default=5, metavar="N",
                   help="examples in the batch (default: 5)")
    p.add_argument("--activation", type=_activations, default="relu",
                   metavar="NAME[,NAME...]",
                   help=f"hidden activation, {'|'.join(HIDDEN_ACTIVATIONS)}, or a "
                        "comma-separated list with one per hidden layer (default: relu)")
    p.add_argument("--dropout", type=_rates, default=0.0, metavar="RATE[,RATE...]",
                   help="dropout after each hidden activation, one rate or one per hidden "
                        "layer; the check holds the masks fixed (default: 0)")
    p.add_argument("--batch-norm", action="store_true",
                   help="batch normalisation before each hidden activation")
    p.add_argument("--output", choices=("softmax", "sigmoid"), default="softmax",
                   help="softmax cross-entropy or binary (sigmoid) cross-entropy (default: "
                        "softmax)")
    p.add_argument("--reg", type=_nonnegative_float, default=0.1,
                   help="L2 strength, 0.5 * reg * sum ||W||^2 (default: 0.1)")
    p.add_argument("--std", type=_positive_float, default=0.1,
                   help="weights drawn as std * randn (default: 0.1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--tolerance", type=_positive_float, default=1e-6, metavar="TOL",
                   help="largest acceptable relative error (default: 1e-6)")
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser(
        "info", help="describe a model or checkpoint file",
        description="Print the architecture, parameter shapes, training settings and results "
                    "stored in a model or checkpoint file.")
    p.add_argument("model", metavar="MODEL", help="a model or checkpoint file")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    p.set_defaults(func=cmd_info)
    parser.commands = sub.choices  # type: ignore[attr-defined]
    return parser


# -- shared helpers -------------------------------------------------------------------------------


def _echo(*parts: object, quiet: bool = False) -> None:
    if not quiet:
        print(*parts, flush=True)


def _load_split(dataset: str, split: str, dtype: str, input_max: float, train_size=None):
    """X (N, D), y (N,) and the image shape of one split, pixels scaled to [0, input_max]."""
    from .data import load_dataset

    scale = input_max != 255.0
    ds = load_dataset(dataset, dtype=dtype, scale=scale, flatten=False)
    X, y = {"train": (ds.X_train, ds.y_train), "val": (ds.X_val, ds.y_val),
            "test": (ds.X_test, ds.y_test)}[split]
    if train_size is not None and split == "train":
        X, y = X[:train_size], y[:train_size]
    image_shape = X.shape[1:]
    X = X.reshape(len(X), -1)
    if scale and input_max != 1.0:
        X = X * np.asarray(input_max, dtype=X.dtype)
    return X, y, list(image_shape)


def _arch(model, noun: str = "") -> str:
    """``784-128-10 relu``, then ``with batch norm and dropout 0.2`` where the model has them."""
    text = f"{'-'.join(map(str, model.layer_sizes))} {_show(model.activation)}"
    text += f" {noun}" if noun else ""
    extras = ["batch norm"] if model.batch_norm else []
    rates = model.dropout if isinstance(model.dropout, list) else [model.dropout]
    if any(rates):
        extras.append(f"dropout {_show(model.dropout)}")
    return text + (f" with {' and '.join(extras)}" if extras else "")


def _model_extra(path: str) -> dict[str, Any]:
    from .serialization import load_metadata

    extra = load_metadata(path).get("extra")
    return extra if isinstance(extra, dict) else {}


def _check_inputs(model, n_features: int, what: str) -> None:
    if model.input_size != n_features:
        raise ValueError(
            f"the model takes {model.input_size} inputs per example, but {what} has "
            f"{n_features}"
        )


def _savefig(fig, path: Path) -> None:
    fig.savefig(path, dpi=100)


# -- mlp train ------------------------------------------------------------------------------------


class _EpochLog(Callback):
    """Per-epoch rows for history.csv: mean loss and gradient norm of the epoch, the
    accuracies, the learning rate and the time taken."""

    def __init__(self, schedule, base_lr: float, rows: list[dict] | None = None) -> None:
        self.schedule, self.base_lr = schedule, base_lr
        self.rows: list[dict] = list(rows or [])
        self._tick = time.perf_counter()

    def on_train_begin(self, state) -> None:
        self._tick = time.perf_counter()

    def on_epoch_end(self, state) -> None:
        h, n = state.history, state.iterations
        now = time.perf_counter()
        self.rows.append({
            "epoch": state.epoch,
            "loss": float(np.mean(h["loss_history"][-n:])),
            "grad_norm_W1": float(np.mean(h["grad_magnitude_history"][-n:])),
            "train_acc_last_batch": h["train_acc_history"][-1],
            "val_acc": h["val_acc_history"][-1] if h["val_acc_history"] else math.nan,
            "learning_rate": self.base_lr * self.schedule(state.epoch - 1),
            "seconds": now - self._tick,
        })
        self._tick = now


def _resolve_settings(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    explicit = {key: getattr(args, key) for key in TRAIN_DEFAULTS
                if getattr(args, key, None) is not None}
    if saved is not None:
        return _resumed_settings(explicit, saved)
    settings = {**TRAIN_DEFAULTS, **explicit}
    _check_per_layer("--activation", settings["activation"], settings["hidden"], "name")
    _check_per_layer("--dropout", settings["dropout"], settings["hidden"], "rate")
    if settings["batch_norm"] and settings["batch_size"] < 2:
        raise _UsageError(f"--batch-norm needs --batch-size 2 or more (it normalises with the "
                          f"batch's statistics), got {settings['batch_size']}")
    if settings["lr"] is None:
        settings["lr"] = DEFAULT_LR[settings["optimizer"]]
    if settings["optimizer"] == "sgd":
        if settings["momentum"] is None:
            settings["momentum"] = 0.9
    else:
        if settings["momentum"] is not None or settings["nesterov"]:
            raise ValueError("--momentum and --nesterov apply to --optimizer sgd only")
        settings["momentum"] = None
    if settings["proximal"] and not settings["l1"]:
        raise ValueError("--proximal applies the L1 penalty: give --l1 too")
    return settings


def _resumed_settings(explicit: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    # Checkpoints from before an option existed were trained with its default.
    settings = {**TRAIN_DEFAULTS, **saved}
    for key, value in explicit.items():
        if key not in RESUME_MAY_CHANGE and value != settings[key]:
            raise ValueError(
                f"--{key.replace('_', '-')} {_show(value)} differs from the checkpoint's "
                f"{_show(settings[key])}: a resumed run keeps its settings (only --epochs may "
                f"change)"
            )
    settings.update({k: v for k, v in explicit.items() if k in RESUME_MAY_CHANGE})
    return settings


def _optimizer(settings: dict[str, Any]):
    from .optim import SGD, Adam

    if settings["optimizer"] == "adam":
        return Adam()
    return SGD(momentum=settings["momentum"], nesterov=settings["nesterov"])


def _schedule(settings: dict[str, Any]):
    from .optim import Constant, CosineDecay, ExponentialDecay, StepDecay, Warmup

    kind, epochs, warmup = settings["schedule"], settings["epochs"], settings["warmup"]
    if kind == "exp":
        schedule = ExponentialDecay(settings["decay"])
    elif kind == "step":
        schedule = StepDecay(settings["step_epochs"], gamma=settings["decay"])
    elif kind == "cosine":
        schedule = CosineDecay(max(epochs - warmup, 1e-9))
    else:
        schedule = Constant()
    return Warmup(warmup, after=schedule) if warmup > 0 else schedule


def _describe(settings: dict[str, Any]) -> str:
    opt = settings["optimizer"]
    if opt == "sgd" and settings["momentum"]:
        opt += f" (momentum {settings['momentum']:g}{', nesterov' if settings['nesterov'] else ''})"
    text = f"{opt}, lr {settings['lr']:g}, {settings['schedule']} schedule"
    if settings["reg"]:
        text += f", reg {settings['reg']:g}"
    if settings["l1"]:
        text += f", l1 {settings['l1']:g}{' (proximal)' if settings['proximal'] else ''}"
    return text + f", batch {settings['batch_size']}, {settings['epochs']} epochs"


def _default_out() -> Path:
    base = Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


EPOCH_FIELDS = ("epoch", "loss", "grad_norm_W1", "train_acc_last_batch", "val_acc",
                "learning_rate", "seconds")
ITERATION_FIELDS = ("iteration", "epoch", "loss", "grad_norm_W1")


def _write_csv(path: Path, fields: Sequence[str], rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def cmd_train(args: argparse.Namespace) -> int:
    from . import serialization as io
    from .callbacks import ActivityMonitor, Checkpoint, ProgressBar
    from .network import MLP
    from .regularizers import L1

    started = time.perf_counter()
    saved_extra: dict[str, Any] = {}
    resume = None
    if args.resume:
        model, resume = io.load_checkpoint(args.resume)
        saved_extra = _model_extra(args.resume)
        if "settings" not in saved_extra:
            raise ValueError(f"{args.resume}: a checkpoint without 'mlp train' settings; resume "
                             "it from Python with model.train(..., resume=...)")
    settings = _resolve_settings(args, saved_extra.get("settings"))
    quiet = args.quiet
    out = Path(args.out) if args.out else (
        Path(args.resume).parent if args.resume else _default_out())
    checkpoint = None if args.no_checkpoint else Path(
        args.checkpoint or (args.resume if args.resume else out / "checkpoint.npz"))

    input_max = 1.0 if settings["scale"] else 255.0
    X, y, image_shape = _load_split(settings["dataset"], "train", settings["dtype"], input_max,
                                    settings["train_size"])
    X_val, y_val, _ = _load_split(settings["dataset"], "val", settings["dtype"], input_max)
    X_test, y_test, _ = _load_split(settings["dataset"], "test", settings["dtype"], input_max)
    n_classes = 10
    if resume is None:
        model = MLP(X.shape[1], settings["hidden"], n_classes, activation=settings["activation"],
                    init=settings["init"], std=settings["std"], seed=settings["seed"],
                    dtype=settings["dtype"], dropout=settings["dropout"],
                    batch_norm=settings["batch_norm"])
    else:
        _check_inputs(model, X.shape[1], f"dataset {settings['dataset']!r}")
        done = resume[0]["epoch"]
        if done > settings["epochs"]:
            raise ValueError(f"{args.resume} has completed {done} epochs, more than "
                             f"--epochs {settings['epochs']}")
    out.mkdir(parents=True, exist_ok=True)

    optimizer, schedule = _optimizer(settings), _schedule(settings)
    log = _EpochLog(schedule, settings["lr"], saved_extra.get("epoch_log"))
    monitor = ActivityMonitor(X_val if len(X_val) else X)
    if "unit_activity" in saved_extra:
        monitor.history = saved_extra["unit_activity"]
    # On resume the first saved activities already cover the epochs done.
    data_info = {"dataset": settings["dataset"], "train": len(X), "val": len(X_val),
                 "test": len(X_test), "image_shape": image_shape}

    def extra() -> dict[str, Any]:
        return {"settings": settings, "input_max": input_max, "image_shape": image_shape,
                "data": data_info, "epoch_log": log.rows, "unit_activity": monitor.history}

    callbacks = [log, monitor] + ([] if quiet else [ProgressBar()])
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(Checkpoint(checkpoint, extra=extra))

    _echo(f"mlp train: {_arch(model)} on {settings['dataset']} ({len(X)} train, {len(X_val)} "
          f"val, {len(X_test)} test), {settings['dtype']}; {_describe(settings)}"
          + (f"; resuming after epoch {resume[0]['epoch']}" if resume else ""), quiet=quiet)
    regularizer = L1(settings["l1"]) if settings["l1"] else None
    t0 = time.perf_counter()
    try:
        stats = model.train(
            X, y, X_val if len(X_val) else None, y_val if len(X_val) else None,
            learning_rate=settings["lr"], reg=settings["reg"], num_epochs=settings["epochs"],
            batch_size=settings["batch_size"], optimizer=optimizer, schedule=schedule,
            regularizer=regularizer, proximal=bool(settings["proximal"]), callbacks=callbacks,
            resume=resume,
        )
    except KeyboardInterrupt:
        if checkpoint is not None and checkpoint.exists():
            print(f"mlp: interrupted; continue with: mlp train --resume {checkpoint}",
                  file=sys.stderr)
        raise
    train_seconds = time.perf_counter() - t0

    metrics = _final_metrics(model, stats, X, y, X_val, y_val, X_test, y_test)
    total_seconds = sum(row["seconds"] for row in log.rows)
    metrics.update({
        "epochs": len(stats["train_acc_history"]),
        "train_seconds": round(total_seconds, 3),
        "seconds_this_run": round(time.perf_counter() - started, 3),
        "resumed": bool(resume),
        "architecture": {"layer_sizes": model.layer_sizes, "activation": model.activation,
                         "dropout": model.dropout, "batch_norm": model.batch_norm,
                         "output": model.output, "init": model.init, "std": model.std,
                         "dtype": model.dtype.name},
        "settings": settings,
        "data": data_info,
        "mlp_version": __version__,
    })
    written = _write_outputs(out, model, stats, metrics, log.rows, monitor, extra(), image_shape,
                             X_test, y_test, plots=not args.no_plots)
    metrics["seconds_this_run"] = round(time.perf_counter() - started, 3)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _echo(f"accuracy: train {metrics['train_accuracy']:.4f}, val {metrics['val_accuracy']:.4f}, "
          f"test {metrics['test_accuracy']:.4f} (training {train_seconds:.1f} s)", quiet=quiet)
    _echo(f"wrote {out}/: {' '.join(written)}"
          + (f"; checkpoint {checkpoint}" if checkpoint is not None else ""), quiet=quiet)
    return 0


def _final_metrics(model, stats, X, y, X_val, y_val, X_test, y_test) -> dict[str, Any]:
    def acc(X_, y_) -> float:
        return float(np.mean(model.predict(X_) == y_)) if len(X_) else math.nan

    return {
        "train_accuracy": acc(X, y),
        "val_accuracy": acc(X_val, y_val),
        "test_accuracy": acc(X_test, y_test),
        "final_loss": stats["loss_history"][-1] if stats["loss_history"] else math.nan,
    }


def _write_outputs(out: Path, model, stats, metrics, rows, monitor, extra, image_shape,
                   X_test, y_test, plots: bool) -> list[str]:
    from . import serialization as io

    extra = {**extra, "metrics": {k: metrics[k] for k in
                                  ("train_accuracy", "val_accuracy", "test_accuracy")}}
    io.save(model, out / "model.npz", extra=extra)
    written = ["model.npz", "metrics.json"]
    _write_csv(out / "history.csv", EPOCH_FIELDS, rows)
    iterations = max(1, len(stats["loss_history"]) // max(1, len(stats["train_acc_history"])))
    _write_csv(out / "iterations.csv", ITERATION_FIELDS, [
        {"iteration": i + 1, "epoch": i // iterations + 1, "loss": loss, "grad_norm_W1": g}
        for i, (loss, g) in enumerate(zip(stats["loss_history"],
                                          stats["grad_magnitude_history"], strict=True))
    ])
    written += ["history.csv", "iterations.csv"]
    if not plots:
        return written
    from .viz import (
        confusion_matrix,
        plot_confusion_matrix,
        plot_stats,
        plot_unit_activity,
        show_net_weights,
    )

    _savefig(plot_stats(stats), out / "stats.png")
    written.append("stats.png")
    if len(image_shape) == 2:
        _savefig(show_net_weights(model, image_shape=image_shape), out / "weights.png")
        written.append("weights.png")
    cm = confusion_matrix(y_test, model.predict(X_test), model.n_classes)
    _savefig(plot_confusion_matrix(cm, title=f"Confusion matrix, test set (accuracy "
                                   f"{metrics['test_accuracy']:.4f})"),
             out / "confusion_matrix.png")
    _savefig(plot_unit_activity(monitor.history, title=f"Hidden units of the {_arch(model)} "
                                "network on validation images"), out / "unit_activity.png")
    written += ["confusion_matrix.png", "unit_activity.png"]
    return written


# -- mlp evaluate ---------------------------------------------------------------------------------


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import serialization as io
    from .viz import confusion_matrix

    model = io.load(args.model)
    extra = _model_extra(args.model)
    dataset = args.dataset or extra.get("settings", {}).get("dataset") or "mnist-small"
    input_max = float(extra.get("input_max", 255.0))
    X, y, _ = _load_split(dataset, args.split, model.dtype.name, input_max)
    _check_inputs(model, X.shape[1], f"dataset {dataset!r}")
    if not len(X):
        raise ValueError(f"the {args.split} split of {dataset!r} is empty")
    pred = model.predict(X)
    cm = confusion_matrix(y, pred, max(model.n_classes, int(y.max()) + 1))
    per_class = {str(c): (float(cm[c, c] / cm[c].sum()) if cm[c].sum() else None)
                 for c in range(cm.shape[0])}
    result = {"model": args.model, "dataset": dataset, "split": args.split,
              "examples": int(len(y)), "accuracy": float(np.trace(cm) / cm.sum()),
              "per_class_accuracy": per_class, "confusion_matrix": cm.tolist()}

    figure = None
    if not args.no_figure:
        name = Path(dataset).name if os.sep in dataset or Path(dataset).is_dir() else dataset
        figure = Path(args.figure) if args.figure else (
            Path(args.model).parent / f"confusion_matrix_{name}_{args.split}.png")
        from .viz import plot_confusion_matrix

        _savefig(plot_confusion_matrix(
            cm, title=f"{Path(args.model).name} on {name} {args.split} "
                      f"(accuracy {result['accuracy']:.4f})"), figure)
        result["figure"] = str(figure)

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.model} ({_arch(model)}) on {dataset}, {args.split} split, {len(y)} examples")
    print(f"accuracy: {result['accuracy']:.4f}")
    print("per class:  " + "  ".join(f"{c}: {a:.3f}" if a is not None else f"{c}: -"
                                     for c, a in per_class.items()))
    width = max(5, len(str(cm.max())) + 1)
    print("confusion matrix (rows: true label, columns: predicted):")
    print("     " + "".join(f"{j:>{width}}" for j in range(cm.shape[1])))
    for i, row in enumerate(cm):
        print(f"{i:>4} " + "".join(f"{v:>{width}}" for v in row))
    if figure is not None:
        print(f"wrote {figure}")
    return 0


# -- mlp predict ----------------------------------------------------------------------------------


def cmd_predict(args: argparse.Namespace) -> int:
    from . import serialization as io
    from .images import read_digit_image

    model = io.load(args.model)
    extra = _model_extra(args.model)
    input_max = float(extra.get("input_max", 255.0))
    shape = extra.get("image_shape", [28, 28])
    if list(shape) != [28, 28]:
        raise ValueError(f"{args.model} was trained on {shape} images; 'mlp predict' makes "
                         "28x28 MNIST-style inputs")
    _check_inputs(model, 28 * 28, "a 28x28 image")
    images = np.stack([read_digit_image(path) for path in args.images])
    if args.save_inputs:
        from PIL import Image

        folder = Path(args.save_inputs)
        folder.mkdir(parents=True, exist_ok=True)
        for path, image in zip(args.images, images, strict=True):
            Image.fromarray(np.round(image).astype(np.uint8)).save(
                folder / f"{Path(path).stem}_28x28.png")
    X = (images.reshape(len(images), -1) * (input_max / 255.0)).astype(model.dtype)
    proba = model.predict_proba(X)
    k = min(args.top, proba.shape[1])
    results = []
    for path, p in zip(args.images, proba, strict=True):
        top = np.argsort(-p, kind="stable")[:k]
        results.append({"image": path, "label": int(top[0]),
                        "top": [{"label": int(c), "probability": float(p[c])} for c in top]})
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        print(f"{r['image']}: " + ", ".join(f"{t['label']} ({t['probability']:.3f})"
                                           for t in r["top"]))
    return 0


# -- mlp gradcheck --------------------------------------------------------------------------------


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from .gradcheck import check_gradients
    from .network import MLP

    hidden = [10] if args.hidden is None else args.hidden
    _check_per_layer("--activation", args.activation, hidden, "name")
    _check_per_layer("--dropout", args.dropout, hidden, "rate")
    classes = args.classes or (1 if args.output == "sigmoid" else 3)
    model = MLP(args.inputs, hidden, classes, activation=args.activation, output=args.output,
                std=args.std, seed=args.seed, dtype=np.float64, dropout=args.dropout,
                batch_norm=args.batch_norm)
    rng = np.random.default_rng(args.seed + 1)
    X = 10 * rng.standard_normal((args.examples, args.inputs))
    y = model.head.random_targets(rng, args.examples, model.output_size)
    tolerance = args.tolerance
    errors = check_gradients(model, X, y, reg=args.reg)  # holds the dropout masks fixed
    print(f"gradient check: {_arch(model, 'network')}, {args.output} output, float64, "
          f"{args.examples} examples, reg {args.reg:g}")
    print(f"  {'param':<6} {'shape':<12} {'max rel. error':>14}")
    for name, err in errors.items():
        flag = "ok" if err <= tolerance else "TOO LARGE"
        shape = "x".join(map(str, model.params[name].shape))
        print(f"  {name:<6} {shape:<12} {err:>14.3e}  {flag}")
    worst = max(errors.values())
    passed = worst <= tolerance
    print(f"{'passed' if passed else 'FAILED'}: largest error {worst:.3e} "
          f"{'<=' if passed else '>'} tolerance {tolerance:g}")
    return 0 if passed else 1


# -- mlp info -------------------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    from . import serialization as io
    from .initializers import default_init
    from .layers import BatchNorm, Dropout

    model = io.load(args.model)  # checks that the arrays agree with the metadata
    meta = io.load_metadata(args.model)
    if args.json:
        shown = {k: v for k, v in meta.items() if k != "rng_state"}
        print(json.dumps(shown, indent=2, default=str))
        return 0
    extra = meta.get("extra") or {}
    n_params = sum(p.size for p in model.params.values())
    print(f"{args.model}: {meta['class']} {'-'.join(map(str, model.layer_sizes))}, "
          f"activation {_show(model.activation)}, output {model.output}, {model.dtype.name}")
    if any(isinstance(layer, BatchNorm | Dropout) for layer in model.layers):
        print("layers: " + " -> ".join(map(_layer_text, model.layers)))
    shapes = ", ".join(f"{k} {tuple(p.shape)}" for k, p in model.params.items())
    print(f"parameters: {n_params:,} ({shapes})")
    init = f"std {model.std:g}" if model.std is not None else f"init {model.init}"
    if model.std is None and model.init is None and isinstance(model.activation, list):
        # MLP(...) picks each hidden layer's scheme to suit its activation.
        init = "init " + ",".join(map(default_init, model.activation)) + " (by activation)"
    print(f"initialisation: {init}, seed {model.seed}")
    settings = extra.get("settings")
    if settings:
        print(f"trained on {settings.get('dataset')}: {_describe(settings)}; inputs scaled to "
              f"[0, {extra.get('input_max', 255.0):g}]")
    if "metrics" in extra:
        m = extra["metrics"]
        print("accuracy: " + ", ".join(f"{split} {m[split + '_accuracy']:.4f}"
                                       for split in ("train", "val", "test")
                                       if split + "_accuracy" in m))
    state = meta.get("training_state")
    if state:
        total = (settings or {}).get("epochs", "?")
        print(f"checkpoint: {state['epoch']} of {total} epochs done; continue with "
              f"'mlp train --resume {args.model}'")
    other = {k: v for k, v in extra.items() if k not in
             ("settings", "metrics", "input_max", "image_shape", "data", "epoch_log",
              "unit_activity")}
    if other:
        print(f"extra: {json.dumps(other, default=str)[:400]}")
    return 0


def _layer_text(layer) -> str:
    from .layers import Activation, BatchNorm, Dense, Dropout

    if isinstance(layer, Dense):
        return f"affine {layer.in_features}x{layer.out_features}"
    if isinstance(layer, BatchNorm):
        return "batch norm"
    if isinstance(layer, Dropout):
        return f"dropout {layer.p:g}"
    return layer.name if isinstance(layer, Activation) else type(layer).__name__


# -- entry point ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mlp`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Reported by the command's own parser, so the hint points to its --help.
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except _UsageError as exc:
        parser.commands[args.command].error(str(exc))
    except KeyboardInterrupt:
        print("mlp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: nothing more to say.
        sys.stderr.close()
        return 0
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError, KeyError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        # Some messages list details line by line (one per download mirror, say): keep the
        # summary and the closing advice, on one line.
        message = " ".join(lines[:1] + lines[1:][-1:]) or type(exc).__name__
        print(f"mlp: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
