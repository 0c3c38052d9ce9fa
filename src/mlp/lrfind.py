"""The learning-rate range test (Smith, "Cyclical learning rates for training neural networks",
2017; fast.ai's ``lr_find``): train for one short pass while the rate grows geometrically from
tiny to huge, watch the loss, and read a good rate off the curve.

The test runs on a copy of the network, so the network, its random generator and the optimiser
passed in are left exactly as they were: the call has no side effect.

The suggestion rule (:data:`RULE`): a tenth of the rate at which the smoothed loss is lowest.
Where the smoothed loss bottoms out the rate is about as large as the network tolerates: a
little further the loss turns up and diverges. Training wants a rate safely below that edge,
and a factor of ten is Smith's and fast.ai's rule of thumb (an order of magnitude before the
minimum). The other common rule, the rate of the steepest descent of the smoothed loss (as
Lightning's, leaving out the first ten points and the last), reads a slope off a curve that the
moving average has shifted and that a few noisy batches can bend. Measured (bench/lr_find.py,
docs/lr_find.md: SGD with momentum 0.9 against a grid of eight rates), the minimum's tenth
trained to at least 98% of the best grid rate's validation accuracy for every shuffling seed
of the test tried (two on MNIST, four on digits and breast_cancer); the steepest descent did as well
or a little better on MNIST and digits, but on breast_cancer it pointed at 8.3 for one seed
(where training diverges) and at 0.031 (97.1%) for another.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._validation import check_positive, check_X
from .network import MLP
from .optim import SGD, Optimizer, Schedule
from .training import Callback, DivergenceError, TrainState, train

#: The suggestion is the rate at the smoothed loss's minimum divided by this.
MINIMUM_DIVISOR = 10.0
#: The rule, in words, as :attr:`LRFinderResult.rule` states it.
RULE = (f"the rate at which the smoothed loss is lowest, divided by {MINIMUM_DIVISOR:g}: a "
        "step back from where the loss turns up and diverges")


@dataclass(frozen=True)
class LRFinderResult:
    """What a range test saw: per step k (K steps, K <= num_steps), the rate ``rates[k]``, the
    batch loss before that step's update ``losses[k]``, and its bias-corrected exponential
    average ``smoothed[k]``; the suggested rate and the rule that chose it; and whether the run
    stopped before num_steps because the loss diverged."""

    rates: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float
    rule: str
    stopped_early: bool

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-able values (a non-finite number as None)."""
        return {key: _plain(value) for key, value in asdict(self).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Finished(Exception):
    """Raised from the recorder to end the pass mid-epoch."""


class _GeometricRate(Schedule):
    """The factor ``(end / start) ** (t / (num_steps - 1))`` on the base rate ``start``, t the
    0-based step, which the loop's progress in epochs gives as ``epoch * iterations``."""

    def __init__(self, ratio: float, num_steps: int, iterations: int) -> None:
        self.ratio, self.num_steps, self.iterations = ratio, num_steps, iterations

    def __call__(self, epoch: float) -> float:
        t = round(epoch * self.iterations)
        return self.ratio ** (t / (self.num_steps - 1))


class _Recorder(Callback):
    """Records each step's rate and loss, smooths the loss, and ends the pass after
    ``num_steps`` steps or when the smoothed loss exceeds ``diverge_factor`` times its best."""

    def __init__(self, num_steps: int, smoothing: float, diverge_factor: float) -> None:
        self.num_steps, self.beta, self.factor = num_steps, smoothing, diverge_factor
        self.rates: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.average, self.best, self.diverged = 0.0, math.inf, False

    def on_batch_end(self, state: TrainState) -> None:
        loss = float(state.loss)
        self.average = self.beta * self.average + (1 - self.beta) * loss
        smooth = self.average / (1 - self.beta ** (len(self.losses) + 1))
        self.rates.append(float(state.learning_rate))
        self.losses.append(loss)
        self.smoothed.append(smooth)
        if not math.isfinite(smooth) or smooth > self.factor * self.best:
            self.diverged = True
            raise _Finished
        self.best = min(self.best, smooth)
        if len(self.losses) == self.num_steps:
            raise _Finished


def suggest(rates: list[float], smoothed: list[float]) -> float:
    """The rule's rate (:data:`RULE`) from a range test's rates and smoothed losses (K,),
    kept within the rates tested."""
    finite = [(s, r) for s, r in zip(smoothed, rates, strict=True) if math.isfinite(s)]
    lowest = min(finite)[1]
    return min(max(lowest / MINIMUM_DIVISOR, rates[0]), rates[-1])


def find_learning_rate(
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int = 64,
    start: float = 1e-7,
    end: float = 10.0,
    num_steps: int = 100,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    optimizer: Optimizer | None = None,
    sample_weight: np.ndarray | None = None,
    seed: int | None = 0,
) -> LRFinderResult:
    """The learning-rate range test on ``model`` (unchanged by the call): ``num_steps``
    minibatch steps of ``batch_size`` rows (the data cycled, reshuffled, if it runs out), the
    k-th (0-based) with the rate ``start * (end / start) ** (k / (num_steps - 1))``.

    X: (N, D) real, y: (N,) labels or targets as the network's output expects, sample_weight:
    optional (N,) >= 0; as :func:`mlp.train` takes them. ``optimizer``: the update rule to test
    (default plain SGD, as ``train``'s); its settings are used with a fresh state, and the
    object itself is not changed. No penalty is added to the loss.

    Each batch loss l_k is averaged as ``a_k = smoothing * a_{k-1} + (1 - smoothing) * l_k``
    (a_{-1} = 0) and reported bias-corrected, ``a_k / (1 - smoothing ** (k + 1))``. The pass
    stops early once that exceeds ``diverge_factor`` times its lowest value so far, or the loss
    or the parameters become non-finite (the step that did is not recorded). ``seed``: the
    shuffling's and dropout's generator (None: unpredictable); the same seed gives the same
    result. Returns an :class:`LRFinderResult` whose ``suggestion`` follows :data:`RULE`.
    """
    _check_arguments(model, batch_size, start, end, num_steps, smoothing, diverge_factor,
                     optimizer, seed)
    n = check_X(X, model.input_size, "X", model.dtype).shape[0]
    with model.lock:
        trial = copy.deepcopy(model)
    trial.rng = np.random.default_rng(seed)
    fresh = copy.deepcopy(optimizer) if optimizer is not None else SGD()
    fresh.load_state_dict({"t": np.array(0)})
    iterations = max(n // batch_size, 1)
    recorder = _Recorder(num_steps, smoothing, diverge_factor)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            train(trial, X, y, learning_rate=start, reg=0.0,
                  num_epochs=-(-num_steps // iterations), batch_size=batch_size,
                  optimizer=fresh, schedule=_GeometricRate(end / start, num_steps, iterations),
                  callbacks=[recorder], sample_weight=sample_weight)
    except _Finished:
        pass
    except DivergenceError as exc:
        if not recorder.losses:
            raise ValueError(f"the loss is not finite at the first step, at the rate start="
                             f"{start:g}: {exc}") from None
        recorder.diverged = True
    rates, smoothed = recorder.rates, recorder.smoothed
    return LRFinderResult(rates, recorder.losses, smoothed, suggest(rates, smoothed), RULE,
                          recorder.diverged)


def _check_arguments(model, batch_size, start, end, num_steps, smoothing, diverge_factor,
                     optimizer, seed) -> None:
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an mlp.MLP; got {type(model).__name__}")
    check_positive("batch_size", batch_size, integer=True)
    check_positive("start", start)
    check_positive("end", end)
    if end <= start:
        raise ValueError(f"end must be larger than start ({start:g}); got {end:g}")
    if check_positive("num_steps", num_steps, integer=True) < 2:
        raise ValueError(f"num_steps must be at least 2; got {num_steps}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real):
        raise TypeError(f"smoothing must be a number in [0, 1); got {smoothing!r}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1); got {smoothing!r}")
    if check_positive("diverge_factor", diverge_factor) <= 1:
        raise ValueError(f"diverge_factor must be larger than 1; got {diverge_factor!r}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an mlp.optim.Optimizer; got "
                        f"{type(optimizer).__name__}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an integer >= 0 or None; got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or None; got {seed}")
