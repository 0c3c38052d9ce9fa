"""Optimisers and learning-rate schedules.

An optimiser turns a gradient into the step to subtract from a parameter; it keeps its own state
(velocities, moments) apart from the model, keyed by parameter name. A schedule maps training
progress, in epochs (fractional within an epoch), to a factor on the base learning rate.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_nonnegative, check_positive


class Optimizer:
    """Base class. ``step(name, param, grad, lr)`` returns the update ``delta`` such that the new
    parameter is ``param - delta``; it may reuse ``grad``'s memory for it."""

    def __init__(self) -> None:
        self.state: dict[str, np.ndarray] = {}
        self.t = 0
        self._work: dict[str, np.ndarray] = {}  # _scratch's buffers, never saved

    def begin_iteration(self) -> None:
        """Called once per iteration, before the parameters are updated."""
        self.t += 1

    def step(self, name: str, param: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays that, with ``load_state_dict``, restore the optimiser exactly."""
        return {"t": np.array(self.t), **{k: v.copy() for k, v in self.state.items()}}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"])
        self.state = {k: np.array(v) for k, v in state.items() if k != "t"}

    def _buffer(self, key: str, like: np.ndarray) -> np.ndarray:
        buf = self.state.get(key)
        if buf is None:
            buf = self.state[key] = np.zeros_like(like)
        return buf

    def _scratch(self, key: str, like: np.ndarray) -> np.ndarray:
        """A work buffer shaped like ``like``, reused from step to step and never saved: the
        terms of an update are written into it instead of a new array per step."""
        buf = self._work.get(key)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._work[key] = np.empty_like(like)
        return buf


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    With the velocity ``v <- mu v + g`` (PyTorch's convention), the step is ``lr * v``, or
    ``lr * (g + mu v)`` with Nesterov. ``weight_decay`` adds ``weight_decay * param`` to g first.
    With the defaults this is the problem set's plain ``param -= lr * grad``.
    """

    def __init__(self, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__()
        self.momentum = check_nonnegative("momentum", momentum)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1); got {momentum}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0; got momentum=0")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)

    def step(self, name: str, param: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        if self.weight_decay:
            grad += np.multiply(param, self.weight_decay, out=self._scratch(name, param))
        if self.momentum:
            v = self._buffer(name, param)
            v *= self.momentum
            v += grad
            if not self.nesterov:
                return np.multiply(v, lr, out=grad)
            grad += np.multiply(v, self.momentum, out=self._scratch(name, param))
        grad *= lr
        return grad

    def __repr__(self) -> str:
        return (f"SGD(momentum={self.momentum:g}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay:g})")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction.

    ``weight_decay`` is added to the gradient (L2, as in the original) unless ``decoupled=True``,
    which applies it directly to the parameter (AdamW, Loshchilov & Hutter, 2019):
    ``delta = lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * param)``.
    """

    def __init__(
        self,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        super().__init__()
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1); got {beta}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)
        self.decoupled = bool(decoupled)

    def step(self, name: str, param: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        work = self._scratch(name, param)
        if self.weight_decay and not self.decoupled:
            grad += np.multiply(param, self.weight_decay, out=work)
        m = self._buffer(name + ".m", param)
        v = self._buffer(name + ".v", param)
        m *= self.beta1
        m += np.multiply(grad, 1 - self.beta1, out=work)
        v *= self.beta2
        grad *= grad
        grad *= 1 - self.beta2
        v += grad
        # delta = lr_t * m / (sqrt(v) + eps_t), the bias corrections folded into two scalars.
        c1 = 1 - self.beta1**self.t
        c2 = 1 - self.beta2**self.t
        np.sqrt(v, out=grad)
        grad += self.eps * math.sqrt(c2)
        np.divide(m, grad, out=grad)
        grad *= lr * math.sqrt(c2) / c1
        if self.weight_decay and self.decoupled:
            grad += np.multiply(param, lr * self.weight_decay, out=work)
        return grad

    def __repr__(self) -> str:
        return (f"Adam(beta1={self.beta1:g}, beta2={self.beta2:g}, eps={self.eps:g}, "
                f"weight_decay={self.weight_decay:g}, decoupled={self.decoupled})")


# -- learning-rate schedules: progress in epochs (float, from 0) -> factor on the base rate --------


class Schedule:
    def __call__(self, epoch: float) -> float:
        raise NotImplementedError


class Constant(Schedule):
    def __call__(self, epoch: float) -> float:
        return 1.0

    def __repr__(self) -> str:
        return "Constant()"


class ExponentialDecay(Schedule):
    """The problem set's schedule: the rate is multiplied by ``decay`` after every epoch."""

    def __init__(self, decay: float) -> None:
        self.decay = check_positive("learning_rate_decay", decay)

    def __call__(self, epoch: float) -> float:
        return self.decay ** math.floor(epoch)

    def __repr__(self) -> str:
        return f"ExponentialDecay({self.decay:g})"


class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_epochs`` epochs."""

    def __init__(self, step_epochs: int, gamma: float = 0.1) -> None:
        self.step_epochs = check_positive("step_epochs", step_epochs, integer=True)
        self.gamma = check_positive("gamma", gamma)

    def __call__(self, epoch: float) -> float:
        return self.gamma ** math.floor(epoch / self.step_epochs)

    def __repr__(self) -> str:
        return f"StepDecay({self.step_epochs}, gamma={self.gamma:g})"


class CosineDecay(Schedule):
    """Half a cosine from 1 down to ``min_factor`` over ``total_epochs``, updated every
    iteration (Loshchilov & Hutter, 2017, without restarts)."""

    def __init__(self, total_epochs: float, min_factor: float = 0.0) -> None:
        self.total_epochs = check_positive("total_epochs", total_epochs)
        self.min_factor = check_nonnegative("min_factor", min_factor)

    def __call__(self, epoch: float) -> float:
        progress = min(epoch / self.total_epochs, 1.0)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    def __repr__(self) -> str:
        return f"CosineDecay({self.total_epochs:g}, min_factor={self.min_factor:g})"


class Warmup(Schedule):
    """A linear ramp from ``start_factor`` to 1 over ``warmup_epochs``, then ``after`` (which
    sees the epochs counted from the end of the warm-up)."""

    def __init__(
        self, warmup_epochs: float, after: Schedule | None = None, start_factor: float = 0.01
    ) -> None:
        self.warmup_epochs = check_positive("warmup_epochs", warmup_epochs)
        self.after = after or Constant()
        self.start_factor = check_positive("start_factor", start_factor)

    def __call__(self, epoch: float) -> float:
        if epoch < self.warmup_epochs:
            return self.start_factor + (1 - self.start_factor) * epoch / self.warmup_epochs
        return self.after(epoch - self.warmup_epochs)

    def __repr__(self) -> str:
        return f"Warmup({self.warmup_epochs:g}, after={self.after!r})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
