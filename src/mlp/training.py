"""The training loop: minibatches, an optimiser and a learning-rate schedule, a history of what
happened, callbacks for extras (progress bars, checkpoints, early stopping), and a guard that stops
a diverging run before it destroys the parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import check_nonnegative, check_positive, check_X
from .optim import SGD, Constant, ExponentialDecay, Optimizer, Schedule
from .regularizers import Regularizer, penalties


def history_keys(metric: str) -> tuple[str, ...]:
    """The keys of a training history for a head whose score is ``metric`` (``acc`` or
    ``r2``); the first four with ``acc`` are the problem set's."""
    return ("loss_history", "grad_magnitude_history", f"train_{metric}_history",
            f"val_{metric}_history", "train_loss_history", "val_loss_history")


HISTORY_KEYS = history_keys("acc")[:4]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or gradient. ``epoch`` and ``iteration`` (1-based)
    say where; the model's parameters are left at the last values whose loss was finite."""

    def __init__(
        self, epoch: int, iteration: int, what: str, value: float, learning_rate: float
    ) -> None:
        self.epoch, self.iteration = epoch, iteration
        super().__init__(
            f"training diverged at epoch {epoch}, iteration {iteration}: the {what} is {value}. "
            f"The parameters were restored to their last finite-loss values. "
            f"Try a smaller learning_rate (it was {learning_rate:g} at that point)."
        )


