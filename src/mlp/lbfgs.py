"""L-BFGS: full-batch training with ``scipy.optimize.minimize(method="L-BFGS-B")`` over the flat
parameters that the minibatch loop keeps (:class:`mlp.training.FlatParameters`).

The objective is the one :func:`mlp.train` minimises on a batch, taken on the whole training
set: the (weighted) mean loss of the output head plus every penalty. L-BFGS builds a curvature
estimate from the last few gradients, so on small data sets it often reaches a lower loss in
fewer passes than SGD or Adam; it needs the objective to be a fixed function of the parameters,
so dropout draws one mask for the whole run (:meth:`mlp.MLP.frozen_dropout`).

SciPy is not a dependency of the core: it comes with the ``sklearn`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._validation import check_nonnegative, check_positive
from .layers import Activation, Dense
from .optim import SGD
from .regularizers import Regularizer, penalties
from .training import (
    Callback,
    DivergenceError,
    TrainState,
    _checked_data,
    _end_of_epoch,
    _Loop,
    _print_epoch,
    likely_cause,
)


@dataclass
class LBFGSResult:
    """What :func:`train_lbfgs` did: the history (as :func:`mlp.train`'s, one entry per L-BFGS
    iteration in the per-epoch lists, one per evaluation of the objective in ``loss_history``),
    ``n_iter`` iterations, ``n_fun`` evaluations, ``loss`` the final objective, and whether
    SciPy reported convergence (``converged``, with its ``message``)."""

    history: dict[str, list[float]]
    n_iter: int
    n_fun: int
    loss: float
    converged: bool
    message: str


class FullBatchObjective:
    """``theta -> (J(theta), dJ/dtheta)`` on the whole training set, for SciPy: theta (P,)
    float64 in the flat layout (every weight matrix, then every bias, then batch norm's
    parameters; scikit-learn's packing of ``coefs_`` and ``intercepts_``). Setting theta sets
    the model's parameters: after a call the model holds the point last evaluated."""

    def __init__(self, model, X, y, terms: list[Regularizer], sample_weight=None) -> None:
        state = TrainState(model, SGD(), 1, 1, batch_size=X.shape[0])
        self.loop = _Loop(state, X, terms, terms, None)
        self.model, self.X, self.y, self.w = model, X, y, sample_weight
        self.calls = 0
        # Without dropout and batch norm, training-mode scores are the inference scores: the
        # last evaluation's give an iteration's training score without another forward pass.
        self._plain = all(isinstance(layer, Dense | Activation) for layer in model.layers)
        self._last: tuple[np.ndarray, np.ndarray] | None = None
        self.losses: list[float] = []
        self.grad_norms: list[float] = []

    @property
    def theta(self) -> np.ndarray:
        """The current parameters, flat, as float64 (a copy)."""
        flat = self.loop.flat
        return flat.values[flat.current].astype(np.float64)

    def set(self, theta: np.ndarray) -> None:
        flat = self.loop.flat
        np.copyto(flat.values[flat.current], theta, casting="same_kind")

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.set(theta)
        with self.model.lock:
            loss, grads = self.loop.objective(self.X, self.y, self.w)
        self.calls += 1
        out = self.loop.work.layers[-1].get("out") if self._plain else None
        self._last = None if out is None else (np.array(theta), out.copy())
        gW1 = grads["W1"]
        self.losses.append(loss)
        self.grad_norms.append(math.sqrt(float(np.vdot(gW1, gW1))))
        return loss, self.loop.flat.grad.astype(np.float64)

    def scores_at(self, theta: np.ndarray) -> np.ndarray | None:
        """The scores (N, C) of the whole training set at ``theta`` if the last evaluation was
        there, else None."""
        if self._last is not None and np.array_equal(self._last[0], theta):
            return self._last[1]
        return None


def train_lbfgs(
    model,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    *,
    reg: float = 0.0,
    regularizer: Regularizer | None = None,
    max_iter: int = 200,
    max_fun: int = 15000,
    tol: float = 1e-4,
    sample_weight: np.ndarray | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: bool = False,
) -> LBFGSResult:
    """Train ``model`` in place with L-BFGS on the whole of X (N, D), y.

    The objective and the arguments ``reg``, ``regularizer``, ``sample_weight``, X_val/y_val are
    :func:`mlp.train`'s. ``max_iter``, ``max_fun`` and ``tol`` are scikit-learn's: at most that
    many iterations and evaluations of the objective, and stop once every entry of the projected
    gradient is at most ``tol`` in size (SciPy's ``gtol``). A penalty that is not smooth (L1) is
    minimised through its subgradient. Callbacks get ``on_epoch_end`` after each iteration
    (``state.stop = True`` ends the run); ``verbose`` prints a line per iteration.

    Raises DivergenceError if the final parameters or loss are not finite (the parameters are
    then those training started with).
    """
    from scipy.optimize import minimize  # the sklearn extra's; the core needs NumPy only

    X, y, X_val, y_val, sample_weight = _checked_data(model, X, y, X_val, y_val, sample_weight)
    terms = penalties(check_nonnegative("reg", reg), regularizer)
    max_iter = check_positive("max_iter", max_iter, integer=True)
    max_fun = check_positive("max_fun", max_fun, integer=True)
    tol = check_nonnegative("tol", tol)
    callbacks = list(callbacks)
    objective = FullBatchObjective(model, X, y, terms, sample_weight)
    state = objective.loop.state
    state.num_epochs, state.data = max_iter, (X, y)
    start = objective.theta
    iteration = _Iteration(objective, state, (X, y, X_val, y_val, sample_weight), callbacks,
                           verbose)
    for cb in callbacks:
        cb.on_train_begin(state)
    with model.frozen_dropout():
        result = minimize(objective, start, method="L-BFGS-B", jac=True, callback=iteration,
                          options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol})
        objective.set(result.x)
    loss = float(result.fun)
    if not (math.isfinite(loss) and np.isfinite(result.x).all()):
        objective.set(start)
        cause = likely_cause(model, X, 1.0, terms).split("; or the learning rate")[0]
        raise DivergenceError(state.epoch + 1, 0, f"L-BFGS ended with the loss {loss}", cause,
                              restored=False)
    model.commit()
    for cb in callbacks:
        cb.on_train_end(state)
    return LBFGSResult(state.history, int(result.nit), int(result.nfev), loss,
                       bool(result.success), str(result.message))


class _Iteration:
    """SciPy's per-iteration callback: the history, the hooks, and stopping on request."""

    def __init__(self, objective: FullBatchObjective, state: TrainState, data, callbacks,
                 verbose: bool) -> None:
        self.objective, self.state, self.data = objective, state, data
        self.callbacks, self.verbose = callbacks, verbose

    def __call__(self, intermediate_result) -> None:
        objective, state = self.objective, self.state
        objective.set(intermediate_result.x)
        objective.model.commit()  # batch norm's running statistics follow the iterates
        state.history["loss_history"].extend(objective.losses)
        state.history["grad_magnitude_history"].extend(objective.grad_norms)
        objective.losses.clear()
        objective.grad_norms.clear()
        state.epoch += 1
        state.loss = float(intermediate_result.fun)
        X, y = self.data[:2]
        _end_of_epoch(state, objective.loop, self.data, (X, y), state.loss,
                      objective.scores_at(intermediate_result.x))
        if self.verbose:
            _print_epoch(state, state.loss)
        for cb in self.callbacks:
            cb.on_epoch_end(state)
        if state.stop:
            raise StopIteration
