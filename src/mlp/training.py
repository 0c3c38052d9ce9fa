"""The training loop: minibatches, an optimiser and a learning-rate schedule, a history of what
happened, callbacks for extras (progress bars, checkpoints, early stopping), and a guard that stops
a diverging run before it destroys the parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import (
    check_nonnegative,
    check_positive,
    check_sample_weight,
    check_X,
    is_sparse,
)
from .layers import buffer
from .losses import row_weights
from .optim import SGD, Constant, ExponentialDecay, Optimizer, Schedule
from .regularizers import Regularizer, kind, penalties


def history_keys(metric: str) -> tuple[str, ...]:
    """The keys of a training history for a head whose score is ``metric`` (``acc`` or
    ``r2``); the first four with ``acc`` are the problem set's."""
    return ("loss_history", "grad_magnitude_history", f"train_{metric}_history",
            f"val_{metric}_history", "train_loss_history", "val_loss_history")


#: A loss this many times its first value (or 1, if larger) means the run is diverging.
GROWTH_LIMIT = 1e6


class DivergenceError(FloatingPointError):
    """Training diverged: a non-finite loss, gradient or parameter, or a loss grown beyond
    ``GROWTH_LIMIT`` times its first value. ``epoch`` and ``iteration`` (1-based) say where;
    the parameters are left at their last good values (the initial ones if the first step
    failed), and the message names the likely cause from the run's settings. ``nonfinite``:
    whether a value became NaN or inf (False: the loss only grew beyond the limit)."""

    def __init__(self, epoch: int, iteration: int, problem: str, cause: str,
                 restored: bool, nonfinite: bool = True) -> None:
        self.epoch, self.iteration, self.cause = epoch, iteration, cause
        self.problem, self.nonfinite = problem, nonfinite
        kept = ("The parameters were restored to their values before the step that diverged."
                if restored else "The parameters are still the ones training started with.")
        super().__init__(f"training diverged at epoch {epoch}, iteration {iteration}: "
                         f"{problem}. {kept} Likely cause: {cause}.")


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
    batch_size: int = 0
    data: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    shuffle: bool = True

    def __post_init__(self) -> None:
        if not self.history:
            self.history = {key: [] for key in history_keys(self.model.head.metric)}
        self._fingerprint: str | None = None

    def settings(self) -> dict[str, Any]:
        """What a resumed run must share with this one: optimiser, batch size and data."""
        if self._fingerprint is None and self.data is not None:
            self._fingerprint = data_fingerprint(*self.data)
        return {"optimizer": repr(self.optimizer), "batch_size": self.batch_size,
                "data": self._fingerprint}

    def snapshot(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(metadata, arrays) that restore this state exactly with ``restore``."""
        meta: dict[str, Any] = {"epoch": self.epoch, "history": self.history,
                                "settings": self.settings()}
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
        """Load what ``snapshot`` saved (into this state, its optimiser and its model's rng),
        after checking it as strictly as any argument: a checkpoint may be damaged or crafted,
        or belong to another run."""
        self._check_resume(meta)
        self.epoch = meta["epoch"]
        self.history = {key: [float(v) for v in meta["history"].get(key, [])]
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


    def _check_resume(self, meta: dict[str, Any]) -> None:
        epoch = meta.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not (
                0 <= epoch <= self.num_epochs):
            raise ValueError(f"the checkpoint's epoch must be a whole number of completed epochs "
                             f"in [0, num_epochs={self.num_epochs}]; got {epoch!r}")
        history = meta.get("history")
        if not isinstance(history, dict) or not all(
                isinstance(v, list) and all(isinstance(x, int | float) for x in v)
                for v in history.values()):
            raise ValueError("the checkpoint's history must map names to lists of numbers")
        saved = meta.get("settings")
        if saved is None:  # written before checkpoints recorded their settings
            return
        for key, value in self.settings().items():
            if saved.get(key) != value:
                what = "training data" if key == "data" else key.replace("_", " ")
                raise ValueError(f"cannot resume: the checkpoint's {what} was "
                                 f"{saved.get(key)!r}, this run's is {value!r}; resume with "
                                 "the same data and settings")


def data_fingerprint(X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
                     ) -> str:
    """A short hash of a data set (shapes, dtypes and bytes), to recognise it on resume."""
    import hashlib  # here, not at the top: it loads OpenSSL (3.5 MB) that training rarely needs

    digest = hashlib.blake2b(digest_size=8)
    arrays = (X.data, X.indices, X.indptr) if is_sparse(X) else (X,)
    for a in (*arrays, y) if sample_weight is None else (*arrays, y, sample_weight):
        digest.update(f"{a.shape}{a.dtype}".encode())
        digest.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return digest.hexdigest()


class Callback:
    """Hooks into ``train``; override what you need. ``state`` is the run's :class:`TrainState`."""

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


def _checked_data(model, X, y, X_val, y_val, sample_weight=None):
    head = model.head
    X = check_X(X, model.input_size, "X", model.dtype)
    y = head.check_targets(y, X.shape[0], model.output_size, "y")
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if sample_weight.min() == sample_weight.max():
            sample_weight = None  # equal weights: exactly the unweighted numbers
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together; got only one of them")
    if X_val is not None:
        X_val = check_X(X_val, model.input_size, "X_val", model.dtype)
        y_val = head.check_targets(y_val, X_val.shape[0], model.output_size, "y_val")
    return X, y, X_val, y_val, sample_weight




def _shuffled_batches(X, y, w, order, batch_size, iterations):
    """Yield ``(X_batch, y_batch, w_batch)`` in the order given by ``order`` (``w_batch`` is
    None without sample weights ``w``).

    Each batch is gathered on its own: for MNIST's uint8 rows that costs about as much as one
    pass over the batch, less than shuffling the whole set into a second copy each epoch, which
    also doubles the memory and pushes the working set out of the CPU's caches (measured with
    bench/bench.py). Gathering into reused buffers (``np.take(out=)``) measured 1% slower.
    """
    for it in range(iterations):
        idx = order[it * batch_size : (it + 1) * batch_size]
        yield X[idx], y[idx], None if w is None else w[idx]


def likely_cause(model, X: np.ndarray, learning_rate: float, terms: list[Regularizer]) -> str:
    """The settings most likely to blame for a diverging run, most specific first."""
    causes = []
    values = X.data if is_sparse(X) else X
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if scale > 1e3:
        causes.append(f"the inputs are large (up to {scale:.3g} in size): scale them to about "
                      "[-1, 1] or [0, 1]")
    # An L2 step multiplies W by (1 - lr * decay); past 2 that factor flips and grows.
    decay = sum(term.decay() for term in terms)
    if learning_rate * decay >= 1:
        causes.append(f"the L2 penalty is large for this learning rate (each step multiplies "
                      f"the weights by 1 - {learning_rate:g} x {decay:g} = "
                      f"{1 - learning_rate * decay:g}): lower reg or the learning rate")
    if model.std is not None and model.std >= 1:
        causes.append(f"the initial weight scale std={model.std:g} is large: try std=0.1 or "
                      "leave std unset for He/Xavier initialisation")
    causes.append(f"the learning rate, {learning_rate:g} at that point, may be too large: try a "
                  "smaller learning_rate")
    return "; or ".join(causes)


class FlatParameters:
    """A network's parameters packed into one flat array, so that an update is a few NumPy calls
    for the whole network rather than a few per parameter.

    The weights come first, then the biases, then the rest (batch norm's gamma and beta), so the
    parameters a penalty reaches are one slice (:meth:`span`). Two value buffers alternate: an
    update reads ``current`` and writes ``other``, and the layers' ``params`` entries are then
    pointed at the new views, so the values before the last step stay at hand until the next
    loss shows they are good. The gradients live in a third buffer: the workspace's ``"d" +
    key`` scratch entries point into it, and :meth:`gather` copies in what a layer left
    elsewhere (the layer contract, :class:`mlp.layers.Layer`).
    """

    #: The optimiser's name for the flat array (its state: ``flat``, ``flat.m``, ...).
    NAME = "flat"

    def __init__(self, model, work) -> None:
        rank = {"weight": 0, "bias": 1, "other": 2}
        self.slots = sorted(model.param_slots(), key=lambda slot: rank[kind(slot[0])])
        total = sum(layer.params[key].size for _, layer, key in self.slots)
        self.values = [np.empty(total, model.dtype), np.empty(total, model.dtype)]
        self.grad = np.empty(total, model.dtype)
        self.views: list[dict[str, np.ndarray]] = [{}, {}]
        self.grads: dict[str, np.ndarray] = {}
        self.offsets: dict[str, tuple[int, int]] = {}
        self.index = {id(layer): i for i, layer in enumerate(model.layers)}
        offset = 0
        for name, layer, key in self.slots:
            value = layer.params[key]
            shape, size = value.shape, value.size
            for views, flat in zip(self.views, self.values, strict=True):
                views[name] = flat[offset : offset + size].reshape(shape)
            self.grads[name] = self.grad[offset : offset + size].reshape(shape)
            work.layers[self.index[id(layer)]]["d" + key] = self.grads[name]
            self.views[0][name][...] = value
            self.offsets[name] = (offset, offset + size)
            offset += size
        # The arrays the layers held before training, until the first step has checked that no
        # layer computes with them still; and the arrays a layer put in place of a view.
        self._before: dict[str, np.ndarray] | None = {
            name: layer.params[key] for name, layer, key in self.slots}
        self._adopted: dict[str, np.ndarray] = {}
        self.current = 0
        self._bind(0)

    def gather(self, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """After a backward pass: the flat gradient's views, holding ``grads`` (the layers'
        gradients by parameter name), with the current values holding any array a layer put in
        place of its view. For layers that compute in the views and write into the scratch
        buffers (the library's), this only compares identities."""
        views = self.views[self.current]
        for name, layer, key in self.slots:
            if grads[name] is not self.grads[name]:
                self._copy_grad(name, layer, key, grads[name])
            if layer.params.get(key) is not views[name]:
                self._adopt(name, layer, key)
        if self._before is not None:
            self._check_stale()
        return self.grads

    def _who(self, layer) -> str:
        return f"layers[{self.index[id(layer)]}] ({type(layer).__name__})"

    def _copy_grad(self, name: str, layer, key: str, grad: np.ndarray) -> None:
        """A layer's gradient array, fresh from its backward pass, into the flat gradient."""
        view = self.grads[name]
        if not isinstance(grad, np.ndarray):
            raise TypeError(f"{self._who(layer)}: grads[{key!r}] must be a NumPy array shaped "
                            f"like params[{key!r}], {view.shape}; got {type(grad).__name__}")
        if grad.shape != view.shape:
            raise ValueError(f"{self._who(layer)}: grads[{key!r}] must be shaped like "
                             f"params[{key!r}], {view.shape}; got {grad.shape}")
        np.copyto(view, grad)

    def _adopt(self, name: str, layer, key: str) -> None:
        """A layer assigned a new array to ``params[key]`` in its forward or backward pass:
        the step starts from that array's values, and the entry is the view again."""
        value, view = layer.params.get(key), self.views[self.current][name]
        rule = ("training keeps every parameter in one flat array and points params at views "
                "into it after each step")
        if value is not None and value is self._adopted.get(name):
            raise TypeError(f"{self._who(layer)}: params[{key!r}] was set back to the array "
                            f"it held before the last step, so the layer never computes with "
                            f"the updated values: {rule}; read self.params[{key!r}] in forward "
                            "and backward instead of keeping the array")
        if not isinstance(value, np.ndarray) or (value.shape, value.dtype) != (
                view.shape, view.dtype):
            got = (f"a {value.dtype} array of shape {value.shape}" if isinstance(value, np.ndarray)
                   else type(value).__name__)
            raise ValueError(f"{self._who(layer)}: params[{key!r}] must stay a {view.dtype} "
                             f"array of shape {view.shape} ({rule}); got {got}")
        np.copyto(view, value)
        self._adopted[name] = value
        layer.params[key] = view

    def _check_stale(self) -> None:
        """Refuse, at the first step, a layer that kept a parameter as an attribute (``self.W``)
        too: training gave ``params`` views instead, so the layer computes with the array from
        before training, which no step changes, and would never learn."""
        for name, layer, key in self.slots:
            before = self._before[name]
            for attr, value in getattr(layer, "__dict__", {}).items():
                if value is before:
                    raise TypeError(
                        f"{self._who(layer)}: attribute {attr!r} holds the array params[{key!r}] "
                        "held before training, which training does not update (it keeps every "
                        "parameter in one flat array and points params at views into it): read "
                        f"self.params[{key!r}] in forward and backward instead of self.{attr}")
        self._before = None

    def span(self, term: Regularizer) -> slice | None:
        """The slice of the flat arrays holding the parameters ``term`` penalises, if they are
        one run of it (None otherwise, or if ``term`` is not a sum over entries)."""
        names = [name for name, _, _ in self.slots if term.applies_to(name)]
        if not term.separable or not names or names != [n for n, _, _ in self.slots[:len(names)]]:
            return None
        return slice(0, self.offsets[names[-1]][1])

    def _bind(self, which: int) -> None:
        self.current = which
        views = self.views[which]
        for name, layer, key in self.slots:
            layer.params[key] = views[name]

    def step(self, optimizer: Optimizer, lr: float, prox: Regularizer | None) -> None:
        """current - optimizer's step -> other, then compute with ``other``."""
        new = 1 - self.current
        optimizer.begin_iteration()
        delta = optimizer.step(self.NAME, self.values[self.current], self.grad, lr)
        np.subtract(self.values[self.current], delta, out=self.values[new])
        if prox is not None:
            for name, view in self.views[new].items():
                if prox.applies_to(name):
                    prox.prox(view, lr)
        self._bind(new)

    def undo(self) -> None:
        """Compute with the values before the last step again."""
        self._bind(1 - self.current)

    def adopt_state(self, optimizer: Optimizer, legacy_order: list[str]) -> None:
        """Bring an optimiser state saved in an earlier layout into this one: per parameter
        (``W1``, ``W1.m``, ...), or flat in the network's parameter order (``all``, ``all.m``,
        ...), packed into ``flat``, ``flat.m``, ... in this layout's order."""
        state = optimizer.state
        for key in [k for k in state if k == "all" or k.startswith("all.")]:
            suffix, flat = key[3:], np.ravel(state.pop(key))
            sizes = [self.offsets[name][1] - self.offsets[name][0] for name in legacy_order]
            for name, part in zip(legacy_order, np.split(flat, np.cumsum(sizes)[:-1]),
                                  strict=True):
                state[name + suffix] = part
        names = [name for name, _, _ in self.slots]
        for suffix in {k[len(names[0]):] for k in state if k.startswith(names[0])}:
            parts = [state.pop(name + suffix, None) for name in names]
            if all(part is not None for part in parts):
                state[self.NAME + suffix] = np.concatenate(
                    [np.ravel(part) for part in parts]).astype(self.grad.dtype)


class _Loop:
    """One training run's working parts: the buffers, the flat parameters, the penalties, and
    the guard that undoes a step that diverged."""

    def __init__(self, state: TrainState, X: np.ndarray, terms: list[Regularizer],
                 gradient_terms: list[Regularizer], prox: Regularizer | None) -> None:
        model = state.model
        self.state, self.model, self.X = state, model, X
        self.terms, self.prox = terms, prox
        self.work = model.workspace(min(state.batch_size, X.shape[0]))
        self.flat = FlatParameters(model, self.work)
        self.flat.adopt_state(state.optimizer, [name for name, _, _ in model.param_slots()])
        # Each penalty with whether its gradient joins the step (a proximal one acts after it)
        # and the slice of the flat parameters it covers, if it can take them in one call.
        self.penalised = [(term, any(term is g for g in gradient_terms), self.flat.span(term))
                          for term in terms]
        self.stepped = False  # whether the other buffer holds parameters of this run yet
        self.first_loss: float | None = None
        self.growth_bound = math.inf

    def step(self, X_batch, y_batch, w_batch, lr: float, epoch: int, it: int) -> float:
        """Loss and gradients of one batch (``w_batch``: its sample weights or None), checked,
        then the update, under the model's lock (inference from another thread waits for the
        step: the layers keep the forward pass's caches for the backward one). Returns the
        loss."""
        with self.model.lock:
            return self._step(X_batch, y_batch, w_batch, lr, epoch, it)

    def objective(self, X_batch, y_batch, w_batch) -> tuple[float, dict[str, np.ndarray]]:
        """The objective of a batch at the current parameters: data loss plus penalties, and
        its gradients, which are views into the flat gradient ``self.flat.grad``."""
        weight = None if w_batch is None else row_weights(w_batch, self.model.dtype)
        loss, grads = self.model.data_loss(X_batch, y_batch, self.work, weight)
        grads = self.flat.gather(grads)
        return loss + self._penalties(grads), grads

    def _step(self, X_batch, y_batch, w_batch, lr: float, epoch: int, it: int) -> float:
        loss, grads = self.objective(X_batch, y_batch, w_batch)
        gW1 = grads["W1"]
        grad_norm = math.sqrt(float(np.vdot(gW1, gW1)))
        if not (math.isfinite(loss) and math.isfinite(grad_norm)) or self.first_loss is None or (
                loss > self.growth_bound):
            self._check(loss, grad_norm, lr, epoch, it)
        history = self.state.history
        history["loss_history"].append(loss)
        history["grad_magnitude_history"].append(grad_norm)
        self.flat.step(self.state.optimizer, lr, self.prox)
        self.model.commit()
        self.stepped = True
        return loss

    def _penalties(self, grads: dict[str, np.ndarray]) -> float:
        """The penalties' total, their gradients added to ``grads`` (the flat buffer's views)."""
        flat, scratch = self.flat, self.work.penalty
        total = 0.0
        for term, with_grad, span in self.penalised:
            if span is None:
                params = flat.views[flat.current]
                total += term.apply(params, grads if with_grad else None, scratch)
                continue
            values = flat.values[flat.current][span]
            total += term.penalty(values)
            if with_grad:
                out = buffer(scratch, "flat", values.shape, values.dtype)
                flat.grad[span] += term.grad_into(values, out)
        return total

    def _check(self, loss: float, grad_norm: float, lr: float, epoch: int, it: int) -> None:
        if not math.isfinite(loss):
            self.diverged(epoch, it, f"the loss is {loss}", lr)
        if not math.isfinite(grad_norm):
            self.diverged(epoch, it, f"the W1 gradient norm is {grad_norm}", lr)
        if self.first_loss is None:
            self.first_loss = loss
            self.growth_bound = GROWTH_LIMIT * max(loss, 1.0)
        elif loss > self.growth_bound:
            self.diverged(epoch, it, f"the loss grew to {loss:.3g}, more than {GROWTH_LIMIT:g} "
                                     f"times its first value ({self.first_loss:.3g})", lr,
                          nonfinite=False)

    def check_parameters(self, lr: float, epoch: int, it: int) -> None:
        """The last update of an epoch has no next loss to reveal it: check it directly."""
        flat = self.flat
        if not np.isfinite(flat.values[flat.current]).all():
            bad = next(name for name, v in flat.views[flat.current].items()
                       if not np.isfinite(v).all())
            self.diverged(epoch, it, f"{bad} became non-finite in the update", lr)

    def diverged(self, epoch: int, it: int, problem: str, lr: float,
                 nonfinite: bool = True) -> None:
        if self.stepped:
            self.flat.undo()
        cause = likely_cause(self.model, self.X, lr, self.terms)
        raise DivergenceError(epoch, it, problem, cause, restored=self.stepped,
                              nonfinite=nonfinite)


def _end_of_epoch(state: TrainState, loop: _Loop, data, last_batch, epoch_loss: float,
                  train_scores: np.ndarray | None = None) -> None:
    """The per-epoch history: mean batch objective, validation loss, and the score
    (from ``train_scores``, the network's scores of ``last_batch``, when the caller has them)."""
    model, history = state.model, state.history
    X, y, X_val, y_val, _ = data
    metric = model.head.metric
    history["train_loss_history"].append(epoch_loss / state.iterations)
    # Classifiers keep the problem set's cheap score on the last batch; a regression's R^2
    # on one batch says little, so it is taken on the whole training set.
    X_score, y_score = last_batch[:2] if metric == "acc" else (X, y)
    if train_scores is None:
        train_scores = model.trusted_scores(X_score)
    history[f"train_{metric}_history"].append(model.head.score(train_scores, y_score))
    if X_val is not None:
        val_scores = model.trusted_scores(X_val)
        history[f"val_{metric}_history"].append(model.head.score(val_scores, y_val))
        penalty = sum(term.total_penalty(model.params) for term in loop.terms)
        history["val_loss_history"].append(model.head.loss(val_scores, y_val)[0] + penalty)


def _print_epoch(state: TrainState, loss: float) -> None:
    h, metric = state.history, state.model.head.metric
    val = h[f"val_{metric}_history"][-1] if h[f"val_{metric}_history"] else math.nan
    print(f"Epoch {state.epoch}: loss {loss:f}, train {metric} "
          f"{h[f'train_{metric}_history'][-1]:f}, val {metric} {val:f}", flush=True)


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
    resume: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None,
    sample_weight: np.ndarray | None = None,
    shuffle: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` in place with minibatch stochastic gradient descent (full-batch L-BFGS
    on the same objective: :func:`mlp.train_lbfgs`).

    Each epoch draws a fresh permutation of the N training examples (``shuffle=False``: takes
    them in order) and cuts it into ``max(N // batch_size, 1)`` batches (a remainder smaller
    than a batch is left out of that epoch). The objective of a batch is its mean loss, plus
    ``0.5 * reg * sum ||W||^2`` (the problem set's convention), plus ``regularizer``'s penalty
    if one is given.

    X: (N, D) any real dtype (uint8 pixels are converted batch by batch); y: targets as the
    model's output expects (see :mod:`mlp.losses`); X_val, y_val: optional validation set.

    ``sample_weight`` (N,) >= 0, not all zero: each batch's data loss becomes the weighted mean
    ``sum w_i l_i / sum w_i`` over its rows (l_i: the row's cross-entropy, or the mean over its C
    entries for sigmoid and linear outputs); equal weights give the unweighted numbers. The
    validation loss and the scores stay unweighted.

    Optimisation: ``optimizer`` (default plain SGD, ``theta -= lr * grad``) with the rate
    ``learning_rate * schedule(t)``, t the progress in epochs; the default schedule multiplies
    the rate by ``learning_rate_decay`` after every epoch. ``proximal=True`` applies
    ``regularizer`` by its proximal map after each step (soft-thresholding for L1, which makes
    exact zeros) instead of adding its gradient.

    ``callbacks`` (see :mod:`mlp.callbacks`: progress bar, checkpoints, early stopping) get
    ``on_train_begin/on_batch_end/on_epoch_end/on_train_end``; ``verbose`` prints
    ``Epoch k: loss L, train acc A, val acc V`` per epoch. ``resume``: a
    ``TrainState.snapshot()`` of an earlier run with the same data and settings, whose model
    parameters are already loaded; training continues after its last completed epoch.

    Returns a dict of lists, per iteration: ``loss_history`` (the batch objective) and
    ``grad_magnitude_history`` (the Frobenius norm of dJ/dW1), both taken before that
    iteration's update; per epoch: ``train_loss_history`` (the mean of the epoch's batch
    objectives), ``val_loss_history`` (the validation objective in inference mode: data loss
    plus penalties; empty without a validation set), and a score: for classifiers
    ``train_acc_history`` (accuracy on the epoch's last batch, after its update, as the problem
    set defines it) and ``val_acc_history``; for regression (``output='linear'``)
    ``train_r2_history`` (R^2 on the whole training set) and ``val_r2_history``.

    Raises DivergenceError if the loss, a gradient or a parameter becomes NaN or inf, or the
    loss grows beyond ``GROWTH_LIMIT`` times its first value.
    """
    X, y, X_val, y_val, sample_weight = _checked_data(model, X, y, X_val, y_val, sample_weight)
    base_lr = check_positive("learning_rate", learning_rate)
    check_positive("learning_rate_decay", learning_rate_decay)
    terms = penalties(check_nonnegative("reg", reg), regularizer)
    num_epochs = check_positive("num_epochs", num_epochs, integer=True)
    batch_size = check_positive("batch_size", batch_size, integer=True)
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        hint = " (for L-BFGS call mlp.train_lbfgs)" if optimizer == "lbfgs" else ""
        raise TypeError(f"optimizer must be an mlp.optim.Optimizer{hint}; got "
                        f"{type(optimizer).__name__}")
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be an mlp.optim.Schedule; got {type(schedule).__name__}")
    if proximal and regularizer is None:
        raise ValueError("proximal=True needs a regularizer; got regularizer=None")
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] must be an mlp.callbacks.Callback; got "
                            f"{type(cb).__name__}")
    if schedule is None:
        schedule = ExponentialDecay(learning_rate_decay) if learning_rate_decay != 1 else Constant()

    n = X.shape[0]
    data = (X, y) if sample_weight is None else (X, y, sample_weight)
    if not isinstance(shuffle, bool | np.bool_):
        raise TypeError(f"shuffle must be True or False; got {shuffle!r}")
    state = TrainState(model, optimizer or SGD(), num_epochs, max(n // batch_size, 1),
                       batch_size=batch_size, data=data, shuffle=bool(shuffle))
    if resume is not None:
        state.restore(*resume)
    loop = _Loop(state, X, terms, terms[:-1] if proximal else terms,
                 regularizer if proximal else None)
    _run(state, loop, (X, y, X_val, y_val, sample_weight), base_lr, schedule, list(callbacks),
         verbose)
    return state.history


def _run(state: TrainState, loop: _Loop, data, base_lr: float, schedule: Schedule,
         callbacks: list[Callback], verbose: bool) -> None:
    """The epochs: batches, steps, the end-of-epoch check and history, and the hooks."""
    X, y, w = data[0], data[1], data[4]
    n, iterations = X.shape[0], state.iterations
    batch_hooks = [cb for cb in callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
    for cb in callbacks:
        cb.on_train_begin(state)
    for epoch in range(state.epoch + 1, state.num_epochs + 1):
        order = state.model.permutation(n) if state.shuffle else np.arange(n)
        epoch_loss = 0.0
        for it, batch in enumerate(_shuffled_batches(X, y, w, order, state.batch_size, iterations)):
            lr = base_lr * schedule(epoch - 1 + it / iterations)
            loss = loop.step(*batch, lr, epoch, it + 1)
            epoch_loss += loss
            state.epoch, state.iteration, state.loss, state.learning_rate = (
                epoch - 1, it + 1, loss, lr)
            for cb in batch_hooks:
                cb.on_batch_end(state)
        loop.check_parameters(lr, epoch, iterations)
        state.epoch, state.iteration = epoch, 0
        _end_of_epoch(state, loop, data, batch, epoch_loss)
        if verbose:
            _print_epoch(state, loss)
        for cb in callbacks:
            cb.on_epoch_end(state)
        if state.stop:
            break
    for cb in callbacks:
        cb.on_train_end(state)
