"""Pictures of a network and its training: the problem set's ``plot_stats``, ``visualize_grid``
and ``show_net_weights``, a confusion matrix, and per-layer diagnostics of saturated and dead
hidden units.

The plotting functions return :class:`matplotlib.figure.Figure` objects built without pyplot, so
they never need a display and never accumulate in pyplot's list of open figures. In Jupyter a
figure shows itself when it is a cell's value (or pass it to ``display``); in a script, call
``fig.savefig("name.png")``. Matplotlib is imported only when a picture is drawn, so the rest of
this module (``visualize_grid``, ``confusion_matrix`` (from :mod:`mlp.metrics`),
``unit_activity``) needs NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .layers import SATURATION
from .metrics import confusion_matrix

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .lrfind import LRFinderResult

__all__ = [
    "plot_stats",
    "visualize_grid",
    "show_net_weights",
    "confusion_matrix",
    "plot_confusion_matrix",
    "unit_activity",
    "plot_unit_activity",
    "plot_lr_find",
    "SATURATION",
]


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError('pictures need matplotlib: pip install "mlp[viz]"') from exc
    return Figure(figsize=(width, height), layout="constrained")


# -- the problem set's pictures -----------------------------------------------------------------


def _iteration_panel(ax, values: Sequence[float], title: str, ylabel: str) -> None:
    """One per-iteration history, its y axis from 0 to at most 100 like the problem set's
    (its raw-pixel runs start near 80 and end near 1)."""
    values = np.asarray(values, dtype=float)
    ax.plot(np.arange(1, len(values) + 1), values, lw=0.8)
    ax.set_title(title)
    ax.set_xlabel("Iteration")
    ax.set_ylabel(ylabel)
    if values.size:
        ax.set_ylim(0, max(min(100.0, float(np.max(values))) * 1.05, 1e-12))


def plot_stats(stats: Mapping[str, Sequence[float]]) -> Figure:
    """The problem set's three panels: the W1 gradient magnitude and the loss per iteration, and
    the training and validation accuracy per epoch.

    stats: the dict returned by ``train`` (``grad_magnitude_history``, ``loss_history``,
    ``train_acc_history``, ``val_acc_history``; the last may be empty).
    """
    for key in ("grad_magnitude_history", "loss_history", "train_acc_history"):
        if key not in stats:
            raise KeyError(f"stats must be the history returned by train; it has no {key!r}")
    from matplotlib.ticker import MaxNLocator

    fig = _figure(10, 8)
    ax_grad, ax_loss, ax_acc = fig.subplots(3, 1)

    _iteration_panel(ax_grad, stats["grad_magnitude_history"],
                     "Gradient magnitude history (W1)", "||dL/dW1||")
    _iteration_panel(ax_loss, stats["loss_history"], "Loss history", "Loss")

    train_acc = np.asarray(stats["train_acc_history"], dtype=float)
    val_acc = np.asarray(stats.get("val_acc_history", []), dtype=float)
    ax_acc.plot(np.arange(1, len(train_acc) + 1), train_acc, marker=".", label="train")
    if val_acc.size:
        ax_acc.plot(np.arange(1, len(val_acc) + 1), val_acc, marker=".", label="val")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.set_title("Classification accuracy history")
    ax_acc.set_xlabel("Epoch")
    ax_acc.set_ylabel("Classification accuracy")
    ax_acc.legend(loc="lower right")
    return fig


def _tile(tiles: np.ndarray, padding: int) -> np.ndarray:
    """Lay (N, H, W[, C]) tiles out on a ceil(sqrt(N))-square grid, ``padding`` zeros apart."""
    n, h, w = tiles.shape[:3]
    g = math.ceil(math.sqrt(n))
    grid = np.zeros((g * h + (g - 1) * padding, g * w + (g - 1) * padding, *tiles.shape[3:]))
    for i in range(n):
        r, c = divmod(i, g)
        y, x = r * (h + padding), c * (w + padding)
        grid[y : y + h, x : x + w] = tiles[i]
    return grid


def visualize_grid(Xs: np.ndarray, ubound: float = 255.0, padding: int = 1) -> np.ndarray:
    """Tile a batch of images into one image, each tile rescaled to [0, ubound].

    Xs: (N, H, W) or (N, H, W, C). The tiles fill a ceil(sqrt(N)) x ceil(sqrt(N)) grid row by
    row, ``padding`` pixels apart; empty cells and padding are 0, and a constant tile becomes 0.
    Returns (G*H + (G-1)*padding, G*W + (G-1)*padding[, C]) float64.
    """
    Xs = np.asarray(Xs)
    if Xs.ndim not in (3, 4) or Xs.shape[0] == 0:
        raise ValueError(f"Xs must be a non-empty (N, H, W) or (N, H, W, C) batch; got {Xs.shape}")
    if isinstance(padding, bool) or not isinstance(padding, int | np.integer) or padding < 0:
        raise ValueError(f"padding must be an integer >= 0; got {padding!r}")
    tiles = Xs.astype(np.float64)
    axes = tuple(range(1, tiles.ndim))
    low = tiles.min(axis=axes, keepdims=True)
    span = tiles.max(axis=axes, keepdims=True) - low
    tiles = np.divide(tiles - low, span, out=np.zeros_like(tiles), where=span > 0) * ubound
    return _tile(tiles, int(padding))


def _image_shape(size: int, image_shape: Sequence[int] | None) -> tuple[int, int]:
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 2 or shape[0] * shape[1] != size:
            raise ValueError(f"image_shape {image_shape} does not hold the {size} inputs of W1")
        return shape
    side = math.isqrt(size)
    if side * side != size:
        raise ValueError(
            f"W1 has {size} inputs, not a square image: pass image_shape=(height, width)"
        )
    return side, side


def show_net_weights(
    net, padding: int = 3, image_shape: Sequence[int] | None = None, per_tile: bool = True
) -> Figure:
    """The first layer's weights as images: one tile per hidden unit, each the column of W1
    that feeds it, reshaped to the input image (28x28 for MNIST).

    net: a network whose ``params['W1']`` is (D, H) with D = height * width. ``per_tile=True``
    (the problem set's picture) stretches each tile to the full grey range; ``per_tile=False``
    uses one scale for all (mid-grey for 0, white and black from the 99th percentile of the
    non-zero magnitudes on), which shows sparse (L1) weights as they are.
    """
    W1 = np.asarray(net.params["W1"], dtype=np.float64)
    h, w = _image_shape(W1.shape[0], image_shape)
    tiles = W1.T.reshape(-1, h, w)
    fig = _figure(7, 7.4)
    ax = fig.add_subplot()
    if per_tile:
        grid = visualize_grid(tiles, padding=padding).astype("uint8")
        ax.imshow(grid, cmap="gray", interpolation="nearest", vmin=0, vmax=255)
        note = ""
    else:
        # A few large weights would otherwise turn everything else mid-grey.
        nonzero = np.abs(W1[W1 != 0])
        top = float(np.percentile(nonzero, 99)) if nonzero.size else 1.0
        grid = _tile(np.clip(tiles / top, -1, 1) * 127.5 + 128, padding)
        ax.imshow(np.clip(grid, 0, 255).astype("uint8"), cmap="gray", interpolation="nearest",
                  vmin=0, vmax=255)
        note = f"\ngrey = 0, white >= {top:.2g}, black <= {-top:.2g}"
    ax.axis("off")
    ax.set_title(f"First-layer weights W1: one {h}x{w} tile per hidden unit ({W1.shape[1]})"
                 + note)
    return fig


# -- confusion matrix ---------------------------------------------------------------------------


def plot_confusion_matrix(
    cm: np.ndarray, class_names: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """A confusion matrix as a heat map: rows true labels, columns predictions, each cell its
    count, coloured by the fraction of its row. cm: (C, C) counts from :func:`confusion_matrix`.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix; got shape {cm.shape}")
    c = cm.shape[0]
    names = [str(i) for i in range(c)] if class_names is None else list(map(str, class_names))
    if len(names) != c:
        raise ValueError(f"class_names has {len(names)} names for {c} classes")
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    total = cm.sum()
    accuracy = np.trace(cm) / total if total else float("nan")

    side = max(5.0, 0.55 * c + 2.5)
    fig = _figure(side + 1.2, side)
    ax = fig.add_subplot()
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="fraction of the true class", shrink=0.8)
    if c <= 30:
        for i in range(c):
            for j in range(c):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                            color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(c), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(c), names)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title or f"Confusion matrix (accuracy {accuracy:.4f}, {total} examples)")
    return fig


