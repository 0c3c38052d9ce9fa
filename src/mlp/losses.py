"""Output heads: each pairs the network's last scores with a loss, and knows how to turn scores
into predictions (and, for classifiers, probabilities) and how to check the targets.

======================  ============================  ==========================================
``output`` / ``loss``   targets y                     loss of a batch
======================  ============================  ==========================================
softmax / cross_entropy (N,) int labels in [0, C)     mean over rows of -log softmax(s)[y]
sigmoid / binary_...    (N,) 0/1 labels (C = 1), or   mean over all entries of the binary
                        (N, C) 0/1 (multilabel)       cross-entropy of sigmoid(s)
linear / mse            (N,) or (N, C) floats         mean over all N*C entries of (s - y)^2 / 2
linear / huber          (N,) or (N, C) floats         mean over all N*C entries of PyTorch's
                                                      Huber loss with ``delta``
exp / poisson           (N,) or (N, C) floats >= 0    mean over all N*C entries of half the
                                                      Poisson deviance of exp(s)
======================  ============================  ==========================================

``mse`` follows scikit-learn's convention (half the mean squared error, so that its gradient is
the mean residual). Classification losses are computed from the raw scores (logits): the
log-sum-exp is shifted by the row maximum, and the binary cross-entropy uses
``max(z, 0) - z y + log(1 + exp(-|z|))``, so a logit of +-1000 gives a finite loss and gradient.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from ._validation import check_choice, check_positive, check_y
from .layers import buffer, expit, log_tiny
from .metrics import accuracy, r2_score


@functools.lru_cache(maxsize=8)
def _row_starts(n: int, c: int) -> np.ndarray:
    """``arange(n) * c``: where each row of an (n, c) array starts in its flat view (read-only,
    made once per shape)."""
    starts = np.arange(n) * c
    starts.flags.writeable = False
    return starts


def row_weights(sample_weight: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A batch's sample weights (N,) >= 0 rescaled to mean 1, so that a loss's mean over the
    rows becomes the weighted mean ``sum w_i l_i / sum w_i``. All zeros stay zeros (the batch
    then adds nothing to the data loss)."""
    total = float(sample_weight.sum())
    scale = len(sample_weight) / total if total > 0 else 0.0
    return (sample_weight * scale).astype(dtype, copy=False)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax. scores: (N, C) -> probabilities (N, C)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def softmax_cross_entropy(
    scores: np.ndarray, y: np.ndarray, out: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Multiclass cross-entropy of the softmax, averaged over the batch.

    scores: (N, C) logits; y: (N,) int labels in [0, C); out: optional (N, C) array for the
    gradient (may be ``scores`` itself); weight: optional (N,) row weights of mean 1 (see
    :func:`row_weights`), which make the average a weighted one.
    Returns ``(loss, dscores)`` with dscores (N, C) = (softmax(scores) - onehot(y)) / N, each
    row times its weight.
    """
    n, c = scores.shape
    # Each row's max, subtracted so that exp cannot overflow; written into the gradient's buffer.
    shifted = np.subtract(scores, scores.max(axis=1, keepdims=True), out=out)
    flat = shifted.reshape(-1)  # the labels' entries by flat position: cheaper than [rows, y]
    at_label = _row_starts(n, c) + y
    picked = flat.take(at_label)
    # Probabilities near the smallest normal float would turn subnormal once divided by the
    # row sum and N, and subnormal inputs slow the next matrix products many times over.
    # Raising them to e^20 times that bound changes each by less than 1e-29 (float32).
    np.maximum(shifted, log_tiny(shifted.dtype) + 20, out=shifted)
    exp = np.exp(shifted, out=shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    # Per-example differences first: two large sums subtracted would cancel digits.
    per_row = np.log(sum_exp[:, 0]) - picked
    if weight is None:
        loss = float(per_row.sum()) / n
        sum_exp *= n  # one pass over the scores for both divisions
        exp /= sum_exp
        flat[at_label] -= 1 / n
        return loss, exp
    loss = float(np.dot(per_row, weight)) / n
    exp /= sum_exp
    exp *= (weight / n)[:, None]
    flat[at_label] -= weight / n
    return loss, exp


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, without overflow warnings. z: any shape."""
    return expit(np.array(z, dtype=np.result_type(z, np.float32), copy=True))


def binary_cross_entropy_with_logits(
    z: np.ndarray, y: np.ndarray, out: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of ``sigmoid(z)`` against 0/1 labels, averaged over all entries.

    z: (N, C) logits; y: (N,) labels in {0, 1} for C = 1, or (N, C); out: optional (N, C)
    array for the gradient; weight: optional (N,) row weights of mean 1.
    Returns ``(loss, dz)`` with dz = (sigmoid(z) - y) / (N C), each row times its weight.
    """
    t = y.reshape(z.shape).astype(z.dtype)
    # -y log s(z) - (1 - y) log(1 - s(z)) rewritten so that no exp can overflow.
    per_entry = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    if out is None:
        out = np.empty_like(z)
    np.copyto(out, z)
    dz = expit(out)
    dz -= t
    dz /= z.size
    return _weighted(per_entry, dz, weight)


def _weighted(per_entry: np.ndarray, grad: np.ndarray,
              weight: np.ndarray | None) -> tuple[float, np.ndarray]:
    """The mean of ``per_entry`` (N, C) and its gradient ``grad`` (N, C), with each row
    weighted by ``weight`` (N,) of mean 1 if given."""
    if weight is None:
        return float(np.mean(per_entry)), grad
    grad *= weight[:, None]
    return float(np.dot(weight, per_entry.sum(axis=1))) / per_entry.size, grad


def mean_squared_error(
    pred: np.ndarray, y: np.ndarray, out: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Half the mean squared error over all N*C entries (scikit-learn's ``squared_error``).

    pred: (N, C); y: (N,) for C = 1, or (N, C); weight: optional (N,) row weights of mean 1.
    Returns ``(loss, dpred)`` with dpred = (pred - y) / (N C), each row times its weight.
    """
    diff = np.subtract(pred, y.reshape(pred.shape), out=out)
    if weight is not None:
        return _weighted(0.5 * diff * diff, diff / diff.size, weight)
    loss = 0.5 * float(np.vdot(diff, diff)) / diff.size
    diff /= diff.size
    return loss, diff


def huber(
    pred: np.ndarray, y: np.ndarray, delta: float = 1.0, out: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """The Huber loss averaged over all N*C entries, as PyTorch's ``HuberLoss(delta)``:
    ``d^2 / 2`` where ``|d| < delta``, else ``delta (|d| - delta / 2)``, with d = pred - y.

    weight: optional (N,) row weights of mean 1. Returns ``(loss, dpred)`` with
    dpred = clip(d, -delta, delta) / (N C), each row times its weight.
    """
    diff = np.subtract(pred, y.reshape(pred.shape), out=out)
    size = np.abs(diff)
    per_entry = np.where(size < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
    np.clip(diff, -delta, delta, out=diff)
    diff /= diff.size
    return _weighted(per_entry, diff, weight)


def half_poisson_deviance(
    scores: np.ndarray, y: np.ndarray, out: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Half the Poisson deviance (scikit-learn's ``poisson`` loss) from log-means: with
    ``mu = exp(s)``, ``y log(y / mu) - y + mu`` per entry (0 log 0 = 0), averaged over all N*C
    entries. The log link is the canonical one, so the gradient is ``(mu - y) / (N C)``.

    scores: (N, C) log-means s; y: (N,) for C = 1, or (N, C), counts or rates >= 0; weight:
    optional (N,) row weights of mean 1. Returns ``(loss, dscores)``.
    """
    target = y.reshape(scores.shape)
    mu = np.exp(scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(target > 0, target * np.log(np.where(target > 0, target, 1)), 0.0)
    per_entry = ylogy - target * scores - target + mu
    grad = np.subtract(mu, target, out=out)
    grad /= grad.size
    return _weighted(per_entry, grad, weight)


class Head:
    """An output: ``loss(scores, y, scratch) -> (loss, dscores)`` for a batch, ``predict`` and
    ``score`` (accuracy or R^2) from scores, and the checks of output size and targets.

    ``task`` is ``classification`` or ``regression``; ``metric`` is the name of ``score`` in a
    training history (``acc`` or ``r2``).
    """

    output = ""
    loss_name = ""
    task = "classification"
    metric = "acc"

    def loss(self, scores: np.ndarray, y: np.ndarray, scratch=None,
             weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``(loss, dscores)`` of a batch: scores (N, C), y its targets, scratch the buffers to
        reuse, weight optional (N,) row weights of mean 1 (:func:`row_weights`)."""
        raise NotImplementedError

    def predict(self, scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        raise TypeError(f"output={self.output!r} is a regression output: it has no class "
                        "probabilities")

    def score(self, scores: np.ndarray, y: np.ndarray) -> float:
        """Accuracy (classification) or R^2 (regression) of the predictions from ``scores``."""
        return accuracy(y, self.predict(scores))

    def check_output_size(self, output_size: int) -> None:
        """Raise ValueError if this head cannot sit on ``output_size`` scores."""

    def n_classes(self, output_size: int) -> int:
        return output_size

    def check_targets(self, y: object, n: int, output_size: int, name: str = "y") -> np.ndarray:
        """Targets for N examples, checked and converted."""
        raise NotImplementedError

    def random_targets(self, rng: np.random.Generator, n: int, output_size: int) -> np.ndarray:
        """n targets of the kind this head expects, drawn from ``rng`` (for gradient checks)."""
        return rng.integers(0, output_size, size=n)

    def config(self) -> dict:
        return {"output": self.output, "loss": self.loss_name}


class SoftmaxHead(Head):
    output, loss_name = "softmax", "cross_entropy"

    def loss(self, scores, y, scratch=None, weight=None):
        return softmax_cross_entropy(scores, y, buffer(scratch, "dscores", scores.shape,
                                                       scores.dtype), weight)

    def predict(self, scores):
        return np.argmax(scores, axis=1)

    def probabilities(self, scores):
        return softmax(scores)

    def check_output_size(self, output_size):
        if output_size < 2:
            raise ValueError(f"output_size must be at least 2 for output='softmax' (one score "
                             f"per class); got {output_size}")

    def check_targets(self, y, n, output_size, name="y"):
        return check_y(y, n, output_size, name)


class SigmoidHead(Head):
    """Binary (one logit, labels 0/1) or multilabel (C logits, an (N, C) 0/1 target)."""

    output, loss_name = "sigmoid", "binary_cross_entropy"

    def loss(self, scores, y, scratch=None, weight=None):
        return binary_cross_entropy_with_logits(
            scores, y, buffer(scratch, "dscores", scores.shape, scores.dtype), weight)

    def predict(self, scores):
        labels = (scores > 0).astype(np.int64)
        return labels[:, 0] if scores.shape[1] == 1 else labels

    def probabilities(self, scores):
        """(N, 2) ``[1 - p, p]`` for one logit; (N, C) per-label probabilities otherwise."""
        p = sigmoid(scores)
        return np.hstack([1 - p, p]) if scores.shape[1] == 1 else p

    def score(self, scores, y):
        """Accuracy; for multilabel targets, the fraction of rows with every label right."""
        return accuracy(y, self.predict(scores))

    def n_classes(self, output_size):
        return 2

    def random_targets(self, rng, n, output_size):
        shape = (n,) if output_size == 1 else (n, output_size)
        return rng.integers(0, 2, size=shape)

    def check_targets(self, y, n, output_size, name="y"):
        if output_size == 1:
            return check_y(y, n, 2, name)
        y = np.asarray(y)
        if y.ndim != 2 or y.shape != (n, output_size):
            raise ValueError(f"{name} must have shape ({n}, {output_size}) of 0/1 labels for a "
                             f"multilabel sigmoid output; got shape {y.shape}")
        if not (y.dtype == bool or np.issubdtype(y.dtype, np.integer)):
            raise TypeError(f"{name} must hold 0/1 integer labels; got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{name} must hold labels in {{0, 1}}; got {y[(y < 0) | (y > 1)][0]}")
        return y.astype(np.int64)


class LinearHead(Head):
    """Regression: the scores are the predictions; loss ``mse`` or ``huber`` (with ``delta``)."""

    output, task, metric = "linear", "regression", "r2"

    def __init__(self, loss: str = "mse", delta: float = 1.0) -> None:
        self.loss_name = check_choice("loss", loss, ("mse", "huber"))
        self.delta = check_positive("huber_delta", delta)

    def loss(self, scores, y, scratch=None, weight=None):
        out = buffer(scratch, "dscores", scores.shape, scores.dtype)
        if self.loss_name == "mse":
            return mean_squared_error(scores, y, out, weight)
        return huber(scores, y, self.delta, out, weight)

    def predict(self, scores):
        return scores[:, 0].copy() if scores.shape[1] == 1 else scores

    def score(self, scores, y):
        return r2_score(y, self.predict(scores))

    def n_classes(self, output_size):
        return 0

    def random_targets(self, rng, n, output_size):
        return rng.standard_normal((n, output_size) if output_size > 1 else n)

    def check_targets(self, y, n, output_size, name="y"):
        y = np.asarray(y)
        if y.dtype == bool or not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
            raise TypeError(f"{name} must hold real-valued regression targets; got dtype "
                            f"{y.dtype}")
        shapes = [(n, output_size)] + ([(n,)] if output_size == 1 else [])
        if y.shape not in shapes:
            want = " or ".join(map(str, shapes))
            raise ValueError(f"{name} must have shape {want} (one row of targets per row of X); "
                             f"got shape {y.shape}")
        y = y.astype(np.float64, copy=False)
        if not np.isfinite(y).all():
            raise ValueError(f"{name} must be finite; got {y[~np.isfinite(y)][0]}")
        return y

    def config(self):
        return {"output": "linear", "loss": self.loss_name, "huber_delta": self.delta}


class PoissonHead(LinearHead):
    """Regression of counts or rates with the log link (scikit-learn's ``loss='poisson'``):
    the scores are log-means, the predictions ``exp(scores)``, the loss half the Poisson
    deviance; targets must be >= 0."""

    output = "exp"

    def __init__(self) -> None:
        self.loss_name, self.delta = "poisson", 1.0

    def loss(self, scores, y, scratch=None, weight=None):
        out = buffer(scratch, "dscores", scores.shape, scores.dtype)
        return half_poisson_deviance(scores, y, out, weight)

    def predict(self, scores):
        return super().predict(np.exp(scores))

    def random_targets(self, rng, n, output_size):
        return rng.poisson(2.0, size=(n, output_size) if output_size > 1 else n).astype(float)

    def check_targets(self, y, n, output_size, name="y"):
        y = super().check_targets(y, n, output_size, name)
        if y.size and y.min() < 0:
            raise ValueError(f"{name} must be >= 0 for the Poisson loss (counts or rates); got "
                             f"{y.min():g}")
        return y

    def config(self):
        return {"output": "exp", "loss": "poisson"}


OUTPUTS: dict[str, type[Head]] = {"softmax": SoftmaxHead, "sigmoid": SigmoidHead,
                                  "linear": LinearHead, "exp": PoissonHead}
#: The losses each output allows; the first is its default.
OUTPUT_LOSSES = {"softmax": ("cross_entropy",), "sigmoid": ("binary_cross_entropy",),
                 "linear": ("mse", "huber"), "exp": ("poisson",)}


def output_head(task: str, n: int) -> tuple[str, int]:
    """The output layer a task gets, the one rule of every door (``mlp train``, the estimators,
    the playground): ``(output, size)``. ``n``: the number of classes, or of regression targets.

    Two classes get one sigmoid unit (the probability of class 1), as scikit-learn's
    MLPClassifier: a 2-way softmax has two logits whose difference is all that counts, so half
    its last layer is redundant. More classes get a softmax, a regression linear units.
    Probabilities have one column per class either way (``predict_proba`` gives ``[1 - p, p]``).
    """
    if task == "regression":
        return "linear", n
    if task != "classification":
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}")
    if n < 2:
        raise ValueError(f"a classification needs at least 2 classes; got {n}")
    return ("sigmoid", 1) if n == 2 else ("softmax", n)


def make_head(output: str, loss: str | None = None, huber_delta: float = 1.0) -> Head:
    """The head for ``output`` (softmax, sigmoid or linear) and ``loss`` (None: its default)."""
    check_choice("output", output, tuple(OUTPUTS))
    loss = OUTPUT_LOSSES[output][0] if loss is None else loss
    check_choice(f"loss for output={output!r}", loss, OUTPUT_LOSSES[output])
    if not isinstance(huber_delta, numbers.Real) or isinstance(huber_delta, bool):
        raise TypeError(f"huber_delta must be a positive number; got {huber_delta!r}")
    if output == "linear":
        return LinearHead(loss, huber_delta)
    return OUTPUTS[output]()
