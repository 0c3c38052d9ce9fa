"""Why a training run does not learn: what a run recorded (its losses, scores, hidden units and
inputs) turned into findings, each with the numbers it rests on, why it matters and the
``mlp train`` options to change.

``mlp doctor`` reads a run folder into a :class:`Record` and reports :func:`diagnose`'s findings;
``mlp train`` names them in one line at the end of a run. The grader's hints ask some of the
same questions of a student's training (did the loss become NaN, grow, fall at all?) with the
same functions: :func:`non_finite`, :func:`growth`, :func:`fall`.

The vocabulary (:data:`KINDS`) and every threshold are here; docs/doctor.md explains them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .values import option, show

#: What a finding can be, in the order the doctor reports them.
KINDS: dict[str, str] = {
    "diverging": "the loss became NaN or inf, or grew far above its first value",
    "dead_units": "ReLU-like hidden units that output 0 for every example and pass no gradient",
    "saturated_units": "sigmoid or tanh hidden units stuck near their limits, where the "
                       "gradient vanishes",
    "unscaled_inputs": "input features far larger than about 1 in size",
    "learning_rate_too_small": "the loss barely fell over the whole run",
    "underfitting": "the network does not fit even its training set",
    "overfitting": "the network fits its training set far better than the validation set",
    "healthy": "none of the above",
}
#: How bad a finding is: the run produced nothing usable, a problem to fix, or nothing wrong.
SEVERITIES = ("error", "warning", "info")

#: diverging: the largest batch loss this many times the first one ...
GROWTH = 10.0
#: ... or an epoch's mean loss this fraction above the first batch's.
ENDED_ABOVE = 0.5
#: learning_rate_too_small: the loss fell by less than this fraction of its first value ...
SLOW = 0.1
#: ... or the training score is below the underfitting bar while the first layer's weights
#: moved less than this fraction of their initial size (``|W1_end - W1_start| / |W1_start|``).
MOVED = 0.1
#: dead_units: this fraction of a ReLU-like layer's units (or more) passes no gradient.
DEAD = 0.25
#: saturated_units: this fraction of a sigmoid/tanh layer's activations (or more) is saturated.
SATURATED = 0.3
#: unscaled_inputs: an input feature's standard deviation or mean above this in size.
INPUT_SCALE = 10.0
#: underfitting: a final training score below this (accuracy, or R^2 for a regression).
UNDERFIT = {"acc": 0.7, "r2": 0.5}
#: underfitting: a last epoch that lowered the loss by this fraction (or more) was still learning.
STILL_FALLING = 0.02
#: overfitting: the training score this far above the validation score ...
GAP = 0.1
#: ... or a validation loss this fraction above its lowest value, at the end of the run.
VAL_RISE = 0.2
#: Rows of the training inputs that :func:`input_stats` looks at.
INPUT_SAMPLE = 1000


@dataclass
class Record:
    """What a run recorded, as the diagnosis reads it; an older run's folder, or one whose
    training diverged, lacks some of it (``None`` or empty), and gets fewer findings.

    losses: the batch objective per iteration; epoch_losses, val_losses: per epoch; metric:
    ``acc`` or ``r2``; train_score, val_score: at the end; activations, units: per hidden
    layer; outputs: the output layer's width; activity:
    :class:`mlp.callbacks.ActivityMonitor`'s history; inputs: :func:`input_stats`; moved:
    :func:`weight_change`; diverged: where ``mlp train`` stopped a diverging run (``epoch``,
    ``iteration``, ``message``); settings: :class:`~mlp.run.settings.TrainSettings` as a dict.
    """

    losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    metric: str = "acc"
    train_score: float | None = None
    val_score: float | None = None
    activations: list[str] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    outputs: int | None = None
    activity: dict[str, list] | None = None
    inputs: dict[str, float] | None = None
    moved: dict[str, float] | None = None
    diverged: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: its ``kind`` (one of :data:`KINDS`), ``severity`` (one of
    :data:`SEVERITIES`), what the run shows with its numbers (``message``), ``why`` it
    matters, the change to try (``suggestion``, naming ``options`` of ``mlp train``), and the
    numbers themselves (``evidence``)."""

    kind: str
    severity: str
    message: str
    why: str
    suggestion: str = ""
    options: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "options": list(self.options)}


