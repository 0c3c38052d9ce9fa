"""What a search reports: the table of trials (printed and ``trials.csv``), the best settings as
an ``mlp train`` command line, the best model trained again in process by the run layer, as that
command would (in the search's folder, ``best-trial-N/``), and pictures of the study drawn by
Optuna."""

from __future__ import annotations

import math
import shlex
import time
import warnings
from pathlib import Path
from typing import Any

from ..run.files import save_figure, write_csv
from .space import SearchSpace

#: The pictures: file name -> Optuna's matplotlib plot.
PICTURES = {"tuning_history.png": "plot_optimization_history",
            "tuning_importances.png": "plot_param_importances",
            "tuning_parallel_coordinate.png": "plot_parallel_coordinate",
            "tuning_intermediate_values.png": "plot_intermediate_values"}
#: Rows of the table printed (all of them go to trials.csv).
PRINTED_ROWS = 15


def trial_rows(study, space: SearchSpace, metric: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, one row per trial in order): number, state, score, epochs, seconds, the
    parameters in ``mlp train``'s spelling, and a note (pruned, diverged, retried...)."""
    names = [d.name for d in space.dimensions]
    columns = ["trial", "state", metric, "epochs", "seconds",
               *(n.replace("_", "-") for n in names), "note"]
    rows = []
    for t in study.get_trials(deepcopy=False):
        note = t.user_attrs.get("note", "")
        retried = t.system_attrs.get("failed_trial")
        if retried is not None:
            note = f"retry of trial {retried}" + (f"; {note}" if note else "")
        if t.state.name == "FAIL" and not note:
            note = "failed (its worker stopped)"
        row = {"trial": t.number, "state": t.state.name.lower(),
               metric: t.value if t.value is not None else "",
               "epochs": t.last_step if t.last_step is not None else "",
               "seconds": round(t.duration.total_seconds(), 2) if t.duration else "",
               "note": note}
        row.update({n.replace("_", "-"): _cell(t.params.get(n, "")) for n in names})
        rows.append(row)
    return columns, rows


def _cell(value: Any) -> Any:
    return float(f"{value:.6g}") if isinstance(value, float) else value


def table_text(columns: list[str], rows: list[dict[str, Any]], metric: str, maximize: bool
               ) -> str:
    """The best trials first, in aligned columns (the rest: see trials.csv)."""
    scored = sorted((r for r in rows if r["state"] == "complete"),
                    key=lambda r: -r[metric] if maximize else r[metric])
    others = [r for r in rows if r["state"] != "complete"]
    shown = (scored + others)[:PRINTED_ROWS]
    cells = [[_text(row[c]) for c in columns] for row in shown]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in cells]
    if len(rows) > len(shown):
        lines.append(f"... and {len(rows) - len(shown)} more in trials.csv")
    return "\n".join(lines)


def _text(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_trials(folder: Path, columns: list[str], rows: list[dict[str, Any]]) -> Path:
    """``trials.csv``, written atomically."""
    write_csv(folder / "trials.csv", columns, rows)
    return folder / "trials.csv"


def best_values(study) -> dict[str, str]:
    """The best trial's values as ``mlp train`` reads them."""
    return {name: repr(v) if isinstance(v, float) else str(v)
            for name, v in study.best_trial.params.items()}


def best_command(study, space: SearchSpace) -> str:
    """``mlp train --lr 0.0123 --hidden 256,128 ...``: the best trial as a command line."""
    return shlex.join(["mlp", "train", *space.argv(best_values(study))])


def retrain_best(study, space: SearchSpace, folder: Path, plots: bool = True,
                 fetch: dict | None = None) -> Path:
    """Train the best trial again, in this process, into ``folder/best-trial-N`` as
    ``mlp train`` would (the run layer's training and files; same settings, same seed: the same
    network), or keep that folder if an earlier run of the search made it. Returns the folder;
    its ``model.npz`` is the best model."""
    from ..run.data import load_training_data
    from ..run.folders import Folders
    from ..run.outcome import write_run
    from ..run.training import build_model, check_splits, run_training

    out = folder / f"best-trial-{study.best_trial.number}"
    if (out / "model.npz").exists():
        return out
    started = time.perf_counter()
    settings = space.settings(best_values(study))
    data = load_training_data(settings, fetch or {})
    check_splits(settings, data)
    model = build_model(settings, data)
    folders = Folders()
    with folders.cleaned_on_failure():
        folders.make(out)
        outcome = run_training(model, settings, data)
        outcome.metrics["data"] = data.info
        del data
        write_run(out, outcome, plots=plots, started=started)
    return out


#: Trials up to which the intermediate-values picture keeps its legend.
LEGEND_MAX = 12


def plot_study(study, folder: Path, metric: str) -> dict[str, str]:
    """The pictures of :data:`PICTURES` in ``folder``; returns {file: why it was skipped}
    for those a study this small cannot draw (importances need two complete trials)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, also on machines without a display
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis
    from optuna.exceptions import ExperimentalWarning

    skipped = {}
    for name, plot in PICTURES.items():
        kwargs = {} if plot == "plot_intermediate_values" else {"target_name": metric}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                warnings.simplefilter("ignore", UserWarning)  # "no trials to plot" and such
                ax = getattr(vis, plot)(study, **kwargs)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            skipped[name] = str(exc)
            continue
        first = ax.flat[0] if hasattr(ax, "flat") else ax
        if plot == "plot_intermediate_values" and len(study.trials) > LEGEND_MAX:
            # One legend line per trial would take the whole picture; the curves tell enough.
            legend = first.get_legend()
            if legend is not None:
                legend.remove()
        fig = first.figure
        fig.set_size_inches(9, 5.5)
        fig.tight_layout()
        save_figure(fig, folder / name)
        plt.close(fig)
    return skipped


def summary(study, space: SearchSpace, metric: str, best_run: Path | None) -> dict[str, Any]:
    """``tune.json``: the study, its counts by state, the best trial and its command."""
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    data: dict[str, Any] = {"study": study.study_name, "metric": metric,
                            "direction": study.direction.name.lower(), "trials": counts,
                            "space": space.to_dict()}
    try:
        best = study.best_trial
    except ValueError:  # no complete trial yet
        return data
    data["best"] = {"trial": best.number, metric: best.value,
                    "params": best.params, "command": best_command(study, space)}
    if best_run is not None:
        data["best"]["run"] = str(best_run)
        metrics = best_run / "metrics.json"
        if metrics.exists():
            import json

            retrained = json.loads(metrics.read_text())
            data["best"]["retrained"] = {k: v for k, v in retrained.items()
                                         if k.endswith(("_accuracy", "_r2", "_rmse"))
                                         and isinstance(v, int | float) and math.isfinite(v)}
    return data
