"""``mlp train``: train a network on an image set or a CSV table, and write the run's folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..run.data import load_training_data
from ..run.doctor import doctor_line, examine
from ..run.folders import Folders, check_out_folder, check_writable_file
from ..run.outcome import Diverged, summary_line, write_diverged, write_run
from ..run.settings import SETTINGS, Setting, from_values
from ..run.text import arch
from ..run.training import (
    build_model,
    check_resumable,
    check_splits,
    describe_data,
    resumed,
    run_training,
)
from .options import arg_type, option, positive_float, show

DESCRIPTION = (
    "Train a multi-layer perceptron on an MNIST-style image set or on a CSV table of your own. "
    "Writes into the output folder: model.npz, metrics.json, history.csv (per epoch), "
    "iterations.csv (per iteration), pictures (stats.png, weights.png, confusion_matrix.png, "
    "unit_activity.png) and a checkpoint after every epoch (resume a killed run with --resume). "
    "With no options it trains on the bundled MNIST subset in a few seconds. A run that does "
    "not learn ends with a line naming what 'mlp doctor' finds (a run that diverges keeps its "
    "metrics.json and history for it).")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network and write the model, metrics, history "
                       "and pictures", description=DESCRIPTION)
    _settings_options(p)
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


def add_setting(group, setting: Setting) -> None:
    """The option of one training setting, as the table says it (its reader, choices, help)."""
    flag = option(setting.name)
    text = setting.help.format(default=show(setting.default))
    if setting.flag:
        action = argparse.BooleanOptionalAction if setting.default else "store_true"
        group.add_argument(flag, action=action, default=None, help=text)
    elif setting.choices is not None:
        group.add_argument(flag, choices=setting.choices, help=text)
    else:
        group.add_argument(flag, type=arg_type(setting.read), metavar=setting.metavar,
                           help=text, **({"action": "extend"} if setting.name == "hidden" else {}))


def _settings_options(parser) -> None:
    groups = {name: parser.add_argument_group(name)
              for name in ("data", "architecture", "optimisation")}
    for setting in SETTINGS.values():
        add_setting(groups[setting.group], setting)
    add_download_options(groups["data"])


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
    model, snapshot, saved = resumed(args.resume) if args.resume else (None, None, {})
    explicit = {name: getattr(args, name, None) for name in SETTINGS}
    settings = from_values(explicit, saved.get("settings") if args.resume else None)
    out, checkpoint = _output_paths(args)
    data = load_training_data(settings, fetch_options(args))
    check_splits(settings, data)
    if snapshot is None:
        model = build_model(settings, data)
    else:
        check_resumable(args.resume, model, snapshot, settings, data)
    _echo(f"mlp train: {arch(model)} on {describe_data(data)}, {settings.dtype}; "
          f"{settings.describe()}" + (f"; resuming after epoch {snapshot[0]['epoch']}"
                                      if snapshot else ""), quiet=args.quiet)
    folders = Folders()
    with folders.cleaned_on_failure():
        out = folders.lock(folders.claim_new() if out is None else folders.make(out))
        check_out_folder(out, Path(args.resume) if args.resume else None)  # now it is ours
        if checkpoint is None and not args.no_checkpoint:
            checkpoint = out / "checkpoint.npz"
        try:
            outcome = run_training(model, settings, data, saved=saved, snapshot=snapshot,
                                   checkpoint=checkpoint, progress=not args.quiet)
        except Diverged as exc:  # the error line follows; what the run saw stays for the doctor
            exc.outcome.metrics["data"] = data.info
            write_diverged(out, exc.outcome, started)
            _doctor(out, quiet=args.quiet)
            raise
        outcome.metrics["data"] = data.info
        del data  # the images are not needed for the pictures: free them first
        written = write_run(out, outcome, plots=not args.no_plots, started=started)
    _echo(summary_line(outcome), quiet=args.quiet)
    _echo(f"wrote {out}/: {' '.join(written)}"
          + (f"; checkpoint {checkpoint}" if checkpoint is not None else ""), quiet=args.quiet)
    _doctor(out, quiet=args.quiet)
    return 0


def _doctor(out: Path, quiet: bool) -> None:
    """``mlp doctor``'s line naming what it finds in the run, if it finds anything."""
    line = None if quiet else doctor_line(examine(out), out)
    if line:
        print(line, flush=True)


def fetch_options(args: argparse.Namespace) -> dict[str, Any]:
    """The download options given on the command line (none: the library's defaults)."""
    return {name: getattr(args, name) for name in ("timeout", "mirrors")
            if getattr(args, name) is not None}


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


def _echo(*parts: object, quiet: bool = False) -> None:
    if not quiet:
        print(*parts, flush=True)
