"""``mlp train``: train a network on an image set or a CSV table, and write the run's folder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..data.tabular import TASKS
from ..initializers import INITIALIZERS
from ..layers import HIDDEN_ACTIVATIONS
from ..optim import OPTIMIZERS
from .inputs import Splits, load_training_data
from .limits import check_fits, n_parameters, training_bytes
from .options import (
    activations,
    columns,
    fraction,
    nonnegative_float,
    positive_float,
    positive_int,
    rates,
    seed,
    show,
    size,
    widths,
)
from .report import Outcome, measure, summary_line, write_run
from .runs import Folders, check_out_folder, check_writable_file
from .settings import DTYPES, SCHEDULES, TrainSettings, from_command_line
from .text import arch

DESCRIPTION = (
    "Train a multi-layer perceptron on an MNIST-style image set or on a CSV table of your own. "
    "Writes into the output folder: model.npz, metrics.json, history.csv (per epoch), "
    "iterations.csv (per iteration), pictures (stats.png, weights.png, confusion_matrix.png, "
    "unit_activity.png) and a checkpoint after every epoch (resume a killed run with --resume). "
    "With no options it trains on the bundled MNIST subset in a few seconds.")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network and write the model, metrics, history "
                       "and pictures", description=DESCRIPTION)
    _data_options(p.add_argument_group("data"))
    _architecture_options(p.add_argument_group("architecture"))
    _optimisation_options(p.add_argument_group("optimisation"))
    _output_options(p.add_argument_group("output"))
    p.set_defaults(func=run)


def add_download_options(group) -> None:
    """--timeout and --mirror, for the datasets that may have to be downloaded."""
    group.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                       help="give up on a download mirror that sends nothing for this long "
                            "(default: 60)")
    group.add_argument("--mirror", dest="mirrors", action="append", metavar="URL",
                       help="download from this mirror (a base URL of the dataset's files) "
                            "instead of the public ones; repeatable")


def _data_options(g) -> None:
    d = TrainSettings()
    g.add_argument("--dataset", metavar="NAME|FOLDER",
                   help="mnist-small (bundled, offline), mnist, fashion-mnist, or a folder of "
                        f"the four IDX files (default: {d.dataset})")
    g.add_argument("--data", metavar="FILE.csv",
                   help="train on a CSV table instead: a header row naming the columns, "
                        "numeric features, and the --target column")
    g.add_argument("--target", metavar="COLUMN", help="the column of --data to learn")
    g.add_argument("--features", type=columns, metavar="COLUMN[,COLUMN...]",
                   help="the columns of --data to learn from (default: every column but the "
                        "target, which must all hold numbers)")
    g.add_argument("--task", choices=TASKS,
                   help="what to learn from --target (default: classification for labels "
                        "that are not numbers or are few whole numbers, else regression)")
    g.add_argument("--train-size", type=positive_int, metavar="N",
                   help="train on the first N training examples only (default: all)")
    g.add_argument("--val-size", type=size, metavar="N|FRACTION",
                   help="examples kept for validation (default: 10000 of MNIST's and "
                        "Fashion-MNIST's, 1000 of mnist-small's, 0.15 of a table's)")
    g.add_argument("--test-size", type=size, metavar="N|FRACTION",
                   help="rows of a table kept for testing (default: 0.15)")
    g.add_argument("--scale", action=argparse.BooleanOptionalAction, default=None,
                   help="divide the pixels by 255 (default: yes; --no-scale keeps the problem "
                        "set's raw 0-255 inputs)")
    g.add_argument("--dtype", choices=DTYPES,
                   help=f"floating-point type of the network and data (default: {d.dtype})")
    add_download_options(g)


def _architecture_options(g) -> None:
    g.add_argument("--hidden", type=widths, action="extend", metavar="WIDTHS",
                   help="hidden layer widths, repeatable or comma-separated: --hidden 256,128 "
                        "(default: 128; 0 for none, i.e. softmax regression)")
    g.add_argument("--activation", type=activations, metavar="NAME[,NAME...]",
                   help=f"hidden activation, {'|'.join(HIDDEN_ACTIVATIONS)}, for every hidden "
                        "layer, or a comma-separated list with one per hidden layer: "
                        "--activation relu,tanh (default: relu)")
    g.add_argument("--dropout", type=rates, metavar="RATE[,RATE...]",
                   help="inverted dropout after each hidden activation: each unit is zeroed "
                        "with probability RATE in training (and the rest scaled by "
                        "1/(1-RATE)); one rate for every hidden layer, or one per hidden layer "
                        "(default: 0, none)")
    g.add_argument("--batch-norm", action="store_true", default=None,
                   help="batch normalisation between each hidden affine layer and its "
                        "activation (default: off)")
    g.add_argument("--init", choices=INITIALIZERS,
                   help="weight scale: he (for ReLU) or xavier (for sigmoid/tanh) (default: the "
                        "one that suits each layer's activation)")
    g.add_argument("--std", type=positive_float,
                   help="draw every weight as std * randn instead (the problem set's rule, "
                        "which used 0.1)")


def _optimisation_options(g) -> None:
    d = TrainSettings()
    g.add_argument("--epochs", type=positive_int,
                   help=f"passes over the training set (default: {d.epochs})")
    g.add_argument("--batch-size", type=positive_int, metavar="N",
                   help=f"examples per gradient step (default: {d.batch_size})")
    g.add_argument("--optimizer", choices=tuple(OPTIMIZERS),
                   help=f"update rule (default: {d.optimizer})")
    g.add_argument("--lr", type=positive_float, metavar="RATE",
                   help="base learning rate (default: 0.05 for sgd, 0.001 for adam)")
    g.add_argument("--momentum", type=fraction, help="SGD momentum in [0, 1) (default: 0.9)")
    g.add_argument("--nesterov", action="store_true", default=None,
                   help="Nesterov momentum (SGD only)")
    g.add_argument("--schedule", choices=tuple(SCHEDULES),
                   help="learning-rate schedule: exp multiplies the rate by --decay after every "
                        "epoch, step by --decay every --step-epochs, cosine anneals to 0 over "
                        f"the run (default: {d.schedule})")
    g.add_argument("--decay", type=positive_float,
                   help=f"factor of the exp and step schedules (default: {d.decay})")
    g.add_argument("--step-epochs", type=positive_int, metavar="N",
                   help=f"epochs between steps of the step schedule (default: {d.step_epochs})")
    g.add_argument("--warmup", type=nonnegative_float, metavar="EPOCHS",
                   help="linear warm-up of the rate over this many epochs (default: 0)")
    g.add_argument("--reg", type=nonnegative_float,
                   help="L2 strength: the loss adds 0.5 * reg * sum ||W||^2 (the problem set's "
                        f"convention) (default: {d.reg:g})")
    g.add_argument("--l1", type=nonnegative_float,
                   help="L1 strength: the loss adds l1 * sum |W| (default: 0)")
    g.add_argument("--proximal", action="store_true", default=None,
                   help="apply the L1 penalty by soft-thresholding after each step, which makes "
                        "exact zeros (needs --l1)")
    g.add_argument("--seed", type=seed,
                   help="seed of the initial weights, the shuffling and a table's split "
                        f"(default: {d.seed})")
    g.add_argument("--early-stopping", action="store_true", default=None,
                   help="stop when the validation loss has not improved for --patience epochs, "
                        "and keep the parameters of its best epoch")
    g.add_argument("--patience", type=positive_int, metavar="N",
                   help=f"epochs without improvement before stopping (default: {d.patience})")


def _output_options(g) -> None:
    g.add_argument("--out", metavar="DIR",
                   help="output folder, which must not hold a run already (default: "
                        "runs/<date-time>, or the checkpoint's folder with --resume)")
    g.add_argument("--checkpoint", metavar="FILE",
                   help="checkpoint written after every epoch (default: DIR/checkpoint.npz)")
    g.add_argument("--no-checkpoint", action="store_true", help="write no checkpoint")
    g.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in CHECKPOINT with its settings (only --epochs "
                        "may change); the result equals that of an uninterrupted run")
    g.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    g.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bars and no summary")


# -- the run --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    model, snapshot, saved = _resumed_run(args.resume)
    settings = from_command_line(args, saved.get("settings") if args.resume else None)
    out, checkpoint = _output_paths(args)
    data = load_training_data(settings, fetch_options(args))
    _check_splits(settings, data)
    if snapshot is None:
        model = build_model(settings, data)
    else:
        _check_resumable(args.resume, model, snapshot, settings, data)
    _echo(f"mlp train: {arch(model)} on {_source(data)}, {settings.dtype}; "
          f"{settings.describe()}" + (f"; resuming after epoch {snapshot[0]['epoch']}"
                                      if snapshot else ""), quiet=args.quiet)
    folders = Folders()
    with folders.cleaned_on_failure():
        out = folders.claim_new() if out is None else folders.make(out)
        if checkpoint is None and not args.no_checkpoint:
            checkpoint = out / "checkpoint.npz"
        outcome = _train(model, settings, data, saved, snapshot, checkpoint, args.quiet)
        outcome.metrics["data"] = data.info
        del data  # the images are not needed for the pictures: free them first
        written = write_run(out, outcome, plots=not args.no_plots, started=started)
    _echo(summary_line(outcome), quiet=args.quiet)
    _echo(f"wrote {out}/: {' '.join(written)}"
          + (f"; checkpoint {checkpoint}" if checkpoint is not None else ""), quiet=args.quiet)
    return 0


def fetch_options(args: argparse.Namespace) -> dict[str, Any]:
    """The download options given on the command line (none: the library's defaults)."""
    return {name: getattr(args, name) for name in ("timeout", "mirrors")
            if getattr(args, name) is not None}


def _resumed_run(path: str | None):
    """(model, snapshot, the checkpoint's extra) of ``--resume``, or (None, None, {})."""
    if path is None:
        return None, None, {}
    from ..serialization import load_checkpoint, load_metadata

    model, snapshot = load_checkpoint(path)
    saved = load_metadata(path).get("extra") or {}
    if not isinstance(saved, dict) or "settings" not in saved:
        raise ValueError(f"{path}: a checkpoint without 'mlp train' settings; resume it from "
                         "Python with model.train(..., resume=...)")
    return model, snapshot, saved


def _output_paths(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """The output folder (None: a fresh runs/<date-time>) and an explicit checkpoint path,
    both checked before any data is read."""
    resume = Path(args.resume) if args.resume else None
    out = Path(args.out) if args.out else (resume.parent if resume else None)
    if args.out:
        check_out_folder(out, resume)
    checkpoint = None
    if not args.no_checkpoint and (args.checkpoint or resume):
        checkpoint = Path(args.checkpoint) if args.checkpoint else resume
        check_writable_file(checkpoint, "--checkpoint" if args.checkpoint else "--resume")
    return out, checkpoint


def _check_splits(s: TrainSettings, data: Splits) -> None:
    if s.early_stopping and not len(data.X_val):
        raise ValueError("--early-stopping watches the validation loss, but the validation "
                         f"split is empty (--val-size {show(s.val_size)})")


def build_model(s: TrainSettings, data: Splits):
    """The network the settings describe, once it is known to fit in memory."""
    from ..network import MLP

    sizes = [data.X.shape[1], *s.hidden, data.output_size]
    slots = {"sgd": 1 if s.momentum else 0, "adam": 2}.get(s.optimizer, 2)
    itemsize = 4 if s.dtype == "float32" else 8
    check_fits(f"--hidden {show(s.hidden) or 0}: a {'-'.join(map(str, sizes))} network of "
               f"{n_parameters(sizes):,} parameters in {s.dtype}",
               training_bytes(sizes, itemsize, min(s.batch_size, len(data.X)), slots))
    return MLP(sizes[0], s.hidden, sizes[-1], activation=s.activation, output=data.output,
               init=s.init, std=s.std, seed=s.seed, dtype=s.dtype, dropout=s.dropout,
               batch_norm=s.batch_norm)


def _check_resumable(path: str, model, snapshot, s: TrainSettings, data: Splits) -> None:
    if model.input_size != data.X.shape[1]:
        raise ValueError(f"{path}: the model takes {model.input_size} inputs per example, but "
                         f"the data has {data.X.shape[1]}")
    done = snapshot[0]["epoch"]
    if done > s.epochs:
        raise ValueError(f"{path} has completed {done} epochs, more than --epochs {s.epochs}")


def _source(data: Splits) -> str:
    info = data.info
    sizes = f"{info['train']} train, {info['val']} val, {info['test']} test"
    if "dataset" in info:
        return f"{info['dataset']} ({sizes})"
    return f"{info['data']} (target {info['target']!r}, {info['task']}; {sizes})"


def _train(model, s: TrainSettings, data: Splits, saved: dict, snapshot, checkpoint,
           quiet: bool) -> Outcome:
    from ..callbacks import ActivityMonitor, Checkpoint, EarlyStopping, EpochLog, ProgressBar

    options = s.train_options()
    schedule = options["schedule"]
    log = EpochLog(lambda t: s.lr * schedule(t), saved.get("epoch_log"))
    # Indexing reads the probe as the model does (scaled), which np.asarray would not.
    monitor = ActivityMonitor((data.X_val if len(data.X_val) else data.X)[:1000])
    monitor.history = saved.get("unit_activity", monitor.history)
    stopper = EarlyStopping("val_loss", patience=s.patience) if s.early_stopping else None

    def extra() -> dict[str, Any]:
        return {"settings": s.to_dict(), **data.extra, "data": data.info,
                "epoch_log": log.rows, "unit_activity": monitor.history}

    callbacks = [log, monitor, *([stopper] if stopper else [])]
    callbacks += [] if quiet else [ProgressBar()]
    callbacks += [Checkpoint(checkpoint, extra=extra)] if checkpoint is not None else []
    has_val = len(data.X_val) > 0
    try:
        # NumPy's overflow warnings would only come before the line that says it diverged.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            stats = model.train(
                data.X, data.y, data.X_val if has_val else None, data.y_val if has_val else None,
                callbacks=callbacks, resume=snapshot, **options)
    except KeyboardInterrupt:
        if checkpoint is not None and checkpoint.exists():
            print(f"mlp: interrupted; continue with: mlp train --resume {checkpoint}",
                  file=sys.stderr)
        raise
    outcome = measure(model, stats, data, log.rows, monitor.history, stopper)
    outcome.extra.update(extra())
    outcome.metrics.update(settings=s.to_dict(), resumed=snapshot is not None,
                           mlp_version=__version__)
    return outcome


def _echo(*parts: object, quiet: bool = False) -> None:
    if not quiet:
        print(*parts, flush=True)
