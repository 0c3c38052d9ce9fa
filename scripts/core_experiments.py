"""Dropout, batch norm and regression heads on real data, with pictures (docs/layers.md).

    python scripts/core_experiments.py            # full settings, about 2 minutes on 2 cores
    python scripts/core_experiments.py --quick    # smoke test, well under a minute

1. Dropout: a 784-512-512-10 ReLU network on 10,000 MNIST training images, trained with no
   dropout, with dropout 0.5 after each hidden layer, and with 0.2 on the input as well.
2. Batch norm: the same network with and without it over a range of learning rates, and a
   10-layer sigmoid network that only trains with it.
3. Regression on scikit-learn's diabetes data: MLP(output="linear") with MSE and Huber against
   scikit-learn's MLPRegressor and ridge regression, over 5 random train/test splits.

Everything is seeded (SEED), so a second run prints the same figures (timings aside). Prints
one table per experiment and writes docs/figures/layers_*.png; ``--quick`` writes its pictures
to a temporary folder (``--out`` to choose) so that a smoke test never replaces the documented
ones. Full MNIST comes from $MLP_DATA_DIR, else the download cache (downloaded on first use).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread unless the environment says otherwise: on a small, shared machine it is as
# fast as two for these sizes and its timings do not collapse when another process takes a core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlp import MLP, DivergenceError  # noqa: E402
from mlp.data import Dataset, load_mnist  # noqa: E402
from mlp.layers import Activation, Dense, Dropout  # noqa: E402
from mlp.optim import SGD, Adam  # noqa: E402
from mlp.training import Callback  # noqa: E402

SEED = 0


@dataclass(frozen=True)
class Settings:
    """Sizes of every experiment; ``FULL`` is what docs/layers.md reports."""

    n_train: int = 10_000  # MNIST training subset: small enough to overfit in a few epochs
    n_eval: int = 10_000  # validation and test images used
    width: int = 512
    dropout_epochs: int = 30
    bn_epochs: int = 8
    bn_rates: tuple[float, ...] = (0.01, 0.05, 0.2, 0.5, 1.0)
    deep_layers: int = 10
    deep_width: int = 128
    deep_epochs: int = 10
    reg_splits: int = 5
    reg_epochs: int = 200


FULL = Settings()
QUICK = Settings(n_train=2_000, n_eval=2_000, width=128, dropout_epochs=4, bn_epochs=2,
                 bn_rates=(0.05, 0.5), deep_layers=6, deep_epochs=2, reg_splits=2,
                 reg_epochs=30)
MNIST_LR, MNIST_BATCH, MNIST_DECAY = 0.05, 100, 0.95


def load_data(s: Settings) -> Dataset:
    """Pixels scaled to [0, 1], float32: the first n_train training images, n_eval of the rest."""
    d = load_mnist(dtype=np.float32, scale=True)  # $MLP_DATA_DIR, else the download cache
    n, m = s.n_train, s.n_eval
    return Dataset(d.X_train[:n], d.y_train[:n], d.X_val[:m], d.y_val[:m],
                   d.X_test[:m], d.y_test[:m])


def sgd_fit(net: MLP, data: Dataset, lr: float, epochs: int, optimizer=None,
            callbacks=()) -> tuple[dict, float]:
    """The MNIST recipe shared by every classifier here: batch 100, rate times 0.95 per epoch,
    no weight penalty, SGD with momentum 0.9 unless ``optimizer``. Returns (history, seconds)."""
    start = time.perf_counter()
    history = net.train(data.X_train, data.y_train, data.X_val, data.y_val,
                        learning_rate=lr, learning_rate_decay=MNIST_DECAY, reg=0.0,
                        num_epochs=epochs, batch_size=MNIST_BATCH,
                        optimizer=optimizer or SGD(momentum=0.9), callbacks=list(callbacks))
    return history, time.perf_counter() - start


# -- 1. dropout -----------------------------------------------------------------------------


class TrainSetEval(Callback):
    """Loss and accuracy on the whole training set in inference mode after every epoch.

    The history's own training figures are taken in training mode (dropout on) or on one
    batch; a train/validation gap has to compare like with like.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y, self.loss, self.acc = X, y, [], []

    def on_epoch_end(self, state) -> None:
        scores = state.model.scores(self.X)
        self.loss.append(state.model.head.loss(scores, self.y)[0])
        self.acc.append(state.model.head.score(scores, self.y))


