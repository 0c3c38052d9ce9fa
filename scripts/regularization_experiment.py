"""No regularisation vs L2 vs L1 vs proximal L1 on MNIST (Problem 3), with pictures.

    python scripts/regularization_experiment.py                 # bundled subset, ~15 s
    MLP_DATA_DIR=... python scripts/regularization_experiment.py --full   # 50,000 images

Trains a 784-64-10 ReLU network with each penalty on the first-layer weights (and the others;
biases are never penalised) and reports test accuracy and how sparse W1 became: the fraction of
its entries with |w| < 1e-3, and the fraction that are exactly 0.

Recipe (the same for every run, so only the penalty differs): inputs scaled to [0, 1], float32,
He initialisation from seed 0 (the same initial weights and the same minibatch order for every
run), plain minibatch SGD with batch 100 -- the update Problem 3 derives -- at learning rate 0.5
times 0.95 per epoch, 40 epochs (20 with ``--full``). The proximal runs apply soft-thresholding
by ``eta * lam`` after each step instead of adding the subgradient.

Writes to ``--out`` (default docs/figures), with ``<tag>`` = ``small`` or ``full``:
``regularization_<tag>.json`` and ``.md`` (the table of every run of the sweep),
``regularization_<tag>_weights.png`` (W1 of four runs: no penalty, and for each penalty the
largest lam of the sweep that keeps the validation accuracy within half a point of it) and
``regularization_<tag>_tradeoff.png`` (accuracy against sparsity for every lam of the sweep).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread unless the environment says otherwise: on a small, shared machine it is as
# fast as two and its timings do not collapse when another process takes a core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from mlp import MLP  # noqa: E402
from mlp.data import Dataset, load_mnist, load_mnist_small  # noqa: E402
from mlp.regularizers import L1, L2, Regularizer  # noqa: E402

NEAR_ZERO = 1e-3
HIDDEN = 64
SEED = 0
LEARNING_RATE = 0.5
DECAY = 0.95
BATCH = 100


@dataclass(frozen=True)
class Config:
    """One run: a penalty (or none) and how it is applied."""

    kind: str  # "none", "L2", "L1", "L1 prox"
    lam: float = 0.0

    @property
    def regularizer(self) -> Regularizer | None:
        if self.kind == "none":
            return None
        return L2(self.lam) if self.kind == "L2" else L1(self.lam)

    @property
    def proximal(self) -> bool:
        return self.kind == "L1 prox"

    @property
    def label(self) -> str:
        if self.kind == "none":
            return "no regularisation"
        how = {"L2": "L2", "L1": "L1, subgradient", "L1 prox": "L1, proximal"}[self.kind]
        return f"{how}, lam = {self.lam:g}"


#: A penalty's lam for the pictures: the largest of the sweep whose validation accuracy is within
#: this much of the unregularised network's -- as much regularisation as costs (almost) nothing.
ACCURACY_TOLERANCE = 0.005
KINDS = ("none", "L2", "L1", "L1 prox")
SWEEP = (
    [Config("none")]
    + [Config("L2", lam) for lam in (1e-4, 1e-3, 1e-2)]
    + [Config(kind, lam) for kind in ("L1", "L1 prox") for lam in (1e-4, 3e-4, 1e-3)]
)


def pick_main(results: list[dict]) -> list[int]:
    """Indices into ``results`` (one per SWEEP entry) of the four pictured runs: no penalty, and
    for each penalty the largest lam within ACCURACY_TOLERANCE of its validation accuracy."""
    baseline = next(r["val_acc"] for r in results if r["kind"] == "none")
    chosen = []
    for kind in KINDS:
        ok = [i for i, r in enumerate(results)
              if r["kind"] == kind and r["val_acc"] >= baseline - ACCURACY_TOLERANCE - 1e-12]
        if not ok:  # even the smallest lam costs more: show the smallest
            ok = [min((i for i, r in enumerate(results) if r["kind"] == kind),
                      key=lambda i: results[i]["lam"])]
        chosen.append(max(ok, key=lambda i: results[i]["lam"]))
    return chosen


def load(full: bool) -> Dataset:
    if full:
        return load_mnist(dtype=np.float32, scale=True)
    return load_mnist_small(dtype=np.float32, scale=True)


def run(config: Config, data: Dataset, epochs: int) -> tuple[dict, np.ndarray]:
    """Train one network; returns its figures and its W1 (784, 64)."""
    net = MLP(784, [HIDDEN], 10, activation="relu", seed=SEED, dtype=np.float32)
    start = time.perf_counter()
    history = net.train(
        data.X_train, data.y_train, data.X_val, data.y_val,
        learning_rate=LEARNING_RATE, learning_rate_decay=DECAY, reg=0.0, num_epochs=epochs,
        batch_size=BATCH, regularizer=config.regularizer, proximal=config.proximal,
    )
    seconds = time.perf_counter() - start
    W1 = net.params["W1"]
    return {
        "kind": config.kind,
        "lam": config.lam,
        "label": config.label,
        "test_acc": net.accuracy(data.X_test, data.y_test),
        "val_acc": history["val_acc_history"][-1],
        "near_zero": float(np.mean(np.abs(W1) < NEAR_ZERO)),
        "exact_zero": float(np.mean(W1 == 0)),
        "w1_l1_norm": float(np.abs(W1).sum()),
        "w1_l2_norm": float(np.sqrt(np.vdot(W1, W1))),
        "seconds": seconds,
    }, W1.copy()


def weight_grid(W1: np.ndarray, columns: int = 8, pad: int = 1) -> np.ndarray:
    """The columns of W1 (784, H) as 28x28 tiles in a grid, NaN between tiles."""
    tiles = W1.T.reshape(-1, 28, 28)
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (28 + pad) + pad, columns * (28 + pad) + pad), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        top, left = pad + r * (28 + pad), pad + c * (28 + pad)
        grid[top : top + 28, left : left + 28] = tile
    return grid


def plot_weights(results: list[dict], weights: list[np.ndarray], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    cmap = plt.get_cmap("RdBu_r")
    fig, axes = plt.subplots(2, 2, figsize=(11, 10.6), layout="constrained")
    for ax, r, W1 in zip(axes.flat, results, weights, strict=True):
        scale = float(np.percentile(np.abs(W1), 99.5))
        norm = Normalize(-scale, scale)
        grid = weight_grid(W1)
        # Colour by value, but paint the near-zero entries grey: on a linear scale 1e-3 and
        # 1e-2 are both "almost white", and that difference is the point of the picture.
        rgba = cmap(norm(np.nan_to_num(grid)))
        rgba[np.abs(grid) < NEAR_ZERO] = (0.55, 0.55, 0.55, 1.0)
        rgba[np.isnan(grid)] = (1.0, 1.0, 1.0, 1.0)
        ax.imshow(rgba, interpolation="nearest")
        ax.set_title(f"{r['label']}\ntest accuracy {r['test_acc']:.3f}, "
                     f"|w| < 1e-3 (grey): {100 * r['near_zero']:.0f}%, "
                     f"exactly 0: {100 * r['exact_zero']:.0f}%", fontsize=10)
        ax.axis("off")
        fig.colorbar(plt.cm.ScalarMappable(norm, cmap), ax=ax, shrink=0.75, label="weight")
    fig.suptitle(title, fontsize=13)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_tradeoff(results: list[dict], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"none": ("k", "*"), "L2": ("tab:blue", "o"), "L1": ("tab:red", "s"),
              "L1 prox": ("tab:orange", "^")}
    names = {"none": "no regularisation", "L2": "L2", "L1": "L1 (subgradient)",
             "L1 prox": "L1 (proximal)"}
    fig, ax = plt.subplots(figsize=(9, 5.8), layout="constrained")
    for kind, (color, marker) in styles.items():
        runs = [r for r in results if r["kind"] == kind]
        xs = [100 * r["near_zero"] for r in runs]
        ys = [100 * r["test_acc"] for r in runs]
        ax.plot(xs, ys, marker=marker, color=color, label=names[kind], markersize=9,
                linestyle="-" if len(runs) > 1 else "none")
        for r, x, y in zip(runs, xs, ys, strict=True):
            if r["lam"]:
                ax.annotate(f"{r['lam']:g}", (x, y), textcoords="offset points",
                            xytext=(6, 6 if kind != "L1 prox" else -14), fontsize=9, color=color)
    ax.set_xlabel("entries of W1 with |w| < 1e-3 (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(title="labels: lam", loc="lower left")
    ax.set_title(title, fontsize=11)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def markdown(results: list[dict]) -> str:
    lines = [
        "| run | lam | test acc | val acc | W1: abs(w) < 1e-3 | W1: exactly 0 | ||W1||_1 "
        "| ||W1||_2 | time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = {"none": "none", "L2": "L2", "L1": "L1 subgradient", "L1 prox": "L1 proximal"}
    for r in results:
        lam = f"{r['lam']:g}" if r["lam"] else "-"
        run = f"**{names[r['kind']]}**" if r.get("pictured") else names[r["kind"]]
        lines.append(
            f"| {run} | {lam} | {r['test_acc']:.3f} | {r['val_acc']:.3f} "
            f"| {100 * r['near_zero']:.1f}% | {100 * r['exact_zero']:.1f}% "
            f"| {r['w1_l1_norm']:.0f} | {r['w1_l2_norm']:.1f} | {r['seconds']:.1f} s |"
        )
    lines.append("")
    lines.append(f"In bold: the runs pictured, each penalty's largest lam whose validation "
                 f"accuracy is within {100 * ACCURACY_TOLERANCE:g} points of the unregularised "
                 "network's.")
    return "\n".join(lines).replace("||", "\\|\\|")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="full MNIST (from MLP_DATA_DIR, the cache, or a download) "
                        "instead of the bundled subset")
    parser.add_argument("--out", type=Path, default=Path("docs/figures"),
                        help="folder for the table and the pictures (docs/figures)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per run (40 on the subset, 20 with --full)")
    args = parser.parse_args(argv)
    tag = "full" if args.full else "small"
    epochs = args.epochs or (20 if args.full else 40)

    data = load(args.full)
    n_train = len(data.y_train)
    print(f"MNIST {tag}: {n_train} training, {len(data.y_val)} validation, "
          f"{len(data.y_test)} test images; {epochs} epochs per run", flush=True)
    results, weights = [], []
    for config in SWEEP:
        result, W1 = run(config, data, epochs)
        results.append(result)
        weights.append(W1)
        print(f"  {config.label:<32} test acc {result['test_acc']:.3f}   |w| < 1e-3: "
              f"{100 * result['near_zero']:5.1f}%   exactly 0: {100 * result['exact_zero']:5.1f}%"
              f"   ({result['seconds']:.1f} s)", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / f"regularization_{tag}"
    setting = (f"MNIST {tag} ({n_train:,} training images), 784-64-10 ReLU, "
               f"SGD lr {LEARNING_RATE:g}, batch {BATCH}, {epochs} epochs")
    main = pick_main(results)
    for i in main:
        results[i]["pictured"] = True
    plot_weights([results[i] for i in main], [weights[i] for i in main],
                 "First-layer weights W1, one 28x28 tile per hidden unit; grey: |w| < 1e-3\n"
                 + setting,
                 Path(f"{base}_weights.png"))
    plot_tradeoff(results, f"Accuracy against sparsity of W1\n{setting}",
                  Path(f"{base}_tradeoff.png"))
    table = markdown(results)
    Path(f"{base}.md").write_text(f"{setting}\n\n{table}\n")
    Path(f"{base}.json").write_text(json.dumps(
        {"setting": setting, "epochs": epochs, "learning_rate": LEARNING_RATE,
         "learning_rate_decay": DECAY, "batch_size": BATCH, "seed": SEED, "hidden": HIDDEN,
         "runs": results}, indent=2) + "\n")
    print()
    print(table)
    print(f"\nWrote {base}.md, {base}.json, {base}_weights.png, {base}_tradeoff.png")


if __name__ == "__main__":
    main()
