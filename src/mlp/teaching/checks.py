"""The checks of Problem Set 4's code: one per question, with the problem set's points.

A question holds *items* (the loss, each parameter's gradient, ``predict``, ...), each worth a
share of the question's points; an item runs on *cases*: the notebook's own (visible) and hidden
ones at other seeds, sizes and data. A case is a *task* for the student's code (run in the
sandbox by :mod:`mlp.teaching.probe`) and a *reference*: the same computation by this library,
done at grading time. An item's credit is the mean of its cases' credits, so a submission that
hard-codes the notebook's numbers earns the notebook's cases and nothing for the hidden ones.

Scoring rules (docs/teaching.md says the same):

- values (losses, scores, gradients, training histories) pass when their relative error
  (``mlp.rel_error``: ``|a - b| / max(1e-8, |a| + |b|)``, the largest over the entries) is at
  most ``TOLERANCE``; labels must be equal;
- an MNIST accuracy earns full credit at or above its threshold, half of it less than ``HALF``
  (0.1) below (but never below halfway from the untrained network's accuracy to the
  reference's), none further down; the thresholds are the reference's accuracy on the same data
  and settings less ``MARGIN``, or with ``full=True`` on the notebook's settings the problem
  set's own figures less ``MARGIN``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import load_dataset
from ..demo import toy_data
from ..gradcheck import rel_error
from ..network import TwoLayerMLP
from ..run.diagnosis import GROWTH, fall, growth, non_finite

#: Largest relative error for values that should equal the reference's.
TOLERANCE = 1e-6
#: How far below the reference (or the problem set's figure) an MNIST accuracy may fall.
MARGIN = 0.03
#: An MNIST accuracy less than this far below its threshold earns half the credit.
HALF = 0.1
PARAMS = ("W1", "b1", "W2", "b2")

#: The problem set's MNIST figures (its notebook's full-MNIST run), the thresholds of ``--full``.
PROBLEM_SET_ACCURACY = {
    "sigmoid": {"val": 0.8724, "test": 0.8739},
    "relu": {"val": 0.9661, "test": 0.9635},
}


@dataclass
class Verdict:
    """How one case went: credit in [0, 1], what was found and expected, and a hint."""

    credit: float
    found: str = ""
    expected: str = ""
    hint: str | None = None
    #: Whether ``expected`` shows a reference value, kept from the report for hidden cases.
    reveals: bool = True


@dataclass
class Task:
    """One computation for the student's code (``op`` and ``spec``, sent to the probe, with its
    input ``arrays``) and the same computation by the library (``reference()``)."""

    id: str
    op: str
    spec: dict[str, Any]
    arrays: dict[str, np.ndarray]
    label: str
    hidden: bool
    needs: tuple[str, ...]
    reference: Callable[[], dict[str, Any]]
    #: Scores far from zero: a softmax that does not subtract the max overflows.
    raw_pixels: bool = False
    #: Data the grader keeps: it never enters the jail (held-out images and their labels).
    private: dict[str, np.ndarray] = field(default_factory=dict)

    def probe_task(self) -> dict[str, Any]:
        return {"id": self.id, "op": self.op, **self.spec}


@dataclass
class Item:
    """A part of a question worth ``points``, judged on ``tasks`` by ``judge(found, reference,
    task) -> Verdict`` (found: the student's decoded values for the task)."""

    name: str
    points: float
    tasks: list[Task]
    judge: Callable[[dict, dict, Task], Verdict]


@dataclass
class Question:
    label: str
    title: str
    points: float
    items: list[Item]
    #: "toy" or "mnist": which limits its run gets.
    kind: str
    #: Questions whose code this one runs too (named in the feedback when both lost points).
    depends: tuple[str, ...] = ()
    #: Extra advice from the pattern of its items' results: (items) -> hint or None.
    pattern: Callable[[dict[str, float]], str | None] | None = None
    tasks: list[Task] = field(init=False)

    def __post_init__(self) -> None:
        unique: dict[str, Task] = {}
        for item in self.items:
            for task in item.tasks:
                unique.setdefault(task.id, task)
        self.tasks = list(unique.values())


# -- the cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A network and a batch: the notebook's toy problem, or a hidden one whose parameters are
    given to the student's network after it is built."""

    key: str
    label: str
    hidden: bool
    sizes: tuple[int, int, int]
    reg: float
    arrays: dict[str, np.ndarray]
    #: The notebook's ``np.random.seed(0)`` before the constructor (its own parameters).
    seed: int | None = None
    raw_pixels: bool = False

    def net(self, activation: str) -> dict[str, Any]:
        return {"sizes": list(self.sizes), "std": 0.1, "activation": activation,
                "seed": self.seed, "params": None if self.seed is not None else f"{self.key}/"}


#: The hidden raw-pixel case's scores sit this far from zero, so that ``np.exp`` of a score
#: overflows (past 709) unless each row's largest score is subtracted first, while the scores
#: of a row stay within a few tens of each other, as the problem set's own MNIST runs have
#: them: after that subtraction no probability underflows, however the loss is written.
SCORE_OFFSET = 750.0


def toy_cases(secret: int) -> list[Case]:
    """The notebook's toy problem and three hidden ones drawn from ``secret``: other sizes,
    nonzero biases (a forgotten bias shows), a large reg (a forgotten penalty shows), and
    raw-pixel inputs with scores near ``SCORE_OFFSET`` (a softmax without the max subtracted
    overflows)."""
    X, y = toy_data()
    cases = [Case("toy", "the notebook's toy network", False, (4, 10, 3), 0.1,
                  {"toy/X": X, "toy/y": y}, seed=0)]
    hidden = [  # key, D, H, C, N, reg, input scale (None: raw pixels), weight scale
        ("h1", 6, 7, 4, 8, 0.05, 5.0, 0.5),
        ("h2", 3, 12, 5, 10, 1.3, 1.0, 1.0),
        ("h3", 30, 9, 10, 6, 0.01, None, 1.0),
    ]
    for i, (key, D, H, C, N, reg, x_scale, w_scale) in enumerate(hidden, start=1):
        rng = np.random.default_rng([secret, 1000 + i])
        raw = x_scale is None
        while True:  # drawn again (the same way for a secret) until the labels vary
            X = rng.integers(0, 256, (N, D)).astype(np.float64) if raw else (
                x_scale * rng.standard_normal((N, D)))
            arrays = {f"{key}/X": X, f"{key}/y": rng.integers(0, C, N),
                      f"{key}/W1": (0.01 if raw else w_scale) * rng.standard_normal((D, H)),
                      f"{key}/b1": 0.5 * rng.standard_normal(H),
                      f"{key}/W2": w_scale * rng.standard_normal((H, C)),
                      f"{key}/b2": 0.5 * rng.standard_normal(C) + (SCORE_OFFSET if raw else 0)}
            if _labels_vary(arrays, key, (D, H, C)):
                break
        what = "raw-pixel inputs, large scores, " if raw else ""
        cases.append(Case(key, f"hidden case {i} ({what}D={D}, H={H}, C={C}, N={N}, reg={reg:g})",
                          True, (D, H, C), reg, arrays, raw_pixels=raw))
    return cases


def _labels_vary(arrays: dict[str, np.ndarray], key: str, sizes: tuple[int, int, int]) -> bool:
    """Whether a hidden case's labels, its targets and the network's predictions with either
    activation, hold two classes or more: a ``predict`` that answers one constant label, or
    a loss that ignores the labels, must not pass it by chance."""
    spec = {"sizes": list(sizes), "std": 0.1, "seed": None, "params": f"{key}/"}
    X = arrays[f"{key}/X"]
    with np.errstate(all="ignore"):
        labels = [library_net({**spec, "activation": a}, arrays).predict(X)
                  for a in ("sigmoid", "relu")]
    return all(len(np.unique(v)) > 1 for v in (*labels, arrays[f"{key}/y"]))


def library_net(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> TwoLayerMLP:
    """The reference network for a probe spec: seeded as the student's is, with the same
    parameters."""
    if spec.get("seed") is not None:
        np.random.seed(spec["seed"])
    D, H, C = spec["sizes"]
    net = TwoLayerMLP(D, H, C, std=spec["std"], activation=spec["activation"])
    if spec.get("params"):
        net.params = {name: arrays[spec["params"] + name].copy() for name in PARAMS}
    return net


# -- forward and backward --------------------------------------------------------------------------


def loss_task(case: Case, activation: str, what: str) -> Task:
    """``what``: "scores" (``loss(X)``), "loss" or "gradients" (``loss(X, y, reg)``; the
    latter also asks for the numeric gradient of the student's own loss)."""
    net = case.net(activation)
    spec = {"net": net, "X": f"{case.key}/X",
            "y": None if what == "scores" else f"{case.key}/y", "reg": case.reg,
            "numeric": what == "gradients"}

    def reference() -> dict[str, Any]:
        model = library_net(net, case.arrays)
        X, y = case.arrays[f"{case.key}/X"], case.arrays[f"{case.key}/y"]
        if what == "scores":
            out = {"scores": model.loss(X)}
            out["variants"] = {name: _with_zero(model, name, lambda m: m.loss(X))
                               for name in ("b1", "b2")}
            return out
        loss, grads = model.loss(X, y, reg=case.reg)
        params = {k: v.copy() for k, v in model.params.items()}
        out = {"loss": loss, "grads": grads, "params": params, "N": len(X), "reg": case.reg}
        out["unregularised"] = model.loss(X, y, reg=0.0)
        out["double_reg"] = model.loss(X, y, reg=2 * case.reg)[1]
        other = "relu" if activation == "sigmoid" else "sigmoid"
        out["other_activation"] = library_net({**net, "activation": other}, case.arrays).loss(
            X, y, reg=case.reg)[0]
        return out

    return Task(f"{what}/{case.key}", "loss", spec, dict(case.arrays), case.label, case.hidden,
                ("loss",), reference, case.raw_pixels)


def _with_zero(model: TwoLayerMLP, name: str, compute):
    """``compute(model)`` with parameter ``name`` set to zero (a forgotten bias, say)."""
    saved = model.params[name].copy()
    model.params[name][...] = 0
    try:
        return compute(model)
    finally:
        model.params[name][...] = saved


def judge_loss(found: dict, ref: dict, task: Task) -> Verdict:
    loss = _scalar(found.get("loss"))
    expected = f"{ref['loss']:.10g}"
    if loss is None:
        return Verdict(0, "a loss that is not a single number", expected,
                       "loss(X, y) returns (loss, grads) with loss a float")
    shown = f"{loss:.10g}"
    if _close(loss, ref["loss"]):
        return Verdict(1, shown, expected)
    if not math.isfinite(loss):
        return Verdict(0, shown, expected, _not_finite_hint(loss, task))
    if _close(loss, ref["unregularised"][0]):
        return Verdict(0, shown, expected, "this is the data loss alone: add the penalty "
                       "0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))")
    if _close(loss, ref["other_activation"]):
        return Verdict(0, shown, expected, "this is the loss of the other activation function: "
                       "check which branch runs for self.activation")
    return Verdict(0, shown, expected)


def judge_scores(found: dict, ref: dict, task: Task) -> Verdict:
    scores, expected = found.get("scores"), ref["scores"]
    shape = f"an array of shape {expected.shape}"
    if not isinstance(scores, np.ndarray) or scores.shape != expected.shape:
        got = scores.shape if isinstance(scores, np.ndarray) else type(scores).__name__
        return Verdict(0, f"shape {got}", shape, "loss(X) without y returns the scores, one row "
                       "per example and one column per class: h.dot(W2) + b2", reveals=False)
    error = rel_error(scores, expected)
    found_text = f"max. relative error {error:.1e}"
    if error <= TOLERANCE:
        return Verdict(1, found_text, shape)
    for name, variant in ref["variants"].items():
        if rel_error(scores, variant) <= TOLERANCE:
            return Verdict(0, found_text, "equal scores", f"the scores are those without {name}: "
                           f"add the bias {name}", reveals=False)
    return Verdict(0, found_text, "equal scores", reveals=False)


def judge_gradient(name: str) -> Callable[[dict, dict, Task], Verdict]:
    def judge(found: dict, ref: dict, task: Task) -> Verdict:
        grads = found.get("grads") or {}
        expected = ref["grads"][name]
        want = f"an array of shape {expected.shape}"
        grad = grads.get(name)
        if not isinstance(grad, np.ndarray):
            return Verdict(0, f"no grads[{name!r}]", want,
                           f"grads must have an entry {name!r} for every parameter", reveals=False)
        if grad.shape != expected.shape:
            return Verdict(0, f"shape {grad.shape}", want, _shape_hint(name, expected.shape),
                           reveals=False)
        error = rel_error(grad, expected)
        found_text = f"max. relative error {error:.1e}"
        if error <= TOLERANCE:
            return Verdict(1, found_text, want)
        hint = _gradient_hint(name, grad, found, ref, task)
        return Verdict(0, found_text, "at most 1e-06", hint, reveals=False)

    return judge


def _gradient_hint(name: str, grad: np.ndarray, found: dict, ref: dict,
                   task: Task) -> str | None:
    if not np.isfinite(grad).all():
        return _not_finite_hint(float(np.sum(grad)), task) or "the gradient holds NaN or inf"
    param, reg, n = ref["params"][name], ref["reg"], ref["N"]
    data_ref = ref["unregularised"][1][name]
    weight = name.startswith("W")
    penalty = reg * param if weight else 0.0

    def same(a) -> bool:
        return rel_error(grad, a) <= TOLERANCE

    if weight and reg and same(data_ref):
        return (f"the regularisation term is missing: the penalty 0.5 * reg * np.sum({name}**2)"
                f" adds reg * {name} to the gradient of {name}")
    if weight and reg and same(ref["double_reg"][name]):
        return (f"the penalty 0.5 * reg * np.sum({name}**2) has the gradient reg * {name}, not "
                f"2 * reg * {name}")
    if not weight and reg and same(ref["grads"][name] + reg * param):
        return f"the biases are not regularised: leave reg * {name} out of d{name}"
    if n > 1 and same(n * data_ref + penalty):
        return ("the gradient is N times too large: the loss is the mean over the N examples, "
                "so divide dscores by N")
    if n > 1 and same(data_ref / n + penalty):
        return ("the gradient is N times too small: it is divided by N twice (dscores is "
                "already divided by N, so dW and db are not divided again)")
    if same(-ref["grads"][name]):
        return "the sign is flipped: dscores = probabilities minus the one-hot labels"
    numeric = (found.get("numeric") or {}).get(name)
    loss_right = _close(_scalar(found.get("loss")), ref["loss"])
    if isinstance(numeric, np.ndarray) and numeric.shape == grad.shape:
        agrees = rel_error(grad, numeric) <= 1e-4
        if agrees and not loss_right:
            return ("it agrees with the numeric gradient of your own loss, but that loss is "
                    "wrong: fix the forward pass first")
        if not agrees and loss_right:
            return ("your loss is right, but this gradient differs from its numeric gradient "
                    "too: the mistake is in the backward pass")
    return None


def first_layer_pattern(activation: str) -> Callable[[dict[str, float]], str | None]:
    """The output layer's gradients right and the first layer's wrong: the step back through
    the hidden activation is the likely mistake."""

    def pattern(credit: dict[str, float]) -> str | None:
        out_right = all(credit.get(n, 0) == 1 for n in ("W2", "b2"))
        if not out_right or all(credit.get(n, 0) == 1 for n in ("W1", "b1")):
            return None
        if activation == "sigmoid":
            return ("dW2 and db2 are right but dW1 or db1 is not, so the mistake is in the step "
                    "back through the hidden sigmoid: its derivative is h * (1 - h), with h = "
                    "sigmoid(z1) the forward pass's output (not sigmoid(h) * (1 - sigmoid(h)), "
                    "and not z1 * (1 - z1))")
        return ("dW2 and db2 are right but dW1 or db1 is not, so the mistake is in the step "
                "back through the ReLU: it passes dh where z1 = X.dot(W1) + b1 > 0 and 0 "
                "elsewhere")

    return pattern


def _shape_hint(name: str, shape: tuple[int, ...]) -> str:
    if name.startswith("b"):
        return (f"d{name} must have {name}'s shape {shape}: sum the per-example gradients over "
                "the batch (axis=0), without keepdims")
    return f"d{name} must have {name}'s shape {shape} (a transpose missing?)"


def _not_finite_hint(value: float, task: Task) -> str | None:
    """NaN where the scores are large: np.exp overflowed, so the row maximum is not
    subtracted; +inf: the log of a probability that underflowed to 0."""
    if math.isnan(value) and task.raw_pixels:
        return ("the loss is NaN on scores this large: np.exp(scores) overflows to inf; "
                "subtract each row's largest score before np.exp (the log-sum-exp trick); it "
                "does not change the softmax")
    if value == math.inf:
        return ("the loss is inf: the log of a probability that underflowed to 0; take the "
                "log in log space, log p = shifted - np.log(np.sum(np.exp(shifted), axis=1, "
                "keepdims=True)) with shifted = scores - max, instead of np.log(probs)")
    return None


# -- predict and train -----------------------------------------------------------------------------


def predict_task(case: Case, activation: str) -> Task:
    net = case.net(activation)

    def reference() -> dict[str, Any]:
        return {"labels": library_net(net, case.arrays).predict(case.arrays[f"{case.key}/X"])}

    return Task(f"predict/{case.key}", "predict", {"net": net, "X": f"{case.key}/X"},
                dict(case.arrays), case.label, case.hidden, ("predict",), reference)


def judge_predict(found: dict, ref: dict, task: Task) -> Verdict:
    labels, expected = found.get("labels"), ref["labels"]
    want = f"labels, shape {expected.shape}"
    if not isinstance(labels, np.ndarray):
        return Verdict(0, "no array", want, reveals=False)
    if labels.ndim == 2 and labels.shape[0] == len(expected):
        return Verdict(0, f"shape {labels.shape}", want,
                       "predict returns an (N, C) array, the scores or probabilities: return "
                       "each row's label instead, np.argmax(scores, axis=1)", reveals=False)
    if labels.shape != expected.shape:
        return Verdict(0, f"shape {labels.shape}", want, "predict returns one label per row of X",
                       reveals=False)
    same = float(np.mean(labels == expected))
    if same == 1:
        return Verdict(1, "the same labels", want)
    return Verdict(0, f"{same:.0%} of the labels equal", "all of them",
                   "the label of a row is the index of its highest score", reveals=False)


@dataclass(frozen=True)
class Training:
    """A training run of the student's network and the library's, on the same data, seeds and
    settings."""

    key: str
    label: str
    hidden: bool
    activation: str
    sizes: tuple[int, int, int]
    seed: int
    data: dict[str, np.ndarray]  # X, y, X_val, y_val (+ X_test, y_test for MNIST)
    options: dict[str, Any]
    std: float = 0.1
    #: MNIST: the first row of the training images this run trains on.
    first_row: int = 0


HISTORY = ("loss_history", "grad_magnitude_history", "train_acc_history", "val_acc_history")


def toy_trainings(activation: str, secret: int) -> list[Training]:
    """The notebook's toy training for ``activation`` and two hidden ones drawn from
    ``secret``: blobs in 5-D with full batches, and 4-D with minibatches (the shuffling then
    matters: the same seeds give the same order with the given ``train``)."""
    X, y = toy_data()
    if activation == "sigmoid":
        notebook = {"learning_rate": 0.5, "reg": 1e-5, "num_epochs": 100}
    else:
        notebook = {"learning_rate": 0.1, "reg": 1e-5, "num_epochs": 50}
    runs = [Training("toy", f"the notebook's {activation} toy training", False, activation,
                     (4, 10, 3), 0, {"X": X, "y": y, "X_val": X, "y_val": y}, notebook)]
    hidden = [  # key, D, H, C, N, options
        ("t1", 5, 8, 3, 12, {"learning_rate": 0.3, "reg": 1e-3, "num_epochs": 30}),
        ("t2", 4, 6, 3, 40, {"learning_rate": 0.2, "learning_rate_decay": 0.9, "reg": 1e-4,
                             "num_epochs": 15, "batch_size": 10}),
    ]
    for i, (key, D, H, C, N, options) in enumerate(hidden, start=1):
        rng = np.random.default_rng([secret, 2000 + i + (10 if activation == "relu" else 0)])
        centres = 3 * rng.standard_normal((C, D))
        labels = rng.integers(0, C, 2 * N)
        points = centres[labels] + rng.standard_normal((2 * N, D))
        data = {"X": points[:N], "y": labels[:N], "X_val": points[N:], "y_val": labels[N:]}
        label = (f"hidden training {i} (D={D}, H={H}, C={C}, N={N}, "
                 f"batch size {options.get('batch_size', 200)})")
        seed = int(rng.integers(2**31))
        runs.append(Training(key, label, True, activation, (D, H, C), seed, data, options))
    return runs


TRAIN_DATA = ("X", "y", "X_val", "y_val")


def train_task(run: Training, evaluate: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
               history: tuple[str, ...] = HISTORY) -> Task:
    """``evaluate``: held-out sets by name, ``(X, y)``, that never enter the jail: the student's
    trained parameters come back and the grader measures their accuracy on them (the
    reference's accuracy is ``reached[name]``); ``history``: the histories the student's run
    reports."""
    prefix = f"{run.activation}/{run.key}/"
    evaluate = evaluate or {}
    spec = {"net": {"sizes": list(run.sizes), "std": run.std, "activation": run.activation,
                    "seed": run.seed, "params": None},
            **{k: prefix + k for k in TRAIN_DATA},
            "options": run.options, "history": list(history), "trained": bool(evaluate)}
    arrays = {prefix + k: run.data[k] for k in TRAIN_DATA}
    private = {f"{k}_{name}": v for name, (X, y) in evaluate.items()
               for k, v in (("X", X), ("y", y))}

    def reference() -> dict[str, Any]:
        net = library_net(spec["net"], {})
        untrained = {k: v.copy() for k, v in net.params.items()}
        data = [np.asarray(run.data[k], dtype=np.float64) if k.startswith("X") else run.data[k]
                for k in TRAIN_DATA]
        stats = net.train(*data, **run.options)
        out: dict[str, Any] = {"history": {k: np.asarray(stats[k]) for k in HISTORY}}
        if evaluate:
            out["reached"] = {name: accuracy_of(net.params, run.activation, X, y)
                              for name, (X, y) in evaluate.items()}
            out["untrained"] = {name: accuracy_of(untrained, run.activation, X, y)
                                for name, (X, y) in evaluate.items()}
        return out

    return Task(f"train/{run.activation}/{run.key}", "train", spec, arrays, run.label,
                run.hidden, ("train", "loss", "predict"), reference, private=private)


def accuracy_of(params: dict[str, np.ndarray], activation: str, X: np.ndarray,
                y: np.ndarray) -> float:
    """The accuracy on ``X`` (N, D) raw pixels, ``y`` (N,) of a two-layer network with
    ``params``, computed by the library."""
    D, H = params["W1"].shape
    net = TwoLayerMLP(D, H, params["W2"].shape[1], std=0.0, activation=activation)
    net.params = {name: np.asarray(params[name], dtype=np.float64) for name in PARAMS}
    with np.errstate(all="ignore"):
        return float(np.mean(net.predict(np.asarray(X, dtype=np.float64)) == y))


def _history(found: dict, key: str) -> np.ndarray | None:
    value = (found.get("history") or {}).get(key)
    return value if isinstance(value, np.ndarray) and value.ndim == 1 else None


def judge_training_loss(found: dict, ref: dict, task: Task) -> Verdict:
    expected = ref["history"]["loss_history"]
    losses = _history(found, "loss_history")
    want = f"{len(expected)} losses, final {expected[-1]:.6g}"
    if losses is None or len(losses) != len(expected):
        got = "no loss_history" if losses is None else f"{len(losses)} losses"
        return Verdict(0, got, want, "train is given complete: use it as it is (one loss per "
                       "iteration, max(N // batch_size, 1) iterations per epoch)")
    found_text = f"final loss {losses[-1]:.6g}"
    if rel_error(losses, expected) <= TOLERANCE:
        return Verdict(1, found_text, want)
    if non_finite(losses):
        return Verdict(0, found_text, want, "the loss became NaN or inf during training")
    return Verdict(0, found_text, want, "train runs your loss and gradients: when those are "
                   "right, the losses are the reference's, step by step")


def judge_training_accuracy(found: dict, ref: dict, task: Task) -> Verdict:
    for key in ("train_acc_history", "val_acc_history"):
        expected, got = ref["history"][key], _history(found, key)
        if got is None or got.shape != expected.shape:
            shown = "no list" if got is None else f"{len(got)} values"
            return Verdict(0, f"{key}: {shown}", f"{len(expected)} values", "train is given "
                           "complete: use it as it is (one accuracy per epoch)", reveals=False)
        wrong = np.flatnonzero(np.abs(got - expected) > 1e-9)
        if len(wrong):
            epoch = wrong[0]
            hint = ("the accuracies follow the training, which differs: see the training "
                    "losses" if judge_training_loss(found, ref, task).credit < 1 else
                    "train measures the accuracies with predict: check predict")
            return Verdict(0, f"{key}[{epoch}] = {got[epoch]:.4g} (epoch {epoch + 1})",
                           f"{expected[epoch]:.4g}", hint)
    return Verdict(1, "the same accuracies", "the reference's")


def judge_training(found: dict, ref: dict, task: Task) -> Verdict:
    """Q2.4's training: losses and accuracies together."""
    verdict = judge_training_loss(found, ref, task)
    return verdict if verdict.credit < 1 else judge_training_accuracy(found, ref, task)


# -- MNIST -----------------------------------------------------------------------------------------


#: Training images held out of the MNIST runs: the validation set their ``train`` reports on.
MONITOR = 500


def mnist_trainings(activation: str, full: bool, secret: int) -> list[Training]:
    """The notebook's MNIST run and a hidden one (a seed and a slice of the training images
    drawn from ``secret``, 32 hidden units, 5 epochs). ``train`` reports on ``MONITOR``
    held-out training images; the validation and test sets that are scored never enter the
    jail. On the bundled
    subset the minibatches hold 20 examples, so that its images give about as many steps per
    epoch as the problem set's 50,000 with 100, and the notebook's run has 10 epochs instead of
    20 (a class of 30 is graded in about a minute on 2 cores)."""
    X_train, y_train, *_ = mnist(full)
    X, y = X_train[MONITOR:], y_train[MONITOR:]
    monitor = {"X_val": X_train[:MONITOR], "y_val": y_train[:MONITOR]}
    options = {"learning_rate": 1e-3, "learning_rate_decay": 0.95, "reg": 0.5,
               "batch_size": 100 if full else 20}
    rng = np.random.default_rng([secret, 3000 + (activation == "relu")])
    skip = int(rng.integers(len(X) // 10, len(X) // 4))
    return [
        Training("mnist", f"the notebook's {activation} network on MNIST", False, activation,
                 (784, 64, 10), 0, {"X": X, "y": y, **monitor},
                 {**options, "num_epochs": 20 if full else 10}, first_row=MONITOR),
        Training("mnist-hidden", f"hidden MNIST run ({activation}, 32 hidden units, "
                 f"{len(X) - skip} training images)", True, activation, (784, 32, 10),
                 int(rng.integers(2**31)), {"X": X[skip:], "y": y[skip:], **monitor},
                 {**options, "num_epochs": 5}, first_row=MONITOR + skip),
    ]


@functools.lru_cache(maxsize=2)
def mnist(full: bool):
    """MNIST's raw pixels as uint8 (the probe converts them to float64, as
    ``get_MNIST_data`` would give them): the full set or the bundled subset, read once."""
    return load_dataset("mnist" if full else "mnist-small", dtype=np.uint8)


def mnist_task(run: Training, full: bool) -> Task:
    _, _, X_val, y_val, X_test, y_test = mnist(full)
    task = train_task(run, evaluate={"val": (X_val, y_val), "test": (X_test, y_test)},
                      history=("loss_history", "val_acc_history"))
    task.spec["first_row"] = run.first_row
    library_reference = task.reference

    def reference() -> dict[str, Any]:
        out = library_reference()
        if full and not run.hidden:
            out["reached"] = PROBLEM_SET_ACCURACY[run.activation]
        out["threshold"] = {name: value - MARGIN for name, value in out["reached"].items()}
        return out

    task.reference = reference
    task.id = f"mnist/{run.activation}/{run.key}"
    return task


def judge_mnist_training(found: dict, ref: dict, task: Task) -> Verdict:
    losses = _history(found, "loss_history")
    n = len(ref["history"]["loss_history"])
    if losses is None or len(losses) != n:
        return Verdict(0, "no loss_history" if losses is None else f"{len(losses)} losses",
                       f"{n} losses", "train is given complete: use it as it is", reveals=False)
    if non_finite(losses):
        return Verdict(0, "the loss became NaN or inf", "a finite loss",
                       "with raw pixels (0-255) the scores are large: the softmax must subtract "
                       "each row's largest score; or the gradients are too large (divided by "
                       "N?)", reveals=False)
    epochs = len(ref["history"]["val_acc_history"])
    per_epoch = losses.reshape(epochs, -1).mean(axis=1)
    text = f"mean loss {per_epoch[0]:.4g} in the first epoch, {per_epoch[-1]:.4g} in the last"
    if fall(per_epoch[0], per_epoch[-1]) > 0:
        return Verdict(1, text, "a decreasing loss")
    hint = "the loss does not go down: check the gradients (Q2.2, Q2.4)"
    if growth(losses) >= GROWTH:  # what ``mlp doctor`` calls diverging
        hint = (f"the loss grew to {growth(losses):.3g} times its first value: the steps are too "
                "large; check that the gradients are divided by N (Q2.2, Q2.4)")
    return Verdict(0, text, "a decreasing loss", hint, reveals=False)


def judge_accuracy(which: str) -> Callable[[dict, dict, Task], Verdict]:
    """The accuracy of the trained parameters on a held-out set the student's code never saw,
    computed by the library."""

    def judge(found: dict, ref: dict, task: Task) -> Verdict:
        threshold = ref["threshold"][which]
        want = f"at least {threshold:.3f} (the reference reached {ref['reached'][which]:.4f})"
        params = found.get("params") or {}
        problem = _params_problem(params, task.spec["net"]["sizes"])
        if problem:
            return Verdict(0, problem, want, "train updates self.params in place (Q2.3)",
                           reveals=False)
        accuracy = accuracy_of(params, task.spec["net"]["activation"],
                               task.private[f"X_{which}"], task.private[f"y_{which}"])
        credit = 1.0 if accuracy >= threshold else 0.5 if accuracy >= half_credit(
            ref, which) else 0.0
        hint = None if credit == 1 else ("train and predict run your loss and gradients: the "
                                         "toy checks above show which part to fix")
        return Verdict(credit, f"{accuracy:.4f}", want, hint, reveals=False)

    return judge


def half_credit(ref: dict, which: str) -> float:
    """The accuracy that earns half the credit: ``HALF`` below the threshold, but never less
    than halfway from the untrained network's accuracy (the same seed's, before any step) to
    the reference's, so that a network that did not learn earns nothing where the reference
    itself reaches little (the hidden sigmoid run on the subset: about 0.2 against 0.1)."""
    floor = (ref["untrained"][which] + ref["reached"][which]) / 2
    return max(ref["threshold"][which] - HALF, floor)


def _params_problem(params: dict, sizes: list[int]) -> str | None:
    """What is wrong with the trained parameters' shapes or values, or None."""
    D, H, C = sizes
    shapes = {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
    for name, shape in shapes.items():
        value = params.get(name)
        if not isinstance(value, np.ndarray) or value.shape != shape:
            got = value.shape if isinstance(value, np.ndarray) else "none"
            return f"params[{name!r}] of shape {got}, not {shape}"
        if not np.isfinite(value).all():
            return f"params[{name!r}] holds NaN or inf"
    return None


# -- the questions ---------------------------------------------------------------------------------


def build_questions(full: bool = False, secret: int = 0) -> list[Question]:
    """Problem Set 4's six code questions, 45 points. ``full``: the MNIST questions on the full
    MNIST (``MLP_DATA_DIR``, the cache, or a download) instead of the bundled subset;
    ``secret``: draws the hidden cases (the same secret, the same cases)."""
    cases = toy_cases(secret)

    def forward(activation: str, what: str) -> list[Task]:
        return [loss_task(case, activation, what) for case in cases]

    s_grads, r_grads = forward("sigmoid", "gradients"), forward("relu", "gradients")
    s_train = [train_task(run) for run in toy_trainings("sigmoid", secret)]
    questions = [
        Question("Q2.1", "Sigmoid forward pass", 5, [
            Item("loss", 3, forward("sigmoid", "loss"), judge_loss),
            Item("scores", 2, forward("sigmoid", "scores"), judge_scores),
        ], "toy"),
        Question("Q2.2", "Sigmoid backward pass", 10, [
            Item(f"d{name}", 2.5, s_grads, judge_gradient(name)) for name in PARAMS
        ], "toy", depends=("Q2.1",), pattern=first_layer_pattern("sigmoid")),
        Question("Q2.3", "Training the sigmoid network, and predict", 5, [
            Item("predict", 2, [predict_task(c, "sigmoid") for c in cases[:3]], judge_predict),
            Item("training losses", 2, s_train, judge_training_loss),
            Item("training accuracies", 1, s_train, judge_training_accuracy),
        ], "toy", depends=("Q2.1", "Q2.2")),
        Question("Q2.4", "ReLU activation", 5, [
            Item("loss", 1.5, forward("relu", "loss"), judge_loss),
            *[Item(f"d{name}", 0.5, r_grads, judge_gradient(name)) for name in PARAMS],
            Item("training", 1.5, [train_task(run) for run in toy_trainings("relu", secret)],
                 judge_training),
        ], "toy", depends=("Q2.2", "Q2.3"), pattern=first_layer_pattern("relu")),
    ]
    for label, activation, depends in (("Q2.5.1", "sigmoid", ("Q2.1", "Q2.2", "Q2.3")),
                                       ("Q2.5.2", "relu", ("Q2.3", "Q2.4"))):
        tasks = [mnist_task(run, full) for run in mnist_trainings(activation, full, secret)]
        title = f"{'Sigmoid' if activation == 'sigmoid' else 'ReLU'} network on MNIST"
        questions.append(Question(label, title, 10, [
            Item("training", 2, tasks, judge_mnist_training),
            Item("validation accuracy", 4, tasks, judge_accuracy("val")),
            Item("test accuracy", 4, tasks, judge_accuracy("test")),
        ], "mnist", depends=depends))
    return questions


def _scalar(value) -> float | None:
    if isinstance(value, np.ndarray) and value.size == 1:
        return float(value.reshape(()))
    return None


def _close(a: float | None, b: float) -> bool:
    return a is not None and math.isfinite(a) and abs(a - b) <= TOLERANCE * max(1.0, abs(b))
