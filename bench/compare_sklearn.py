"""Compare mlp.estimators with scikit-learn's MLPClassifier/MLPRegressor on datasets that ship
with scikit-learn or are generated offline: held-out score and fit time, same settings.

    python bench/compare_sklearn.py                # the table in docs/estimators.md
    python bench/compare_sklearn.py --seeds 1      # quicker
    python bench/compare_sklearn.py --solver lbfgs # L-BFGS against scikit-learn's L-BFGS

Both estimators get the same settings (scikit-learn's defaults: one hidden layer of 100 ReLU
units, Adam at 1e-3, alpha 1e-4, batches of 200, tol 1e-4 with 10 epochs of patience; max_iter
per dataset), the same standardised 75/25 split, and the same random_state per repetition.
With ``--solver lbfgs`` both run full-batch L-BFGS through the same SciPy routine (max_iter 200,
max_fun 15000, tol 1e-4: scikit-learn's defaults). Prints a Markdown table (mean and spread over
the seeds) and writes the raw numbers as JSON. Runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
removed from its environment, as on a user's machine, and prints the BLAS kernel that ran.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from blas import kernel, restart_as_user
from sklearn import datasets
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from mlp.estimators import MLPClassifier, MLPRegressor


def _regression(X, y):
    return X, (y - y.mean()) / y.std()


#: name -> (task, loader, max_iter)
DATASETS = {
    "digits": ("classification", lambda: datasets.load_digits(return_X_y=True), 200),
    "breast_cancer": ("classification", lambda: datasets.load_breast_cancer(return_X_y=True),
                      200),
    "wine": ("classification", lambda: datasets.load_wine(return_X_y=True), 200),
    "diabetes": ("regression", lambda: _regression(*datasets.load_diabetes(return_X_y=True)),
                 200),
    "make_classification 20000x40": ("classification", lambda: datasets.make_classification(
        20000, 40, n_informative=20, n_classes=4, random_state=0), 30),
    "make_regression 20000x50": ("regression", lambda: _regression(*datasets.make_regression(
        20000, 50, n_informative=30, noise=10.0, random_state=0)), 30),
}


def run(name: str, seeds: int, solver: str = "adam") -> dict:
    task, loader, max_iter = DATASETS[name]
    if solver == "lbfgs":
        max_iter = 200
    X, y = loader()
    stratify = y if task == "classification" else None
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=stratify)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    makers = {"mlp": MLPClassifier, "sklearn": sk.MLPClassifier}
    if task == "regression":
        makers = {"mlp": MLPRegressor, "sklearn": sk.MLPRegressor}
    out = {"task": task, "shape": list(X.shape), "max_iter": max_iter, "solver": solver}
    for who, Estimator in makers.items():
        scores, times, epochs = [], [], []
        for seed in range(seeds):
            est = Estimator(max_iter=max_iter, random_state=seed, solver=solver)
            tick = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X_tr, y_tr)
            times.append(time.perf_counter() - tick)
            scores.append(float(est.score(X_te, y_te)))
            epochs.append(int(est.n_iter_))
        out[who] = {"score": scores, "seconds": times, "epochs": epochs}
    return out


def table(results: dict) -> str:
    lines = ["| dataset | N x D | metric | mlp score | sklearn score | mlp fit (s) | "
             "sklearn fit (s) | epochs mlp / sklearn |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        metric = "accuracy" if r["task"] == "classification" else "R^2"
        ours, theirs = r["mlp"], r["sklearn"]

        def cell(values, digits):
            values = np.asarray(values)
            return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"

        lines.append(
            f"| {name} | {r['shape'][0]} x {r['shape'][1]} | {metric} | "
            f"{cell(ours['score'], 3)} | {cell(theirs['score'], 3)} | "
            f"{cell(ours['seconds'], 2)} | {cell(theirs['seconds'], 2)} | "
            f"{np.mean(ours['epochs']):.0f} / {np.mean(theirs['epochs']):.0f} |")
    return "\n".join(lines)


def main() -> None:
    restart_as_user()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="repetitions per dataset")
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--solver", choices=("adam", "lbfgs"), default="adam")
    parser.add_argument("--json", type=Path, default=None,
                        help="default: bench/compare_sklearn.json, or compare_sklearn_lbfgs.json")
    args = parser.parse_args()
    if args.json is None:
        args.json = Path("bench/compare_sklearn.json" if args.solver == "adam"
                         else "bench/compare_sklearn_lbfgs.json")
    print(f"BLAS: {kernel()}", flush=True)
    results = {}
    for name in args.datasets:
        results[name] = run(name, args.seeds, args.solver)
        print(f"{name}: done", flush=True)
    args.json.write_text(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