def dropout_net(width: int, p_input: float, p_hidden: float) -> MLP:
    """784-width-width-10 ReLU from layer objects, dropout where the rate is not 0. The same
    weights for every rate: dropout layers draw nothing at construction."""
    rng = np.random.default_rng(SEED)
    layers = [Dropout(p_input)] if p_input else []
    for n_in in (784, width):
        layers += [Dense(n_in, width, rng=rng, dtype=np.float32), Activation("relu")]
        layers += [Dropout(p_hidden)] if p_hidden else []
    layers.append(Dense(width, 10, init="xavier", rng=rng, dtype=np.float32))
    return MLP.from_layers(layers, seed=SEED)


DROPOUT_RUNS = (("no dropout", 0.0, 0.0), ("dropout 0.5", 0.0, 0.5),
                ("input 0.2 + dropout 0.5", 0.2, 0.5))


def run_dropout(data: Dataset, s: Settings) -> list[dict]:
    results = []
    for label, p_input, p_hidden in DROPOUT_RUNS:
        net = dropout_net(s.width, p_input, p_hidden)
        train_eval = TrainSetEval(data.X_train, data.y_train)
        h, seconds = sgd_fit(net, data, MNIST_LR, s.dropout_epochs, callbacks=[train_eval])
        results.append({
            "label": label, "train_loss": train_eval.loss, "train_acc": train_eval.acc,
            "val_loss": h["val_loss_history"], "val_acc": h["val_acc_history"],
            "test_acc": net.accuracy(data.X_test, data.y_test), "seconds": seconds})
    return results


def plot_dropout(results: list[dict], s: Settings, path: Path) -> None:
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    epochs = np.arange(1, s.dropout_epochs + 1)
    for r, color in zip(results, ("tab:red", "tab:blue", "tab:green"), strict=True):
        ax_acc.plot(epochs, 100 * np.array(r["train_acc"]), color=color,
                    label=f"{r['label']}, train")
        ax_acc.plot(epochs, 100 * np.array(r["val_acc"]), "--", color=color,
                    label=f"{r['label']}, validation")
        ax_loss.plot(epochs, r["train_loss"], color=color, label=f"{r['label']}, train")
        ax_loss.plot(epochs, r["val_loss"], "--", color=color, label=f"{r['label']}, validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(90, 100.3),
               title="Accuracy (solid: training set, dashed: validation)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log",
                title="Loss in inference mode (solid: training set, dashed: validation)")
    for ax in (ax_acc, ax_loss):
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Dropout: 784-{s.width}-{s.width}-10 ReLU on {s.n_train:,} MNIST images, "
                 f"SGD momentum 0.9, lr {MNIST_LR:g} x {MNIST_DECAY:g} per epoch, "
                 f"batch {MNIST_BATCH}", fontsize=12)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# -- 2. batch norm --------------------------------------------------------------------------


def run_bn_sweep(data: Dataset, s: Settings) -> list[dict]:
    """784-512-512-10 ReLU with and without batch norm at each learning rate."""
    results = []
    for lr in s.bn_rates:
        for bn in (False, True):
            net = MLP(784, [s.width] * 2, 10, batch_norm=bn, seed=SEED, dtype=np.float32)
            start = time.perf_counter()
            try:
                h, seconds = sgd_fit(net, data, lr, s.bn_epochs)
            except DivergenceError as exc:  # a result too: this rate is too large
                results.append({"lr": lr, "bn": bn, "val_acc": [], "test_acc": np.nan,
                                "seconds": time.perf_counter() - start,
                                "diverged": f"diverged (epoch {exc.epoch}, it {exc.iteration})"})
                continue
            results.append({"lr": lr, "bn": bn, "val_acc": h["val_acc_history"],
                            "test_acc": net.accuracy(data.X_test, data.y_test),
                            "seconds": seconds})
    return results


