"""Does the range test's suggestion train well? On MNIST and two scikit-learn data sets, a network
trained with the suggested rate against the same network trained with each rate of a grid of
eight (1e-4 ... 1, geometric), for the same epochs, with the same optimiser (SGD with momentum
0.9, a constant rate: the classic setting of a range test). The check: the suggestion reaches at
least 98% of the best grid rate's validation accuracy.

    MLP_DATA_DIR=/path/to/mnist python bench/lr_find.py     # MNIST: 10,000 training images
    python bench/lr_find.py                                # MNIST: the bundled 5,000 instead

Beside the rule (a tenth of the rate at the smoothed loss's minimum) the table shows the other
common rule, the steepest descent of the smoothed loss (Lightning's: the first ten points and
the last left out), for the test's shuffling seeds 0 .. --seeds - 1 (--mnist-seeds on MNIST).
Every seed is fixed: the networks' weights, the shuffling, the splits. The check is on seed 0;
exits with status 1 if it fails.

Runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from its environment, as on a user's
machine (it starts itself again without them).
"""

from __future__ import annotations

from blas import kernel, restart_as_user

restart_as_user()

import argparse  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from mlp import MLP, DivergenceError  # noqa: E402
from mlp.lrfind import find_learning_rate  # noqa: E402
from mlp.optim import SGD  # noqa: E402

GRID = np.geomspace(1e-4, 1.0, 8)
MOMENTUM, BATCH, REG = 0.9, 64, 1e-4
TARGET = 0.98


def mnist(data_dir: str | None, n_train: int):
    """(X, y, X_val, y_val, name): MNIST's first n_train training images and its 10,000
    validation images, or the bundled subset's 5,000 and 1,000, as floats in [0, 1]."""
    from mlp.data import load_mnist, load_mnist_small

    if data_dir:
        ds = load_mnist(data_dir, dtype=np.float32, scale=True, download=False)
        return ds.X_train[:n_train], ds.y_train[:n_train], ds.X_val, ds.y_val, \
            f"MNIST ({min(n_train, len(ds.X_train))} train, {len(ds.X_val)} val)"
    ds = load_mnist_small(dtype=np.float32, scale=True)
    return ds.X_train, ds.y_train, ds.X_val, ds.y_val, \
        f"MNIST bundled subset ({len(ds.X_train)} train, {len(ds.X_val)} val)"


def table(loader, name: str):
    """A scikit-learn data set split 75/25 (stratified, seed 0), standardised with the training
    split's means and deviations."""
    from sklearn.model_selection import train_test_split

    X, y = loader(return_X_y=True)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    mean, std = X_tr.mean(axis=0), X_tr.std(axis=0) + 1e-12
    return (X_tr - mean) / std, y_tr, (X_val - mean) / std, y_val, \
        f"{name} ({len(X_tr)} train, {len(X_val)} val, standardised)"


def network(X, y, hidden: list[int]) -> MLP:
    return MLP(X.shape[1], hidden, int(y.max()) + 1, seed=0, dtype=X.dtype)


def val_accuracy(data, hidden: list[int], rate: float, epochs: int) -> float:
    """Validation accuracy after ``epochs`` at a constant ``rate`` (NaN if training diverged)."""
    X, y, X_val, y_val, _ = data
    net = network(X, y, hidden)
    try:
        with np.errstate(all="ignore"):
            net.train(X, y, learning_rate=rate, learning_rate_decay=1.0, reg=REG,
                      num_epochs=epochs, batch_size=BATCH, optimizer=SGD(momentum=MOMENTUM))
    except DivergenceError:
        return math.nan
    return net.score(X_val, y_val)


def steepest(result) -> float:
    """The rate of the steepest descent of the smoothed loss against log rate, the first ten
    points and the last left out (Lightning's suggestion)."""
    smooth, rates = np.asarray(result.smoothed), np.asarray(result.rates)
    inner = slice(10, -1) if len(rates) > 12 else slice(None)
    slope = np.gradient(smooth[inner], np.log(rates[inner]))
    return float(rates[inner][int(np.argmin(slope))])


def compare(data, hidden: list[int], epochs: int, seeds: int) -> bool:
    """Print one data set's table; True if the rule's suggestion (seed 0) passes the check
    (``seeds`` >= 1)."""
    X, y, _, _, name = data
    start = time.perf_counter()
    grid = {float(rate): val_accuracy(data, hidden, rate, epochs) for rate in GRID}
    best_rate = max(grid, key=lambda r: -1.0 if math.isnan(grid[r]) else grid[r])
    best = grid[best_rate]
    arch = "-".join(map(str, [X.shape[1], *hidden, int(y.max()) + 1]))
    print(f"\n### {name}: {arch} relu, {epochs} epochs, batch {BATCH}, SGD momentum {MOMENTUM}\n")
    print("| rate | val acc | / best |\n| --- | --- | --- |")
    for rate, acc in grid.items():
        print(f"| {rate:.3g} | {_acc(acc)} | {_ratio(acc, best)} |")
    passed = True
    for seed in range(seeds):
        result = find_learning_rate(network(X, y, hidden), X, y, batch_size=BATCH,
                                    optimizer=SGD(momentum=MOMENTUM), seed=seed)
        for rule, rate in (("min / 10", result.suggestion), ("steepest", steepest(result))):
            acc = val_accuracy(data, hidden, rate, epochs)
            print(f"| **{rule}** (seed {seed}): {rate:.3g} | {_acc(acc)} | {_ratio(acc, best)} |")
            if rule == "min / 10" and seed == 0:
                passed = not math.isnan(acc) and acc >= TARGET * best
    print(f"\nbest grid rate {best_rate:.3g}; the suggestion (seed 0) "
          f"{'passes' if passed else 'FAILS'} the {TARGET:.0%} check "
          f"({time.perf_counter() - start:.0f} s)")
    return passed


def _acc(acc: float) -> str:
    return "diverged" if math.isnan(acc) else f"{acc:.4f}"


def _ratio(acc: float, best: float) -> str:
    return "-" if math.isnan(acc) else f"{acc / best:.3f}"


def main() -> int:
    from sklearn.datasets import load_breast_cancer, load_digits

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("MLP_DATA_DIR"),
                        help="folder of the MNIST files (default: $MLP_DATA_DIR; none: the "
                             "bundled subset)")
    parser.add_argument("--mnist-train", type=int, default=10_000,
                        help="MNIST training images to use (default: 10000)")
    print(f"BLAS: {kernel()}", flush=True)
    parser.add_argument("--seeds", type=int, default=4,
                        help="the range test's shuffling seeds to show on the scikit-learn "
                             "data sets (default: 4)")
    parser.add_argument("--mnist-seeds", type=int, default=1,
                        help="... and on MNIST, two trainings each (default: 1; 0 leaves "
                             "MNIST out)")
    args = parser.parse_args()
    started = time.perf_counter()
    checks = [compare(mnist(args.data, args.mnist_train), [128], 3, args.mnist_seeds)
              ] if args.mnist_seeds else []
    checks += [
        compare(table(load_digits, "digits"), [64], 10, args.seeds),
        compare(table(load_breast_cancer, "breast_cancer"), [32], 10, args.seeds),
    ]
    print(f"\n{sum(checks)} of {len(checks)} data sets pass; "
          f"{time.perf_counter() - started:.0f} s in all")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