# -- the questions the grader asks too --------------------------------------------------------


def non_finite(values: Sequence[float]) -> bool:
    """Whether a loss history holds NaN or inf."""
    return not bool(np.isfinite(np.asarray(values, dtype=np.float64)).all())


def growth(losses: Sequence[float]) -> float:
    """The largest finite loss over the first one (1 for a history too short or a first loss
    that is not positive)."""
    values = np.asarray(losses, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if len(values) < 2 or not (math.isfinite(values[0]) and values[0] > 0) or not len(finite):
        return 1.0
    return float(finite.max() / values[0])


def fall(first: float, last: float) -> float:
    """The fraction of ``first`` by which a loss fell to ``last`` (negative: it rose)."""
    return (first - last) / max(abs(first), 1e-12)


def input_stats(X) -> dict[str, float]:
    """The size of the inputs as the network reads them. X: (N, D) a sample of the training
    inputs. Returns ``rows``, ``max_abs``, ``feature_std_max`` and ``feature_mean_abs_max``
    (the largest standard deviation and mean, in size, of a column)."""
    X = np.asarray(X, dtype=np.float64)
    if not X.size:
        return {"rows": int(X.shape[0])}
    return {"rows": int(X.shape[0]), "max_abs": float(np.abs(X).max()),
            "feature_std_max": float(X.std(axis=0).max()),
            "feature_mean_abs_max": float(np.abs(X.mean(axis=0)).max())}


def weight_change(start: dict[str, np.ndarray], end: dict[str, np.ndarray]) -> dict[str, float]:
    """How far each weight matrix moved over a run, relative to its size at the start:
    ``|W_end - W_start| / |W_start|`` (Frobenius norms) per name of ``start`` (``W1``, ...);
    a matrix that started at zero is left out."""
    moved = {}
    for name, first in start.items():
        first = np.asarray(first, dtype=np.float64)
        size = float(np.linalg.norm(first))
        if size > 0:
            moved[name] = float(np.linalg.norm(np.asarray(end[name], np.float64) - first) / size)
    return moved


# -- the diagnosis ----------------------------------------------------------------------------


def diagnose(r: Record) -> list[Finding]:
    """The findings of a run, most severe first; ``healthy`` alone when there are none.

    A diverging run gets no verdict on how well it learned; a flat loss or a low training score
    explained by dead or saturated units or unscaled inputs is reported as those, not as a
    learning rate too small, nor as a network too small unless a hidden layer is narrower than
    the output (then both: a unit or two that die or saturate leave it nothing to fit with)."""
    diverging = _diverging(r)
    causes = [f for f in (_dead(r), _saturated(r), _unscaled(r)) if f]
    if diverging:
        return [diverging, *causes]
    slow = None if causes else _too_slow(r)
    underfit = None if (causes and not _bottleneck(r)) or slow else _underfitting(r)
    found = [*causes, *(f for f in (slow, underfit, _overfitting(r)) if f)]
    return found or [_healthy(r)]


def _bottleneck(r: Record) -> bool:
    """Whether a hidden layer has fewer units than the network has outputs."""
    return bool(r.units) and r.outputs is not None and min(r.units) < r.outputs


def _start_end(r: Record) -> tuple[float, float] | None:
    """The first batch loss and the last epoch's mean loss."""
    first = r.losses[0] if r.losses else (r.epoch_losses[0] if r.epoch_losses else None)
    if first is None or not r.epoch_losses:
        return None
    return first, r.epoch_losses[-1]


def _lr(r: Record, factor: float) -> tuple[str, tuple[str, ...]]:
    lr = r.settings.get("lr")
    if not isinstance(lr, int | float):
        return f"a {'larger' if factor > 1 else 'smaller'} {option('lr')}", (option("lr"),)
    return f"{option('lr')} {show(float(f'{lr * factor:.3g}'))}", (option("lr"),)


def _diverging(r: Record) -> Finding | None:
    losses = r.losses or r.epoch_losses
    ends = _start_end(r)
    g = growth(losses)
    evidence: dict[str, Any] = {"first_loss": losses[0] if losses else None, "growth": g,
                                "learning_rate": r.settings.get("lr")}
    if r.diverged:
        seen = f"mlp train stopped the run: {r.diverged.get('message', 'it diverged')}"
        evidence.update(epoch=r.diverged.get("epoch"), iteration=r.diverged.get("iteration"))
    elif non_finite(losses):
        at = int(np.flatnonzero(~np.isfinite(np.asarray(losses, dtype=np.float64)))[0]) + 1
        seen = f"the loss became {losses[at - 1]} at iteration {at}"
        evidence.update(iteration=at)
    elif g >= GROWTH:
        seen = (f"the batch loss grew to {g * losses[0]:.3g}, {g:.3g} times its first value "
                f"({losses[0]:.3g})")
    elif ends and (worst := _worst_epoch(r, ends[0])) is not None:
        loss = r.epoch_losses[worst]
        seen = (f"epoch {worst + 1}'s mean loss, {loss:.3g}, is {loss / ends[0]:.3g} times "
                f"the first batch's ({ends[0]:.3g})")
        evidence.update(epoch=worst + 1, epoch_loss=loss)
    else:
        return None
    change, options = _lr(r, 0.1)
    return Finding("diverging", "error", seen,
                   "each step overshoots and makes the loss worse: the weights grow until the "
                   "network predicts nothing useful (or overflows)",
                   f"{change}, a tenth of this run's rate", options, evidence)


def _worst_epoch(r: Record, first: float) -> int | None:
    """The (0-based) epoch whose mean loss is highest, if it is ENDED_ABOVE or more above the
    first batch loss: a loss that rose over a whole epoch."""
    worst = int(np.argmax(r.epoch_losses))
    return worst if fall(first, r.epoch_losses[worst]) <= -ENDED_ABOVE else None


def _final_layers(r: Record, which: str) -> list[tuple[int, str, float]]:
    """(layer, activation, fraction) per hidden layer at the end: ``dead`` for layers that do
    not saturate, ``saturated`` for those that do."""
    if not r.activity or not r.activity.get("dead"):
        return []
    dead, saturated = r.activity["dead"][-1], r.activity["saturated"][-1]
    out = []
    for k, (d, s) in enumerate(zip(dead, saturated, strict=True), start=1):
        saturating = s is not None and math.isfinite(s)
        name = r.activations[k - 1] if k <= len(r.activations) else "hidden"
        if which == "saturated" and saturating:
            out.append((k, name, float(s)))
        elif which == "dead" and not saturating and d is not None:
            out.append((k, name, float(d)))
    return out


def _layer_words(r: Record, k: int, name: str) -> str:
    units = f"{r.units[k - 1]} " if k <= len(r.units) else ""
    return f"hidden layer {k} ({units}{name} units)"


def _dead(r: Record) -> Finding | None:
    bad = [(k, n, f) for k, n, f in _final_layers(r, "dead") if f >= DEAD]
    if not bad:
        return None
    seen = "; ".join(f"{f:.0%} of {_layer_words(r, k, n)} are dead" for k, n, f in bad)
    change, options = _lr(r, 0.1)
    suggestion = (f"{option('activation')} leaky_relu (its units keep a small slope below 0 "
                  f"and cannot die), or {change} (a tenth of this run's rate)")
    options = (option("activation"), *options)
    if r.settings.get("std") is not None:
        suggestion += f", and leave out {option('std')} (He initialisation suits ReLU)"
        options += (option("std"),)
    return Finding("dead_units", "warning", seen + ": they output 0 for every probe example",
                   "a dead unit passes no gradient, so it never learns again: the layer works "
                   "with a fraction of its width (a step too large, or a large initial weight "
                   "scale, pushes units there)", suggestion, options,
                   {"dead": {str(k): f for k, _, f in bad}, "threshold": DEAD})


def _image_run_unscaled(r: Record) -> bool:
    return r.settings.get("scale") is False and not r.settings.get("data")


def _scale_pixels() -> tuple[str, tuple[str, ...]]:
    return f"{option('scale')} (pixels divided by 255) instead of --no-scale", (option("scale"),)


def _saturated(r: Record) -> Finding | None:
    bad = [(k, n, f) for k, n, f in _final_layers(r, "saturated") if f >= SATURATED]
    if not bad:
        return None
    seen = "; ".join(f"{f:.0%} of the activations of {_layer_words(r, k, n)} are saturated"
                     for k, n, f in bad)
    if _image_run_unscaled(r):
        suggestion, options = _scale_pixels()
    elif r.settings.get("std") is not None:
        suggestion, options = (f"leave out {option('std')} (Xavier initialisation keeps the "
                               "units in range)", (option("std"),))
    else:
        suggestion = f"{option('batch_norm')}, or {option('activation')} relu"
        options = (option("batch_norm"), option("activation"))
    return Finding("saturated_units", "warning",
                   seen + " (sigmoid output below 0.01 or above 0.99, tanh beyond +-0.99)",
                   "a saturated unit's derivative is nearly 0, so almost no gradient reaches "
                   "it or the layers below: learning crawls", suggestion, options,
                   {"saturated": {str(k): f for k, _, f in bad}, "threshold": SATURATED})


def _unscaled(r: Record) -> Finding | None:
    stats = r.inputs or {}
    scale = max(stats.get("feature_std_max") or 0.0, stats.get("feature_mean_abs_max") or 0.0)
    if scale <= INPUT_SCALE:
        return None
    seen = (f"the inputs are large: a feature's standard deviation reaches "
            f"{stats.get('feature_std_max', 0):.3g}, a feature's mean "
            f"{stats.get('feature_mean_abs_max', 0):.3g} in size, and values go up to "
            f"{stats.get('max_abs', 0):.3g} (scaled inputs are about 1)")
    if _image_run_unscaled(r):
        suggestion, options = _scale_pixels()
    else:
        suggestion, options = "scale each input column to about [-1, 1] before training", ()
    return Finding("unscaled_inputs", "warning", seen,
                   "large inputs make large pre-activations: sigmoid and tanh units saturate, "
                   "and the first layer's gradients dwarf the others', so no learning rate "
                   "suits every layer", suggestion, options,
                   {**stats, "threshold": INPUT_SCALE})


def _too_slow(r: Record) -> Finding | None:
    ends = _start_end(r)
    if ends is None:
        return None
    moved = (r.moved or {}).get("W1")
    evidence = {"first_loss": ends[0], "last_epoch_loss": ends[1], "fall": fall(*ends),
                "learning_rate": r.settings.get("lr"), "threshold": SLOW}
    seen = (f"the loss fell only {fall(*ends):.1%} over {len(r.epoch_losses)} epochs, "
            f"from {ends[0]:.4g} to {ends[1]:.4g}")
    if fall(*ends) >= SLOW:
        if moved is None or moved >= MOVED or not _below_bar(r):
            return None
        seen = (f"the first layer's weights moved only {moved:.1%} of their initial size over "
                f"{len(r.epoch_losses)} epochs, and the training {_score_name(r)} is "
                f"{r.train_score:.3f} (the loss fell from {ends[0]:.4g} to {ends[1]:.4g})")
        evidence.update(weight_change=moved, threshold=MOVED, **{f"train_{r.metric}":
                                                                 r.train_score})
    change, options = _lr(r, 10)
    return Finding("learning_rate_too_small", "warning", seen,
                   "each step moves the weights too little: the run ends before the network "
                   "has learned much", f"{change}, ten times this run's rate", options, evidence)


def _below_bar(r: Record) -> bool:
    """Whether the final training score is below the underfitting bar."""
    limit = UNDERFIT.get(r.metric)
    return r.train_score is not None and limit is not None and r.train_score < limit


def _score_name(r: Record) -> str:
    return "accuracy" if r.metric == "acc" else "R^2"


def _underfitting(r: Record) -> Finding | None:
    if not _below_bar(r):
        return None
    limit, score = UNDERFIT[r.metric], _score_name(r)
    falling = len(r.epoch_losses) > 1 and fall(*r.epoch_losses[-2:]) >= STILL_FALLING
    widest = max(r.settings.get("hidden") or [0], default=0)
    wider = f"{option('hidden')} {max(4 * widest, 64)}"
    options = (option("hidden"),)
    suggestion = f"a larger network ({wider})"
    if falling:
        epochs = r.settings.get("epochs") or len(r.epoch_losses)
        suggestion = f"more epochs ({option('epochs')} {2 * epochs}), or {suggestion}"
        options = (option("epochs"), *options)
    reg = r.settings.get("reg") or 0
    if reg >= 1e-2:
        suggestion += f", with less weight decay ({option('reg')} {show(reg / 10)})"
        options += (option("reg"),)
    return Finding("underfitting", "warning",
                   f"the training {score} is only {r.train_score:.3f}" +
                   (" and the loss was still falling" if falling else ""),
                   "a network that cannot fit its own training data cannot do well on new "
                   "data: it is too small, too constrained, or not trained long enough",
                   suggestion, options,
                   {f"train_{r.metric}": r.train_score, "threshold": limit,
                    "still_falling": falling})


def _overfitting(r: Record) -> Finding | None:
    if _below_bar(r):
        return None  # it has not fitted its training set: nothing to memorise yet
    gap = (None if r.train_score is None or r.val_score is None
           else r.train_score - r.val_score)
    val = [v for v in r.val_losses if math.isfinite(v)]
    best = int(np.argmin(val)) if val else 0
    rise = -fall(val[best], val[-1]) if val else 0.0
    if not ((gap is not None and gap >= GAP) or rise >= VAL_RISE):
        return None
    score = _score_name(r)
    seen = []
    if gap is not None and gap >= GAP:
        seen.append(f"the training {score} is {r.train_score:.3f}, the validation "
                    f"{score} {r.val_score:.3f} (a gap of {gap:.3f})")
    if rise >= VAL_RISE:
        seen.append(f"the validation loss rose {rise:.0%} above its lowest, "
                    f"{val[best]:.4g} at epoch {best + 1}")
    suggestion, options = _less_memorising(r)
    return Finding("overfitting", "warning", "; ".join(seen),
                   "the network memorises its training examples instead of what generalises: "
                   "the validation score is what to expect on new data", suggestion, options,
                   {"gap": gap, "val_loss_rise": rise, "best_val_epoch": best + 1 if val else None,
                    "thresholds": {"gap": GAP, "val_loss_rise": VAL_RISE}})


def _less_memorising(r: Record) -> tuple[str, tuple[str, ...]]:
    s = r.settings
    reg = s.get("reg") or 0
    parts = [f"{option('reg')} {show(max(reg * 10, 1e-3))}"]
    options = [option("reg")]
    if not s.get("dropout"):
        parts.append(f"{option('dropout')} 0.2")
        options.append(option("dropout"))
    if not s.get("early_stopping"):
        parts.append(option("early_stopping"))
        options.append(option("early_stopping"))
    text = ", ".join(parts[:-1]) + f" or {parts[-1]}" if len(parts) > 1 else parts[0]
    if s.get("train_size"):
        text += f"; or more training examples (a larger {option('train_size')}, or none)"
        options.append(option("train_size"))
    return text, tuple(options)


def _healthy(r: Record) -> Finding:
    ends = _start_end(r)
    seen = "no problem found"
    if ends:
        seen += f": the loss fell from {ends[0]:.4g} to {ends[1]:.4g}"
    if r.train_score is not None:
        score = _score_name(r)
        seen += f"; training {score} {r.train_score:.3f}" + (
            f", validation {r.val_score:.3f}" if r.val_score is not None else "")
    return Finding("healthy", "info", seen, "the run shows none of the problems the doctor "
                   "looks for", evidence={"train_score": r.train_score,
                                          "val_score": r.val_score})