DEEP_RUNS = (("SGD, no batch norm", False, "sgd"), ("SGD + batch norm", True, "sgd"),
             ("Adam, no batch norm", False, "adam"), ("Adam + batch norm", True, "adam"))


def run_deep(data: Dataset, s: Settings) -> list[dict]:
    """A deep sigmoid stack (Xavier init): its gradients vanish on the way down unless each
    layer's input is renormalised. Adam, which rescales small gradients, as a control."""
    results = []
    for label, bn, opt in DEEP_RUNS:
        net = MLP(784, [s.deep_width] * s.deep_layers, 10, activation="sigmoid",
                  batch_norm=bn, seed=SEED, dtype=np.float32)
        lr, optimizer = (MNIST_LR, SGD(momentum=0.9)) if opt == "sgd" else (1e-3, Adam())
        try:
            h, seconds = sgd_fit(net, data, lr, s.deep_epochs, optimizer=optimizer)
        except DivergenceError as exc:  # reported, not fatal: the table shows it
            print(f"  {label}: {exc}")
            continue
        results.append({"label": label, "bn": bn, "opt": opt, "lr": lr, "history": h,
                        "test_acc": net.accuracy(data.X_test, data.y_test), "seconds": seconds})
    return results


def plot_bn(sweep: list[dict], s: Settings, path: Path) -> None:
    fig, (ax_lr, ax_ep) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    colors = {False: "tab:red", True: "tab:blue"}
    names = {False: "no batch norm", True: "batch norm"}
    for bn in (False, True):
        runs = [r for r in sweep if r["bn"] == bn]
        ax_lr.plot([r["lr"] for r in runs], [100 * r["test_acc"] for r in runs], "o-",
                   color=colors[bn], label=names[bn])
        for r in runs:  # a run that diverged has no accuracy: mark it at chance level
            if r.get("diverged"):
                ax_lr.plot(r["lr"], 10, "x", color=colors[bn], markersize=10, mew=2)
                ax_lr.annotate("diverged", (r["lr"], 10), textcoords="offset points",
                               xytext=(-20, 8), color=colors[bn])
    # Two learning rates of the sweep, in detail: the default and a large one.
    shown = (MNIST_LR, max(s.bn_rates) if len(s.bn_rates) < 3 else s.bn_rates[-2])
    epochs = np.arange(1, s.bn_epochs + 1)
    for r in sweep:
        if r["lr"] in shown and r["val_acc"]:
            style = "-" if r["lr"] == shown[0] else ":"
            ax_ep.plot(epochs, 100 * np.array(r["val_acc"]), style, marker="o",
                       color=colors[r["bn"]], label=f"{names[r['bn']]}, lr {r['lr']:g}")
    ax_lr.set(xscale="log", xlabel="learning rate (SGD, momentum 0.9)",
              ylabel="test accuracy (%)", title=f"Test accuracy after {s.bn_epochs} epochs")
    ax_ep.set(xlabel="epoch", ylabel="validation accuracy (%)",
              title="Validation accuracy per epoch")
    for ax in (ax_lr, ax_ep):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle(f"Batch norm: 784-{s.width}-{s.width}-10 ReLU on {s.n_train:,} MNIST images",
                 fontsize=12)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def smooth(values: list[float], window: int = 20) -> np.ndarray:
    """Moving average, so that per-batch losses read as a curve."""
    v = np.asarray(values, dtype=float)
    window = max(1, min(window, len(v) // 5))
    return np.convolve(v, np.ones(window) / window, mode="valid")


def plot_deep(results: list[dict], s: Settings, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    colors = {False: "tab:red", True: "tab:blue"}
    for r in results:
        h, style = r["history"], "-" if r["opt"] == "sgd" else "--"
        per_epoch = len(h["loss_history"]) / s.deep_epochs
        kw = {"color": colors[r["bn"]], "linestyle": style, "label": r["label"]}
        loss = smooth(h["loss_history"])
        axes[0].plot((np.arange(len(loss)) + len(h["loss_history"]) - len(loss)) / per_epoch,
                     loss, **kw)
        axes[1].plot(np.arange(1, s.deep_epochs + 1), 100 * np.array(h["val_acc_history"]),
                     marker="o", **kw)
        axes[2].plot(np.arange(len(h["grad_magnitude_history"])) / per_epoch,
                     h["grad_magnitude_history"], linewidth=0.8, **kw)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy (moving average of 20 batches)",
                title="Training loss")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy (%)", ylim=(0, 100),
                title="Validation accuracy")
    axes[2].set(xlabel="epoch", ylabel="||dJ/dW1|| (log scale)", yscale="log",
                title="Gradient reaching the first layer")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=9, loc="center right")
    fig.suptitle(f"Batch norm in a deep network: 784-{s.deep_layers}x{s.deep_width}-10 sigmoid, "
                 f"Xavier init (SGD lr {MNIST_LR:g}, momentum 0.9; Adam lr 0.001)", fontsize=12)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# -- 3. regression --------------------------------------------------------------------------