@dataclass
class TrainState:
    """Where a training run stands. Callbacks read it; ``stop = True`` ends the run after the
    current epoch. ``epoch`` counts completed epochs; ``iteration`` is 1-based within the epoch.

    ``snapshot()`` and ``TrainState.restore`` turn the resumable part (epoch, history, optimiser
    state, random generator state) into JSON-able metadata plus arrays, for checkpoints.
    """

    model: Any
    optimizer: Optimizer
    num_epochs: int
    iterations: int
    epoch: int = 0
    iteration: int = 0
    loss: float = math.nan
    learning_rate: float = math.nan
    history: dict[str, list[float]] = field(default_factory=dict)
    stop: bool = False

    def __post_init__(self) -> None:
        if not self.history:
            self.history = {key: [] for key in history_keys(self.model.head.metric)}

    def snapshot(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(metadata, arrays) that restore this state exactly with ``restore``."""
        meta: dict[str, Any] = {"epoch": self.epoch, "history": self.history}
        arrays = {f"optimizer/{k}": v for k, v in self.optimizer.state_dict().items()}
        rng = self.model.rng
        if rng is None:
            kind, keys, pos, has_gauss, cached = np.random.get_state()
            meta["rng"] = {"legacy": kind, "pos": int(pos), "has_gauss": int(has_gauss),
                           "cached_gaussian": float(cached)}
            arrays["rng/keys"] = keys
        else:
            meta["rng"] = rng.bit_generator.state
        return meta, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Load what ``snapshot`` saved (into this state, its optimiser and its model's rng)."""
        self.epoch = int(meta["epoch"])
        self.history = {key: list(meta["history"].get(key, []))
                        for key in history_keys(self.model.head.metric)}
        self.optimizer.load_state_dict(
            {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("optimizer/")}
        )
        rng_meta = meta["rng"]
        if "legacy" in rng_meta:
            np.random.set_state((rng_meta["legacy"], arrays["rng/keys"], rng_meta["pos"],
                                 rng_meta["has_gauss"], rng_meta["cached_gaussian"]))
        else:
            if self.model.rng is None:
                raise ValueError("the checkpoint holds a private generator's state, but the model "
                                 "has none (it was built without seed=)")
            self.model.rng.bit_generator.state = rng_meta


class Callback:
    """Hooks into ``train``; override what you need. ``state`` is the run's :class:`TrainState`."""

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


class ProgressBar(Callback):
    """A tqdm bar per epoch with the live batch loss, and the accuracies at its end."""

    def __init__(self, file=None) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError('progress bars need tqdm: pip install "mlp[data]"') from exc
        self._tqdm, self._file, self._bar = tqdm, file, None

    def on_batch_end(self, state: TrainState) -> None:
        if self._bar is None:
            self._bar = self._tqdm(total=state.iterations, file=self._file, leave=True,
                                   desc=f"epoch {state.epoch + 1}/{state.num_epochs}",
                                   unit="batch", dynamic_ncols=True)
        self._bar.update(1)
        if state.iteration % 20 == 0 or state.iteration == state.iterations:
            self._bar.set_postfix(loss=f"{state.loss:.4f}", refresh=False)

    def on_epoch_end(self, state: TrainState) -> None:
        if self._bar is not None:
            h, metric = state.history, state.model.head.metric
            postfix = {"loss": f"{h['loss_history'][-1]:.4f}",
                       f"train_{metric}": f"{h[f'train_{metric}_history'][-1]:.3f}"}
            if h[f"val_{metric}_history"]:
                postfix[f"val_{metric}"] = f"{h[f'val_{metric}_history'][-1]:.3f}"
            self._bar.set_postfix(postfix)
            self._bar.close()
            self._bar = None


def _checked_data(model, X, y, X_val, y_val):
    head = model.head
    X = check_X(X, model.input_size, "X")
    y = head.check_targets(y, X.shape[0], model.output_size, "y")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together; got only one of them")
    if X_val is not None:
        X_val = check_X(X_val, model.input_size, "X_val")
        y_val = head.check_targets(y_val, X_val.shape[0], model.output_size, "y_val")
    return X, y, X_val, y_val


def _shuffled_batches(X, y, order, batch_size, iterations):
    """Yield ``(X_batch, y_batch)`` in the order given by ``order``.

    Each batch is gathered on its own: for MNIST's uint8 rows that costs about as much as one
    pass over the batch, less than shuffling the whole set into a second copy each epoch, which
    also doubles the memory and pushes the working set out of the CPU's caches (measured with
    bench/bench.py).
    """
    for it in range(iterations):
        idx = order[it * batch_size : (it + 1) * batch_size]
        yield X[idx], y[idx]


def train(
    model,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    learning_rate: float = 1e-3,
    learning_rate_decay: float = 0.95,
    reg: float = 1e-5,
    num_epochs: int = 10,
    batch_size: int = 200,
    verbose: bool = False,
    *,
    optimizer: Optimizer | None = None,
    schedule: Schedule | None = None,
    regularizer: Regularizer | None = None,
    proximal: bool = False,
    callbacks: list[Callback] | tuple[Callback, ...] = (),
    progress: bool = False,
    resume: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None,
) -> dict[str, list[float]]:
    """Train ``model`` in place with minibatch stochastic gradient descent.

    Each epoch draws a fresh permutation of the N training examples and cuts it into
    ``max(N // batch_size, 1)`` batches (a remainder smaller than a batch is left out of that
    epoch). The objective of a batch is its mean loss, plus ``0.5 * reg * sum ||W||^2`` (the
    problem set's convention), plus ``regularizer``'s penalty if one is given.

    X: (N, D) any real dtype (uint8 pixels are converted batch by batch); y: (N,) int labels;
    X_val, y_val: optional validation set.

    Optimisation: ``optimizer`` (default plain SGD, ``theta -= lr * grad``) with the rate
    ``learning_rate * schedule(t)``, t the progress in epochs; the default schedule multiplies
    the rate by ``learning_rate_decay`` after every epoch. ``proximal=True`` applies
    ``regularizer`` by its proximal map after each step (soft-thresholding for L1, which makes
    exact zeros) instead of adding its gradient.

    ``callbacks`` get ``on_train_begin/on_batch_end/on_epoch_end/on_train_end``; ``progress``
    adds a tqdm bar; ``verbose`` prints ``Epoch k: loss L, train acc A, val acc V`` per epoch.
    ``resume``: a ``TrainState.snapshot()`` of an earlier run with the same settings, whose
    model parameters are already loaded; training continues after its last completed epoch.

    Returns a dict of lists, per iteration: ``loss_history`` (the batch objective) and
    ``grad_magnitude_history`` (the Frobenius norm of dJ/dW1), both taken before that
    iteration's update; per epoch: ``train_loss_history`` (the mean of the epoch's batch
    objectives), ``val_loss_history`` (the validation objective in inference mode: data loss
    plus penalties; empty without a validation set), and a score: for classifiers
    ``train_acc_history`` (accuracy on the epoch's last batch, after its update, as the problem
    set defines it) and ``val_acc_history``; for regression (``output='linear'``)
    ``train_r2_history`` (R^2 on the whole training set) and ``val_r2_history``.

    Raises DivergenceError if the loss or gradient becomes NaN or inf.
    """
    X, y, X_val, y_val = _checked_data(model, X, y, X_val, y_val)
    base_lr = check_positive("learning_rate", learning_rate)
    check_positive("learning_rate_decay", learning_rate_decay)
    reg = check_nonnegative("reg", reg)
    num_epochs = check_positive("num_epochs", num_epochs, integer=True)
    batch_size = check_positive("batch_size", batch_size, integer=True)
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an mlp.optim.Optimizer; got {type(optimizer).__name__}")
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be an mlp.optim.Schedule; got {type(schedule).__name__}")
    terms = penalties(reg, regularizer)
    if proximal and regularizer is None:
        raise ValueError("proximal=True needs a regularizer; got regularizer=None")
    if schedule is None:
        schedule = ExponentialDecay(learning_rate_decay) if learning_rate_decay != 1 else Constant()

    n = X.shape[0]
    iterations = max(n // batch_size, 1)
    state = TrainState(model, optimizer or SGD(), num_epochs, iterations)
    if resume is not None:
        state.restore(*resume)
    callbacks = list(callbacks) + ([ProgressBar()] if progress else [])
    batch_hooks = [cb for cb in callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
    params = model.params
    gradient_terms = terms[:-1] if proximal else terms
    work = model.workspace(min(batch_size, n))
    slots = model.param_slots()
    # The update writes into a second set of buffers so that the parameters before the last
    # step are still at hand when that step turns out to have diverged.
    spare = work.next_params
    stepped = False  # whether `spare` holds parameters of this run yet
    history = state.history
    metric = model.head.metric

    for cb in callbacks:
        cb.on_train_begin(state)
    for epoch in range(state.epoch + 1, num_epochs + 1):
        order = model.permutation(n)
        batches = _shuffled_batches(X, y, order, batch_size, iterations)
        epoch_loss = 0.0
        for it, (X_batch, y_batch) in enumerate(batches):
            lr = base_lr * schedule(epoch - 1 + it / iterations)
            loss, grads = model.data_loss(X_batch, y_batch, work)
            for term in terms:
                loss += term.total_penalty(params)
            for term in gradient_terms:
                term.add_grads(params, grads, work.penalty)
            gW1 = grads["W1"]
            grad_norm = math.sqrt(float(np.vdot(gW1, gW1)))
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                if stepped:
                    for name, store, key in slots:
                        store[key], spare[name] = spare[name], store[key]
                if math.isfinite(loss):
                    raise DivergenceError(epoch, it + 1, "W1 gradient norm", grad_norm, lr)
                raise DivergenceError(epoch, it + 1, "loss", loss, lr)
            history["loss_history"].append(loss)
            history["grad_magnitude_history"].append(grad_norm)
            epoch_loss += loss

            state.optimizer.begin_iteration()
            for name, store, key in slots:
                p = store[key]
                delta = state.optimizer.step(name, p, grads[name], lr)
                new = np.subtract(p, delta, out=spare[name])
                if proximal and regularizer.applies_to(name):
                    regularizer.prox(new, lr)
                store[key], spare[name] = new, p
            model.commit()
            stepped = True
            if batch_hooks:
                state.epoch, state.iteration, state.loss, state.learning_rate = (
                    epoch - 1, it + 1, loss, lr)
                for cb in batch_hooks:
                    cb.on_batch_end(state)

        history["train_loss_history"].append(epoch_loss / iterations)
        # Classifiers keep the problem set's cheap score on the last batch; a regression's R^2
        # on one batch says little, so it is taken on the whole training set.
        X_score, y_score = (X_batch, y_batch) if metric == "acc" else (X, y)
        train_score = model.head.score(model.trusted_scores(X_score), y_score)
        history[f"train_{metric}_history"].append(train_score)
        val_score = math.nan
        if X_val is not None:
            val_scores = model.trusted_scores(X_val)
            val_score = model.head.score(val_scores, y_val)
            history[f"val_{metric}_history"].append(val_score)
            val_loss = model.head.loss(val_scores, y_val)[0]
            history["val_loss_history"].append(
                val_loss + sum(term.total_penalty(params) for term in terms))
        if verbose:
            print(f"Epoch {epoch}: loss {loss:f}, train {metric} {train_score:f}, "
                  f"val {metric} {val_score:f}", flush=True)
        state.epoch, state.iteration = epoch, 0
        for cb in callbacks:
            cb.on_epoch_end(state)
        if state.stop:
            break
    for cb in callbacks:
        cb.on_train_end(state)
    return history
