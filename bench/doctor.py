"""`mlp doctor` beyond its tests: many broken and healthy runs of the real `mlp train` on the
bundled MNIST subset (and full MNIST where MLP_DATA_DIR names it), each diagnosed by the real
`mlp doctor --json`; prints, per run, the kinds found against the kinds expected, the training
accuracy and how far the first layer's weights moved.

    python bench/doctor.py                 # about 50 runs, 2 at a time: a few minutes
    python bench/doctor.py --only lr       # the runs whose name contains "lr"

A run passes when it gets every expected kind and, if healthy, nothing else. Exits with status 1
if one does not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

FAST = ["--train-size", "1000", "--val-size", "500", "--epochs", "3"]
HEALTHY = {"healthy"}

#: name: (mlp train options, the kinds the doctor must find)
RUNS: dict[str, tuple[list[str], set[str]]] = {
    "default": ([], HEALTHY),
    "adam": (["--optimizer", "adam", "--lr", "0.001"], HEALTHY),
    "sigmoid": (["--activation", "sigmoid"], HEALTHY),
    "sigmoid-lr-0.5": (["--activation", "sigmoid", "--lr", "0.5"], HEALTHY),
    "tanh": (["--activation", "tanh"], HEALTHY),
    "two-layers": (["--hidden", "256,128", "--epochs", "5"], HEALTHY),
    "batch-norm": (["--batch-norm", "--epochs", "5"], HEALTHY),
    "dropout": (["--dropout", "0.3", "--epochs", "5"], HEALTHY),
    "fast": (FAST, HEALTHY),
    "fast-batch-norm": ([*FAST, "--batch-norm"], HEALTHY),
    "fast-adam": ([*FAST, "--optimizer", "adam"], HEALTHY),
    "eight-units": (["--hidden", "8"], HEALTHY),
    "lr-100x": (["--lr", "5"], {"diverging"}),
    "lr-100x-adam": (["--optimizer", "adam", "--lr", "0.1"], {"diverging"}),
    "lr-100x-sigmoid": (["--activation", "sigmoid", "--lr", "5"], {"diverging"}),
    "lr-40x": (["--lr", "2"], {"diverging"}),
    "lr-1000x-small": (["--lr", "5e-5"], {"learning_rate_too_small"}),
    "lr-1000x-small-adam": (["--optimizer", "adam", "--lr", "1e-6"],
                            {"learning_rate_too_small"}),
    "lr-1000x-small-2-epochs": (["--lr", "5e-5", "--epochs", "2"],
                                {"learning_rate_too_small"}),
    "lr-1000x-small-30-epochs": (["--lr", "5e-5", "--epochs", "30"],
                                 {"learning_rate_too_small"}),
    "lr-500x-small": (["--lr", "1e-4"], {"learning_rate_too_small"}),
    "lr-1000x-small-sigmoid": (["--lr", "5e-5", "--activation", "sigmoid"],
                               {"learning_rate_too_small"}),
    "lr-1000x-small-fast": ([*FAST, "--lr", "5e-5"], {"learning_rate_too_small"}),
    "lr-50x-small-fast": ([*FAST, "--lr", "1e-3"], {"learning_rate_too_small"}),
    "dying-relu-lr-1": (["--lr", "1"], {"dead_units"}),
    "dying-relu-lr-0.5": (["--lr", "0.5"], {"dead_units"}),
    "raw-pixels-sigmoid": (["--activation", "sigmoid", "--no-scale"],
                           {"saturated_units", "unscaled_inputs"}),
    "raw-pixels-tanh": (["--activation", "tanh", "--no-scale"],
                        {"saturated_units", "unscaled_inputs"}),
    "raw-pixels-relu": (["--no-scale"], {"unscaled_inputs"}),
    "memorise-100": (["--train-size", "100", "--epochs", "50"], {"overfitting"}),
    "memorise-200-wide": (["--train-size", "200", "--epochs", "100", "--hidden", "512"],
                          {"overfitting"}),
    "memorise-50": (["--train-size", "50", "--epochs", "200"], {"overfitting"}),
    "one-unit": (["--hidden", "1"], {"underfitting"}),
    "one-unit-20-epochs": (["--hidden", "1", "--epochs", "20"], {"underfitting"}),
    "one-unit-fast": ([*FAST, "--hidden", "1"], {"underfitting"}),
    "one-tanh-unit": (["--hidden", "1", "--activation", "tanh"], {"underfitting"}),
    "two-units": (["--hidden", "2"], {"underfitting"}),
    "two-units-fast": ([*FAST, "--hidden", "2"], {"underfitting"}),
    "two-sigmoid-units": (["--hidden", "2", "--activation", "sigmoid"], {"underfitting"}),
    "three-units": (["--hidden", "3"], {"underfitting"}),
}
#: On full MNIST (MLP_DATA_DIR), three epochs.
FULL = {
    "full-mnist": (["--dataset", "mnist", "--epochs", "3"], HEALTHY),
    "full-mnist-lr-1000x-small": (["--dataset", "mnist", "--epochs", "3", "--lr", "5e-5"],
                                  {"learning_rate_too_small"}),
}


def diagnose(name: str, options: list[str]) -> tuple[list[str], float | None, float | None]:
    """(kinds, training accuracy, weight_change of W1) of one run."""
    with tempfile.TemporaryDirectory(prefix=f"doctor-{name}-") as tmp:
        out = os.path.join(tmp, "run")
        subprocess.run(["mlp", "train", "--no-plots", "--no-checkpoint", "--quiet", "--out", out,
                        *options], capture_output=True, text=True)
        found = subprocess.run(["mlp", "doctor", out, "--json"], capture_output=True, text=True)
        if found.returncode:
            return [f"error: {found.stderr.strip()}"], None, None
        with open(os.path.join(out, "metrics.json")) as f:
            metrics = json.load(f)
    moved = (metrics.get("diagnostics") or {}).get("weight_change", {}).get("W1")
    return [f["kind"] for f in json.loads(found.stdout)], metrics.get("train_accuracy"), moved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="the runs whose name contains this")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    runs = {**RUNS, **(FULL if os.environ.get("MLP_DATA_DIR") else {})}
    runs = {k: v for k, v in runs.items() if args.only in k}
    print("| run | options | expected | found | train acc | W1 moved | |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    failed = 0
    with ThreadPoolExecutor(args.workers) as pool:
        results = pool.map(lambda item: diagnose(item[0], item[1][0]), runs.items())
        for (name, (options, expected)), (kinds, acc, moved) in zip(runs.items(), results,
                                                                    strict=True):
            ok = expected <= set(kinds) and (expected != HEALTHY or kinds == ["healthy"])
            failed += not ok
            print(f"| {name} | `{' '.join(options)}` | {', '.join(sorted(expected))} | "
                  f"{', '.join(kinds)} | {_show(acc)} | {_show(moved)} | "
                  f"{'ok' if ok else 'MISSED'} |", flush=True)
    print(f"\n{len(runs) - failed} of {len(runs)} runs diagnosed as expected")
    return 1 if failed else 0


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