REG_HIDDEN, REG_BATCH, REG_LR = (64, 64), 32, 1e-3
#: (label, L2 strength alpha in scikit-learn's convention, fraction of training targets made
#: outliers). alpha 1e-4 is scikit-learn's default.
REG_CONFIGS = (("alpha 1e-4", 1e-4, 0.0), ("alpha 1", 1.0, 0.0),
               ("alpha 1, 5% outliers", 1.0, 0.05))
REG_MODELS = ("MLP, MSE", "MLP, Huber", "sklearn MLPRegressor", "ridge (RidgeCV)")


def diabetes_split(split: int, outliers: float) -> tuple[np.ndarray, ...]:
    """75/25 train/test split number ``split`` of the diabetes data, standardised with the
    training split's statistics. ``outliers``: that fraction of training targets is moved by
    10 standard deviations (random sign) before standardising, as a corrupted record would be;
    the test targets stay clean."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=split)
    if outliers:
        rng = np.random.default_rng(split)
        idx = rng.choice(len(y_tr), round(outliers * len(y_tr)), replace=False)
        y_tr = y_tr.copy()
        y_tr[idx] += rng.choice([-10.0, 10.0], len(idx)) * y_tr.std()
    mu, sd, y_mu, y_sd = X_tr.mean(0), X_tr.std(0), y_tr.mean(), y_tr.std()
    # R^2 is unchanged by one affine map applied to targets and predictions alike.
    return (X_tr - mu) / sd, (y_tr - y_mu) / y_sd, (X_te - mu) / sd, (y_te - y_mu) / y_sd


def fit_regressor(model: str, alpha: float, split: int, epochs: int, data, monitor=False):
    """Train one model on ``data`` = (X_tr, y_tr, X_te, y_te); returns (test R^2, seconds,
    per-epoch curves). The library's ``reg`` is added to a batch's mean loss as
    0.5 reg ||W||^2, scikit-learn's as 0.5 alpha ||W||^2 / batch: so reg = alpha / batch."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import RidgeCV
    from sklearn.neural_network import MLPRegressor

    X_tr, y_tr, X_te, y_te = data
    start = time.perf_counter()
    if model.startswith("MLP"):
        net = MLP(X_tr.shape[1], list(REG_HIDDEN), 1, output="linear", seed=split,
                  loss="huber" if "Huber" in model else "mse")
        val = (X_te, y_te) if monitor else (None, None)
        h = net.train(X_tr, y_tr, *val, learning_rate=REG_LR, learning_rate_decay=1.0,
                      reg=alpha / REG_BATCH, num_epochs=epochs, batch_size=REG_BATCH,
                      optimizer=Adam())
        return net.score(X_te, y_te), time.perf_counter() - start, h
    if model.startswith("sklearn"):
        # n_iter_no_change beyond max_iter: run every epoch, as the library does.
        sk = MLPRegressor(hidden_layer_sizes=REG_HIDDEN, solver="adam", alpha=alpha,
                          batch_size=REG_BATCH, learning_rate_init=REG_LR, max_iter=epochs,
                          tol=0.0, n_iter_no_change=epochs + 1, random_state=split)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sk.fit(X_tr, y_tr)
        return sk.score(X_te, y_te), time.perf_counter() - start, {"loss": sk.loss_curve_}
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X_tr, y_tr)
    return ridge.score(X_te, y_te), time.perf_counter() - start, {}