# -- saturated and dead units -------------------------------------------------------------------


def unit_activity(model, X: np.ndarray) -> list[dict[str, Any]]:
    """Per hidden layer, how many units pass no gradient on the probe batch ``X``.

    model: an :class:`mlp.MLP`; X: (N, D). For each hidden layer k returns a dict with
    ``layer`` (k), ``activation``, ``units``, and

    - ``saturated``: the fraction of (example, unit) activations in a saturated region:
      sigmoid output below 0.01 or above 0.99, tanh output beyond +-0.99; NaN for ReLU-like
      units, which have no saturating side;
    - ``dead``: the fraction of units whose local gradient is (nearly) zero for every example
      of the batch: a ReLU unit that outputs 0 on all of them, or a sigmoid/tanh unit saturated
      on all of them. Such a unit passes no gradient to the layers below it.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != model.input_size or X.shape[0] == 0:
        raise ValueError(
            f"X must be a non-empty (N, {model.input_size}) batch; got shape {X.shape}"
        )
    report = []
    for k, (layer, h) in enumerate(model.hidden_outputs(X), start=1):
        flat = layer.fn.flat(h) if layer.fn.flat is not None else None
        saturated = math.nan
        dead = 0.0
        if flat is not None:
            if layer.fn.saturating:
                saturated = float(flat.mean())
            dead = float(flat.all(axis=0).mean())
        report.append({"layer": k, "activation": layer.name, "units": h.shape[1],
                       "saturated": saturated, "dead": dead})
    return report


def plot_unit_activity(
    runs: Mapping[str, Mapping[str, Sequence]] | Mapping[str, Sequence],
    title: str | None = None,
) -> Figure:
    """Saturated and dead hidden units over training, one line per run and hidden layer.

    runs: an :class:`ActivityMonitor`'s ``history``, or ``{label: history}`` to compare runs
    (say ``{"sigmoid": ..., "relu": ...}``). Runs without saturating units (ReLU) draw only
    their dead fraction.
    """
    from matplotlib.ticker import MaxNLocator

    if "epoch" in runs:
        runs = {"": runs}
    fig = _figure(10, 4.2)
    ax_sat, ax_dead = fig.subplots(1, 2, sharex=True, sharey=True)
    styles = ("-", "--", ":", "-.")
    for r, (label, hist) in enumerate(runs.items()):
        epochs = np.asarray(hist["epoch"])
        for key, ax in (("saturated", ax_sat), ("dead", ax_dead)):
            values = np.asarray(hist[key], dtype=float).reshape(len(epochs), -1)
            layers = values.shape[1]
            for k in range(layers):
                if np.all(np.isnan(values[:, k])):
                    continue
                # One colour per run (per layer when there is a single run), so that a run
                # looks the same in both panels.
                name = " ".join(filter(None, [label, f"layer {k + 1}" if layers > 1 else ""]))
                ax.plot(epochs, 100 * values[:, k], marker=".", label=name or "layer 1",
                        color=f"C{r if len(runs) > 1 else k}",
                        linestyle=styles[k % len(styles)] if len(runs) > 1 else "-")
    ax_sat.set_title("Saturated activations (sigmoid/tanh)")
    ax_sat.set_ylabel("% of hidden activations / units")
    ax_dead.set_title("Dead units (no gradient on any probe example)")
    for ax in (ax_sat, ax_dead):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("Epoch")
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend(loc="best", fontsize=9)
        else:
            ax.text(0.5, 0.5, "none (ReLU units do not saturate)", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
    if title:
        fig.suptitle(title)
    return fig


# -- the learning-rate range test ---------------------------------------------------------------


def plot_lr_find(result: LRFinderResult, title: str | None = None) -> Figure:
    """A range test's loss against the rate on a log axis: each batch's loss faint, the smoothed
    loss bold, the suggested rate marked, the rule written below.

    result: what :func:`mlp.lrfind.find_learning_rate` returned (K steps). The y axis stops a
    little above the highest smoothed loss before its minimum, so that a diverging tail shows as
    the curve turning up rather than squashing the rest.
    """
    import textwrap

    rates = np.asarray(result.rates, dtype=float)
    raw = np.asarray(result.losses, dtype=float)
    smooth = np.asarray(result.smoothed, dtype=float)
    if not (rates.size and rates.shape == raw.shape == smooth.shape):
        raise ValueError(f"result must hold as many rates, losses and smoothed losses, at least "
                         f"one; got {rates.size}, {raw.size}, {smooth.size}")
    fig = _figure(7, 4.6)
    ax = fig.add_subplot()
    ax.plot(rates, raw, color="C0", alpha=0.3, lw=0.8, label="loss per batch")
    ax.plot(rates, smooth, color="C0", lw=2.2, label="smoothed loss")
    s = result.suggestion
    ax.axvline(s, color="C3", ls="--", lw=1.2, label=f"suggested rate {s:.3g}")
    ax.plot([s], [np.interp(np.log(s), np.log(rates), smooth)], "o", color="C3")
    ax.set_xscale("log")
    finite = smooth[np.isfinite(smooth)]
    if finite.size:
        before = smooth[: int(np.nanargmin(smooth)) + 1]
        low = float(np.nanmin(np.r_[raw[np.isfinite(raw)], finite]))
        high = float(np.nanmax(before))
        ax.set_ylim(low - 0.05 * (high - low + 1e-12), high + 0.25 * (high - low + 1e-12))
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(title or "Learning-rate range test"
                 + (" (stopped: the loss diverged)" if result.stopped_early else ""))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    fig.text(0.01, 0.0, textwrap.fill(f"Suggestion: {result.rule}.", 110), fontsize=8,
             va="bottom", color="dimgrey")
    fig.get_layout_engine().set(h_pad=0.25)
    return fig
