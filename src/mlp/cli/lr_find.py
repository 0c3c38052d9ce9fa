"""``mlp lr-find``: the learning-rate range test on the network and data ``mlp train`` would
use, and the rate to train with."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..run.data import load_training_data
from ..run.errors import UsageError
from ..run.folders import Folders, check_out_folder
from ..run.lrfind import FILES, TESTED, find_rate, record, train_option, write_files
from ..run.settings import SETTINGS, from_values
from ..run.text import arch
from ..run.training import build_model, describe_data
from .options import positive_float, positive_int, show
from .train import add_download_options, add_setting, fetch_options

DESCRIPTION = (
    "Find a learning rate by a range test: train for one short pass while the rate grows "
    "geometrically from --start to --end, and suggest a rate from the loss curve (a tenth of "
    "the rate at which the smoothed loss is lowest). Takes the data and model options of "
    "'mlp train'; the network is not saved. Writes lr_find.json (the curve) and lr_find.png "
    "into the output folder.")


def register(sub) -> None:
    p = sub.add_parser("lr-find", help="suggest a learning rate by a range test",
                       description=DESCRIPTION)
    groups = {name: p.add_argument_group(name)
              for name in ("data", "architecture", "optimisation")}
    for setting in SETTINGS.values():
        if setting.group != "optimisation" or setting.name in TESTED:
            add_setting(groups[setting.group], setting)
    add_download_options(groups["data"])
    g = p.add_argument_group("range test")
    g.add_argument("--start", type=positive_float, default=1e-7, metavar="RATE",
                   help="the first rate (default: 1e-07)")
    g.add_argument("--end", type=positive_float, default=10.0, metavar="RATE",
                   help="the last rate, if the loss has not diverged before (default: 10)")
    g.add_argument("--steps", type=positive_int, default=100, metavar="N",
                   help="minibatch steps from --start to --end (default: 100)")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="output folder (default: runs/<date-time>)")
    out.add_argument("--no-plots", action="store_true", help="skip the PNG picture")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    _check_range(args)
    settings = from_values({name: getattr(args, name, None) for name in SETTINGS})
    out = Path(args.out) if args.out else None
    if out is not None:
        _check_out(out)
    data = load_training_data(settings, fetch_options(args))
    model = build_model(settings, data)
    print(f"mlp lr-find: {arch(model)} on {describe_data(data)}, {settings.dtype}; "
          f"{settings.describe_optimizer()}, batch {settings.batch_size}; rates "
          f"{show(args.start)} to {show(args.end)} over {args.steps} steps", flush=True)
    result = find_rate(model, settings, data, start=args.start, end=args.end, steps=args.steps)
    folders = Folders()
    with folders.cleaned_on_failure():
        out = folders.lock(folders.claim_new() if out is None else folders.make(out))
        written = write_files(out, result, record(settings, data, args.start, args.end,
                                                  args.steps), plots=not args.no_plots)
    stopped = "the loss diverged at" if result.stopped_early else "the last rate was"
    print(f"tested {len(result.rates)} rates ({stopped} {result.rates[-1]:.3g})")
    print(f"suggested learning rate: {result.suggestion:.3g}, {result.rule}")
    note = _edge_note(result.smoothed, result.stopped_early)
    if note:
        print(note)
    print(f"train with it: mlp train {train_option(result)} (and the same data, model and "
          "optimiser options)")
    print(f"wrote {out}/: {' '.join(written)}")
    return 0


def _check_range(args: argparse.Namespace) -> None:
    if args.end <= args.start:
        raise UsageError(f"--end {show(args.end)} must be larger than --start {show(args.start)}")
    if args.steps < 2:
        raise UsageError(f"--steps must be at least 2, got {args.steps}")


def _check_out(out: Path) -> None:
    """Refuse, before any data is read, a file, a run's folder, or a folder holding a range
    test already (it is not overwritten)."""
    check_out_folder(out, None)
    found = [name for name in FILES if (out / name).exists()]
    if found:
        raise ValueError(f"--out {out} already holds a range test ({', '.join(found)}); it is "
                         "not overwritten: choose another folder")



def _edge_note(smoothed: list[float], stopped_early: bool) -> str | None:
    """A warning when the curve has no minimum for the rule to step back from: the loss only
    rose (the range starts too high), or it did not fall by a tenth and turn up again before
    the last rate (the range ends too low)."""
    lowest = smoothed.index(min(smoothed))
    if lowest == 0:
        return ("note: the loss was lowest at the first rate and only rose after it: the range "
                "starts too high; try a smaller --start")
    if not stopped_early and (lowest == len(smoothed) - 1 or min(smoothed) > 0.9 * smoothed[0]):
        return ("note: the loss did not fall and turn up again within the range, so the "
                "suggestion is unsure: try a larger --end")
    return None