def run_regression(s: Settings) -> tuple[list[dict], dict]:
    """Every model on every split of every config; and, for split 0, per-epoch curves (from
    extra runs with the test split monitored, so that the timed runs evaluate nothing)."""
    results, curves = [], {}
    for label, alpha, outliers in REG_CONFIGS:
        splits = [diabetes_split(i, outliers) for i in range(s.reg_splits)]
        for model in REG_MODELS:
            runs = [fit_regressor(model, alpha, i, s.reg_epochs, d) for i, d in enumerate(splits)]
            r2 = np.array([r[0] for r in runs])
            results.append({"config": label, "model": model, "r2": r2,
                            "seconds": float(np.mean([r[1] for r in runs]))})
            if model.startswith("MLP"):
                curves[label, model] = fit_regressor(model, alpha, 0, s.reg_epochs, splits[0],
                                                     monitor=True)[2]
            elif model.startswith("sklearn"):
                curves[label, model] = runs[0][2]
    return results, curves


def plot_regression(results: list[dict], curves: dict, s: Settings, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), layout="constrained")
    colors = dict(zip((c[0] for c in REG_CONFIGS), ("tab:red", "tab:blue", "tab:purple"),
                      strict=True))
    epochs = np.arange(1, s.reg_epochs + 1)
    for (config, model), h in curves.items():
        kw = {"color": colors[config], "linestyle": "--" if "Huber" in model else "-"}
        if model.startswith("MLP"):
            axes[0].plot(epochs, h["val_r2_history"], label=f"{model}, {config}", **kw)
        if model != "MLP, Huber" and "outliers" not in config:
            name = "mlp" if model.startswith("MLP") else "sklearn"
            loss = h["train_loss_history"] if name == "mlp" else h["loss"]
            axes[2].plot(epochs[: len(loss)], loss, label=f"{name}, {config}",
                         color=colors[config], linestyle="-" if name == "mlp" else ":")
    width = 0.8 / len(REG_MODELS)
    for j, model in enumerate(REG_MODELS):
        rows = [r for r in results if r["model"] == model]
        x = np.arange(len(rows)) + (j - (len(REG_MODELS) - 1) / 2) * width
        axes[1].bar(x, [r["r2"].mean() for r in rows], width, yerr=[r["r2"].std() for r in rows],
                    capsize=3, label=model)
    axes[1].set_xticks(np.arange(len(REG_CONFIGS)), [c[0] for c in REG_CONFIGS])
    axes[0].set(xlabel="epoch", ylabel="test R^2 (split 0)", ylim=(-0.5, 0.6),
                title="Held-out R^2 per epoch (solid: MSE, dashed: Huber)")
    axes[1].set(ylabel=f"test R^2, mean and std over {s.reg_splits} splits",
                title="Test R^2 by model")
    axes[2].set(xlabel="epoch", ylabel="0.5 MSE + L2 penalty (training, per epoch)",
                yscale="log", title="Training objective: mlp (solid) vs scikit-learn (dotted)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Regression on the diabetes data (442 rows, 10 features): 10-64-64-1 ReLU, "
                 f"Adam lr {REG_LR:g}, batch {REG_BATCH}, {s.reg_epochs} epochs", fontsize=12)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# -- tables and main ------------------------------------------------------------------------


