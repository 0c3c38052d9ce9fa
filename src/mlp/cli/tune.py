"""``mlp tune``: a hyperparameter search over ``mlp train``'s options, on Optuna."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import option, positive_float, positive_int, seed, show

DESCRIPTION = (
    "Search for the best settings of 'mlp train' with Optuna. Every option of 'mlp train' may "
    "be a value, a range low:high (low:high:log for a log scale) or choices a/b/c, each written "
    "as 'mlp train' reads it: --lr 1e-4:1e-1:log --hidden 64/128/256,128 --optimizer sgd/adam. "
    "Bad trials are pruned after an epoch. Writes into the output folder: study.db (the study, "
    "unless --storage says otherwise), trials.csv, best_command.txt, the best model trained "
    "again by that command (best-trial-N/) and pictures (tuning_*.png). Run the same command "
    "again to resume the study, or on other machines with one --storage database URL to share "
    "the work.")
SPACE_HELP = "a value, a range low:high[:log], or choices a/b/c"


def register(sub) -> None:
    p = sub.add_parser("tune", help="search for the best training settings (Optuna)",
                       description=DESCRIPTION)
    _train_options(p.add_argument_group(
        "training options (those of 'mlp train'; each " + SPACE_HELP + ")"))
    _search_options(p.add_argument_group("search"))
    _output_options(p.add_argument_group("output"))
    p.set_defaults(func=run)


def _train_options(g) -> None:
    from ..run.settings import SETTINGS

    for name, setting in SETTINGS.items():
        flag, text = option(name), setting.help.format(default=show(setting.default))
        if not setting.flag:
            metavar = setting.metavar or ("|".join(setting.choices) if setting.choices
                                          else name.upper())
            g.add_argument(flag, dest=name, metavar=metavar, help=text)
            continue
        g.add_argument(flag, dest=name, nargs="?", const="on", metavar="on|off|on/off",
                       help=text)
        if setting.default:  # --scale / --no-scale
            g.add_argument("--no-" + flag[2:], dest=name, action="store_const", const="off",
                           help=f"the same as {flag} off")
    g.add_argument("--space", metavar="FILE.toml",
                   help="a search space file: one key per option (lr = \"1e-4:1e-1:log\", "
                        "hidden = [\"64\", \"256,128\"], reg = { low = 0.0, high = 0.01 }); "
                        "options given on the command line win")


def _search_options(g) -> None:
    from ..tuning.search import METRICS, PRUNERS, SAMPLERS

    g.add_argument("--trials", type=positive_int, default=20, metavar="N",
                   help="finished trials (complete or pruned) the study should hold; a run "
                        "of the command resumes the study and runs only those missing "
                        "(default: 20)")
    g.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                   help="start no trial after this many seconds (default: no limit)")
    g.add_argument("--metric", choices=tuple(METRICS), default="val_accuracy",
                   help="the validation score to optimise (default: val_accuracy; r2 for a "
                        "regression table)")
    g.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                   help="how trials are chosen: tpe (Bayesian), random, or grid (every "
                        "combination of choices) (default: tpe)")
    g.add_argument("--pruner", choices=PRUNERS, default="median",
                   help="stop a trial after an epoch when it is worse than the median of "
                        "the others at that epoch, by hyperband, or never (default: median)")
    g.add_argument("--storage", metavar="URL",
                   help="where the study lives: a database URL that every worker reaches "
                        "(postgresql://user@host/db), journal:FILE on a shared disk, or "
                        "sqlite:///FILE for one machine (default: sqlite in the output folder)")
    g.add_argument("--study", default="mlp-tune", metavar="NAME",
                   help="the study's name in the storage (default: mlp-tune)")
    g.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="local worker processes, each with an equal share of the cores "
                        "(default: 1)")
    g.add_argument("--search-seed", type=seed, default=0, metavar="SEED",
                   help="seed of the sampler (default: 0); --seed is each trial's training "
                        "seed, as in 'mlp train'")
    g.add_argument("--heartbeat", type=positive_int, default=10, metavar="SECONDS",
                   help="a running trial's heartbeat; one silent for 3 beats (its worker was "
                        "killed) is marked failed and run again (default: 10)")


def _output_options(g) -> None:
    g.add_argument("--out", metavar="DIR",
                   help="output folder (default: runs/<date-time>); give the folder of an "
                        "earlier search to resume it")
    g.add_argument("--no-retrain", action="store_true",
                   help="do not train the best trial again into DIR/best-trial-N")
    g.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    g.add_argument("--quiet", "-q", action="store_true",
                   help="no line per trial and no table")


def run(args: argparse.Namespace) -> int:
    from ..run.folders import Folders, check_out_folder
    from ..run.settings import SETTINGS
    from ..tuning import report
    from ..tuning.search import METRICS, search
    from ..tuning.space import parse_space
    from ..tuning.storage import default_url

    _require_optuna()
    options = {name: getattr(args, name) for name in SETTINGS
               if getattr(args, name, None) is not None}
    space = parse_space(options, args.space)
    if args.out:
        check_out_folder(Path(args.out), None)
    folders = Folders()
    with folders.cleaned_on_failure():
        out = folders.lock(folders.make(Path(args.out)) if args.out else folders.claim_new())
        storage = args.storage or default_url(out)
        echo = None if args.quiet else print
        _say(f"mlp tune: study {args.study!r} in {storage}: {args.trials} trials, "
             f"{args.metric} ({METRICS[args.metric][1]}), {args.sampler} sampler, "
             f"{args.pruner} pruner, {args.workers} worker(s); search {space.describe() or '-'}"
             + (f"; fixed {' '.join(space.argv())}" if space.fixed else ""), args.quiet)
        study = search(space, storage, study=args.study, trials=args.trials,
                       timeout=args.timeout, metric=args.metric, sampler=args.sampler,
                       pruner=args.pruner, seed=args.search_seed, workers=args.workers,
                       heartbeat=args.heartbeat, echo=echo)
    columns, rows = report.trial_rows(study, space, args.metric)
    report.write_trials(out, columns, rows)
    maximize = METRICS[args.metric][1] == "maximize"
    _say(report.table_text(columns, rows, args.metric, maximize), args.quiet)
    best_run = _best(study, space, out, args)
    if not args.no_plots:
        for name, why in report.plot_study(study, out, args.metric).items():
            _say(f"(no {name}: {why})", args.quiet)
    from ..run.files import write_json

    write_json(out / "tune.json", report.summary(study, space, args.metric, best_run))
    written = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir()
                     if not p.name.startswith("."))
    _say(f"wrote {out}/: {' '.join(written)}", args.quiet)
    return 0


def _best(study, space, out: Path, args: argparse.Namespace) -> Path | None:
    """Print and write the best command; train it again unless --no-retrain."""
    from ..atomic import write_text_atomic
    from ..tuning import report

    if not any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
        _say("no trial completed: no best settings yet", args.quiet)
        return None
    command = report.best_command(study, space)
    write_text_atomic(out / "best_command.txt", command + "\n")
    _say(f"best: trial {study.best_trial.number}, {args.metric} {study.best_value:.4f}\n"
         f"  {command}", args.quiet)
    if args.no_retrain:
        return None
    run = report.retrain_best(study, space, out, plots=not args.no_plots)
    _say(f"best model: {run / 'model.npz'}", args.quiet)
    return run


def _require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        # A ValueError, so that the command reports it on one line.
        raise ValueError('mlp tune needs Optuna: pip install "mlp[tune]"') from None


def _say(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, flush=True)