def print_table(title: str, header: tuple[str, ...], rows: list[tuple], left: int = 1) -> None:
    """A plain-text table: the first ``left`` columns aligned left, the others right."""
    cells = [header] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for k, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i < left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


def report_dropout(results: list[dict]) -> None:
    rows = [(r["label"], f"{r['train_acc'][-1]:.4f}", f"{r['val_acc'][-1]:.4f}",
             f"{100 * (r['train_acc'][-1] - r['val_acc'][-1]):.2f}",
             f"{r['train_loss'][-1]:.4f}", f"{r['val_loss'][-1]:.4f}",
             f"{min(r['val_loss']):.4f} (ep {int(np.argmin(r['val_loss'])) + 1})",
             f"{r['test_acc']:.4f}", f"{r['seconds']:.1f}") for r in results]
    print_table("1. Dropout (final epoch; train figures on the whole training subset, inference "
                "mode)", ("run", "train acc", "val acc", "gap (pts)", "train loss", "val loss",
                          "best val loss", "test acc", "time (s)"), rows)


def report_bn(sweep: list[dict], deep: list[dict]) -> None:
    rows = [(f"lr {r['lr']:g}, {'batch norm' if r['bn'] else 'no batch norm'}",
             r.get("diverged") or f"{r['val_acc'][-1]:.4f}",
             "-" if r.get("diverged") else f"{r['test_acc']:.4f}", f"{r['seconds']:.1f}")
            for r in sweep]
    print_table("2a. Batch norm, 784-W-W-10 ReLU, SGD momentum 0.9",
                ("run", "val acc", "test acc", "time (s)"), rows)
    rows = [(r["label"], f"{r['lr']:g}", f"{r['history']['train_loss_history'][-1]:.4f}",
             f"{r['history']['val_acc_history'][-1]:.4f}", f"{r['test_acc']:.4f}",
             f"{r['history']['grad_magnitude_history'][0]:.2e}",
             f"{r['history']['grad_magnitude_history'][-1]:.2e}", f"{r['seconds']:.1f}")
            for r in deep]
    print_table("2b. Batch norm, deep sigmoid network", (
        "run", "lr", "train loss", "val acc", "test acc", "first |dJ/dW1|", "last |dJ/dW1|",
        "time (s)"), rows)


def report_regression(results: list[dict]) -> None:
    rows = [(r["config"], r["model"], f"{r['r2'].mean():.3f} +- {r['r2'].std():.3f}",
             " ".join(f"{v:.3f}" for v in r["r2"]), f"{r['seconds']:.3f}") for r in results]
    print_table("3. Regression, diabetes, 10-64-64-1 ReLU, Adam: test R^2 over splits "
                "(mean +- std)",
                ("config", "model", "test R^2", "per split", "time/fit (s)"), rows, left=2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small settings, a smoke test")
    parser.add_argument("--out", type=Path, default=None, help="folder for the pictures "
                        "(docs/figures; with --quick a temporary folder)")
    args = parser.parse_args(argv)
    s = QUICK if args.quick else FULL
    out = args.out or (Path(tempfile.gettempdir()) / "mlp_core_experiments" if args.quick
                       else Path(__file__).resolve().parent.parent / "docs" / "figures")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    data = load_data(s)
    print(f"MNIST: {len(data.y_train):,} training, {len(data.y_val):,} validation, "
          f"{len(data.y_test):,} test images", flush=True)
    dropout = run_dropout(data, s)
    report_dropout(dropout)
    plot_dropout(dropout, s, out / "layers_dropout.png")
    sweep, deep = run_bn_sweep(data, s), run_deep(data, s)
    report_bn(sweep, deep)
    plot_bn(sweep, s, out / "layers_batchnorm.png")
    plot_deep(deep, s, out / "layers_batchnorm_deep.png")
    regression, curves = run_regression(s)
    report_regression(regression)
    plot_regression(regression, curves, s, out / "layers_regression.png")
    print(f"\npictures in {out}; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
