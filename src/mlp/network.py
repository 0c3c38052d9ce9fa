"""The networks: ``MLP``, an ordered sequence of layers under an output head, and
``TwoLayerMLP``, the problem set's API on top of it. The maths lives in ``layers``, ``losses`` and
``regularizers``; this module only composes it."""

from __future__ import annotations

import contextlib
import numbers
import os
import re
import threading
from collections.abc import Iterator, MutableMapping, Sequence

import numpy as np

from . import initializers as _init
from ._validation import (
    check_choice,
    check_nonnegative,
    check_positive,
    check_sample_weight,
    check_X,
    is_sparse,
)
from .layers import (
    HIDDEN_ACTIVATIONS,
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Layer,
    Scratch,
    check_rate,
)
from .losses import Head, make_head, row_weights
from .regularizers import Regularizer, penalties
from .training import train

#: Rows evaluated at once by ``predict``/``scores``: large enough for BLAS to run at full speed,
#: small enough that a chunk's activations stay in the CPU's caches and a whole dataset's are
#: never held in memory.
EVAL_CHUNK = 512

_NAME = re.compile(r"([A-Za-z]+)(\d+)")


class Parameters(MutableMapping):
    """``model.params``: the layers' parameters under the problem set's names, in layer order.

    ``W{k}``, ``b{k}`` belong to the k-th affine layer, ``gamma{k}``, ``beta{k}`` to the batch
    norm after it. Each entry is the very array its layer computes with, so changing
    ``params["W1"]`` in place changes the next loss; assigning ``params["W1"] = A`` makes the layer
    compute with ``A`` (same shape and dtype required). Entries cannot be added or removed.
    """

    def __init__(self, slots: dict[str, tuple[Layer, str]]) -> None:
        self._slots = slots

    def __getitem__(self, name: str) -> np.ndarray:
        layer, key = self._slots[name]
        return layer.params[key]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        if name not in self._slots:
            raise KeyError(f"the network has no parameter {name!r} (it has {', '.join(self)})")
        old = self[name]
        if not isinstance(value, np.ndarray) or value.shape != old.shape or (
                value.dtype != old.dtype):
            got = (f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray)
                   else type(value).__name__)
            raise ValueError(f"params[{name!r}] must be a {old.dtype} array of shape "
                             f"{old.shape}; got {got}")
        layer, key = self._slots[name]
        layer.params[key] = value

    def __delitem__(self, name: str) -> None:
        raise TypeError("a network's parameters cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{n!r}: array{self[n].shape}" for n in self) + "}"


class Workspace:
    """Buffers for training on batches of ``n`` rows, reused for every batch so that an
    iteration allocates nothing of the size of a layer: the batch converted to the network's
    dtype, each layer's scratch (outputs, input gradients, parameter gradients), the head's,
    and the penalties' gradients."""

    def __init__(self, model: MLP, n: int) -> None:
        self.n, self._shape, self._dtype = n, (n, model.input_size), model.dtype
        self._batch: np.ndarray | None = None
        self.layers: list[dict[str, np.ndarray]] = [{} for _ in model.layers]
        self.head: dict[str, np.ndarray] = {}
        self.penalty: dict[str, np.ndarray] = {}


    @property
    def batch(self) -> np.ndarray:
        """The buffer a batch is converted into, made on first use: sparse batches and batches
        already in the network's dtype never need it."""
        if self._batch is None:
            self._batch = np.empty(self._shape, self._dtype)
        return self._batch


class MLP:
    """A fully connected network: ``input -> [affine -> (batch norm) -> activation -> (dropout)]
    * H -> affine -> output``, or any sequence of layers (:meth:`from_layers`).

    Parameters live in ``params``: ``W1 (D, H1)``, ``b1 (H1,)``, ..., ``W{L} (H{L-1}, C)``,
    ``b{L} (C,)`` with L = len(hidden_sizes) + 1, and ``gamma{k}``, ``beta{k}`` (H_k,) for
    batch normalisation after affine layer k.

    Args:
        input_size: D, features per example.
        hidden_sizes: widths of the hidden layers; ``[]`` gives softmax (or logistic, or linear)
            regression.
        output_size: C: classes for ``softmax``, 1 (binary) or labels (multilabel) for
            ``sigmoid``, targets for ``linear``.
        activation: hidden activation (``relu``, ``sigmoid``, ``tanh``, ``leaky_relu``), or a
            list of them, one per hidden layer.
        output: ``softmax`` (multiclass cross-entropy), ``sigmoid`` (binary cross-entropy from
            the logit) or ``linear`` (regression); see :mod:`mlp.losses`.
        std: if given, every weight is drawn as ``std * randn`` (the problem set's rule);
            otherwise the scale follows ``init``.
        init: ``he`` or ``xavier``; by default He for ReLU-like activations, else Xavier. The
            output layer always uses Xavier.
        seed: seed of the network's own random generator, used for the weights, the shuffling in
            ``train`` and dropout's masks. ``None`` draws from NumPy's global random state.
        dtype: float64 (default) or float32; parameters, activations and gradients use it.
        loss: for ``output='linear'``, ``mse`` (default) or ``huber``.
        huber_delta: the Huber loss's threshold (PyTorch's ``delta``), default 1.
        dropout: rate of inverted dropout after each hidden layer's activation, or a list of
            rates, one per hidden layer (0 for none).
        batch_norm: batch normalisation between each hidden affine layer and its activation.
    """

    def __init__(
        self,
        input_size: int,
        hidden_sizes: Sequence[int],
        output_size: int,
        activation: str | Sequence[str] = "relu",
        output: str = "softmax",
        std: float | None = None,
        init: str | None = None,
        seed: int | None = None,
        dtype: np.dtype | type | str = np.float64,
        *,
        loss: str | None = None,
        huber_delta: float = 1.0,
        dropout: float | Sequence[float] = 0.0,
        batch_norm: bool = False,
    ) -> None:
        check_positive("input_size", input_size, integer=True)
        check_positive("output_size", output_size, integer=True)
        if isinstance(hidden_sizes, numbers.Integral):
            raise TypeError(
                f"hidden_sizes must be a sequence of layer widths such as [{hidden_sizes}]; "
                f"got the integer {hidden_sizes}"
            )
        hidden_sizes = [check_positive(f"hidden_sizes[{i}]", w, integer=True)
                        for i, w in enumerate(hidden_sizes)]
        activations = _per_layer("activation", activation, len(hidden_sizes), str)
        for i, name in enumerate(activations):
            check_choice(f"activation[{i}]" if not isinstance(activation, str) else "activation",
                         name, (*HIDDEN_ACTIVATIONS, "identity"))
        rates = _per_layer("dropout", dropout, len(hidden_sizes), numbers.Real)
        rates = [check_rate(r) for r in rates]
        if not isinstance(batch_norm, bool | np.bool_):
            raise TypeError(f"batch_norm must be True or False; got {batch_norm!r}")
        head = make_head(output, loss, huber_delta)
        head.check_output_size(output_size)
        if std is not None:
            check_nonnegative("std", std)
        if init is not None:
            check_choice("init", init, _init.INITIALIZERS)
        dtype = _check_dtype(dtype)
        _check_size([int(input_size), *hidden_sizes, int(output_size)], dtype)
        rng = _generator(seed)

        self.input_size = int(input_size)
        self.hidden_sizes = hidden_sizes
        self.output_size = int(output_size)
        self.activation = activation if isinstance(activation, str) else list(activations)
        self.output = output
        self.std = None if std is None else float(std)
        self.init = init or (_init.default_init(activation) if isinstance(activation, str)
                             else None)
        self.dropout = dropout if isinstance(dropout, numbers.Real) else list(rates)
        self.batch_norm = bool(batch_norm)
        self.seed = seed
        layers = _stack(self.layer_sizes, activations, rates, self.batch_norm, std, init,
                        rng, dtype)
        self._assemble(layers, head, dtype, rng)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_layers(
        cls,
        layers: Sequence[Layer],
        output: str = "softmax",
        *,
        loss: str | None = None,
        huber_delta: float = 1.0,
        seed: int | None = None,
    ) -> MLP:
        """A network of exactly these layers, in order, under the ``output`` head.

        layers: :class:`~mlp.layers.Dense`, :class:`~mlp.layers.Activation`,
        :class:`~mlp.layers.Dropout`, :class:`~mlp.layers.BatchNorm`, or your own
        :class:`~mlp.layers.Layer` (see its contract), with at least one affine layer (a Dense,
        or any layer with a 2-D parameter ``W``) and matching widths. The input width is the
        first layer's that fixes one (:meth:`~mlp.layers.Layer.input_width`). The network
        computes with the layers' own arrays until ``train`` puts views into its flat array in
        their place. seed: the generator for shuffling and dropout masks (None: NumPy's global
        state).
        """
        layers = list(layers)
        for i, layer in enumerate(layers):
            _check_layer(i, layer)
        widths = _widths(layers)
        dtypes = {p.dtype for layer in layers for p in layer.params.values()}
        if len(dtypes) != 1:
            raise ValueError(f"all layers' parameters must share one dtype; got "
                             f"{sorted(map(str, dtypes))}")
        dtype = _check_dtype(dtypes.pop())
        head = make_head(output, loss, huber_delta)
        head.check_output_size(widths[-1])
        net = cls.__new__(cls)
        net.input_size, net.output_size = widths[0], widths[-1]
        net.hidden_sizes = [w for layer, w in zip(layers, widths[1:], strict=True)
                            if "W" in layer.params][:-1]
        acts = [layer.name for layer in layers if isinstance(layer, Activation)]
        net.activation = acts[0] if len(set(acts)) == 1 else acts
        net.output, net.std, net.init, net.seed = output, None, None, seed
        rates = [layer.p for layer in layers if isinstance(layer, Dropout)]
        net.dropout = rates
        net.batch_norm = any(isinstance(layer, BatchNorm) for layer in layers)
        net._assemble(layers, head, dtype, _generator(seed))
        return net

    def _assemble(self, layers: list[Layer], head: Head, dtype: np.dtype, rng) -> None:
        """Adopt ``layers`` and name their parameters: ``W{k}``, ``b{k}`` of the k-th affine
        layer (one with a ``W``), ``key{k}`` of a layer after it."""
        self.layers, self.head, self.dtype = layers, head, np.dtype(dtype)
        slots: dict[str, tuple[Layer, str]] = {}
        k = 0
        for i, layer in enumerate(layers):
            k += "W" in layer.params
            for key in layer.params:
                name = f"{key}{max(k, 1)}"
                if name in slots:
                    other = slots[name][0]
                    raise ValueError(
                        f"layers[{i}] ({type(layer).__name__}): its parameter {key!r} would be "
                        f"named {name!r}, like that of layers[{layers.index(other)}] "
                        f"({type(other).__name__}): a parameter is named by its key and the "
                        "number of the affine layer (one with a 'W') before it, so between two "
                        "affine layers each key may appear once (at most one batch norm after "
                        "each); rename the parameter")
                slots[name] = (layer, key)
        self._slots = slots
        self._params = Parameters(slots)
        # The input gradient is wanted only above the first layer that has parameters.
        self._first_trained = next((i for i, layer in enumerate(layers) if layer.params),
                                   len(layers))
        self._committers = [layer for layer in layers if type(layer).commit is not Layer.commit]
        self.rng = rng

    @property
    def rng(self) -> np.random.Generator | None:
        """The network's generator (None: NumPy's global state), shared by its dropout layers."""
        return self._rng

    @rng.setter
    def rng(self, rng: np.random.Generator | None) -> None:
        self._rng = rng
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng

    def param_slots(self) -> list[tuple[str, Layer, str]]:
        """``(name, layer, key)`` per parameter, ``params[name]`` being ``layer.params[key]``:
        where the training loop swaps in the next values without the checks of
        ``params[name] = ...``."""
        return [(name, layer, key) for name, (layer, key) in self._slots.items()]

    @property
    def params(self) -> Parameters:
        """The parameters by name (see :class:`Parameters`)."""
        return self._params

    @params.setter
    def params(self, values: dict[str, np.ndarray]) -> None:
        values = dict(values)
        if set(values) != set(self._slots):
            raise ValueError(f"params must have exactly the entries {', '.join(self._slots)}; "
                             f"got {', '.join(values)}")
        for name in self._slots:
            self._params[name] = values[name]

    @property
    def layer_sizes(self) -> list[int]:
        """``[D, H1, ..., C]``: the widths around the affine layers."""
        return [self.input_size, *self.hidden_sizes, self.output_size]

    @property
    def num_layers(self) -> int:
        """L, the number of affine layers (those with a parameter ``W``)."""
        return sum("W" in layer.params for layer in self.layers)

    @property
    def n_classes(self) -> int:
        """Number of distinct labels the network predicts (0 for regression)."""
        return self.head.n_classes(self.output_size)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that are saved but not trained: ``running_mean{k}``, ``running_var{k}`` of
        the batch norm after affine layer k."""
        out: dict[str, np.ndarray] = {}
        for name, (layer, key) in self._slots.items():
            if key == "gamma":
                k = _NAME.fullmatch(name).group(2)
                out.update({f"{s}{k}": a for s, a in layer.state.items()})
        return out

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of range(n) from the network's generator (or the global one)."""
        return np.random.permutation(n) if self.rng is None else self.rng.permutation(n)

    # -- the maths, composed from layers and the head ----------------------------------------

    def forward(
        self, X: np.ndarray, training: bool = False, work: Workspace | None = None
    ) -> np.ndarray:
        """Scores of a trusted batch. X: (N, D), any real dtype -> (N, C).

        ``training`` runs dropout and batch norm in training mode. With a :class:`Workspace`
        for N rows, every array is written into its buffers (and overwritten by the next call).
        """
        if work is None:
            h = self._sparse_input(X) if is_sparse(X) else np.asarray(X, dtype=self.dtype)
            scratches: Sequence[Scratch] = [None] * len(self.layers)
        else:
            scratches = work.layers
            h = X
            if is_sparse(X):
                h = self._sparse_input(X)
            elif X.dtype != self.dtype:
                h = work.batch
                np.copyto(h, X, casting="unsafe")  # uint8 pixels -> float, batch by batch
        for layer, scratch in zip(self.layers, scratches, strict=True):
            h = layer.forward(h, training, scratch)
        return h

    def _sparse_input(self, X):
        """A sparse batch in the network's dtype, still sparse: only a first :class:`Dense`
        layer multiplies it as it is (the other layers work on dense arrays)."""
        if not isinstance(self.layers[0], Dense):
            raise TypeError(f"sparse input needs a Dense first layer; this network's first "
                            f"layer is {type(self.layers[0]).__name__}: pass X.toarray()")
        return X if X.dtype == self.dtype else X.astype(self.dtype)

    def backward(self, dscores: np.ndarray, work: Workspace | None = None) -> dict[str, np.ndarray]:
        """Gradients of the data loss from ``dscores (N, C)``, through the last ``forward``
        (which must have run in training mode); into ``work``'s buffers if given."""
        g = dscores
        for i in range(len(self.layers) - 1, self._first_trained - 1, -1):
            scratch = work.layers[i] if work is not None else None
            g = self.layers[i].backward(g, i > self._first_trained, scratch)
        try:
            return {name: layer.grads[key] for name, (layer, key) in self._slots.items()}
        except (AttributeError, KeyError, TypeError):
            raise _missing_gradient(self.layers) from None

    def data_loss(
        self, X: np.ndarray, y: np.ndarray, work: Workspace | None = None,
        weight: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Training-mode loss and gradients of a trusted batch, without regularisation;
        ``weight``: optional (N,) row weights of mean 1 (:func:`mlp.losses.row_weights`)."""
        scores = self.forward(X, True, work)
        loss, dscores = self.head.loss(scores, y, work.head if work is not None else None,
                                       weight)
        return loss, self.backward(dscores, work)

    def commit(self) -> None:
        """Tell the layers that a training step on the last forward pass was taken (batch norm
        updates its running statistics)."""
        for layer in self._committers:
            layer.commit()

    def workspace(self, n: int) -> Workspace:
        """Buffers for training on batches of ``n`` rows (see :class:`Workspace`)."""
        return Workspace(self, n)

    @contextlib.contextmanager
    def frozen_dropout(self) -> Iterator[MLP]:
        """Within this block, each dropout layer draws one mask and reuses it for every batch
        of the same shape, so that the training-mode loss is a fixed function of the
        parameters: what a numeric gradient check needs (``check_gradients`` uses it). The
        random generator the masks come from is put back as it was at the end, so that a
        check between two training runs does not change the second one's numbers."""
        drops = [layer for layer in self.layers if isinstance(layer, Dropout)]
        saved = np.random.get_state() if self.rng is None else self.rng.bit_generator.state
        for layer in drops:
            layer.frozen, layer._mask = True, None
        try:
            yield self
        finally:
            for layer in drops:
                layer.frozen, layer._mask = False, None
            if self.rng is None:
                np.random.set_state(saved)
            else:
                self.rng.bit_generator.state = saved

    # -- the public API ------------------------------------------------------------------------

    def loss(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        reg: float = 0.0,
        regularizer: Regularizer | None = None,
        sample_weight: np.ndarray | None = None,
    ):
        """Scores, or loss and gradients, of a batch.

        X: (N, D) inputs; y: targets as the output expects (see :mod:`mlp.losses`) or None.
        With ``y=None`` returns the inference-mode scores (N, C). Otherwise returns
        ``(loss, grads)`` in training mode (dropout active, batch statistics): the mean loss
        plus ``0.5 * reg * sum ||W||^2`` plus ``regularizer``'s penalty (see
        :mod:`mlp.regularizers`), and a dict of gradients keyed and shaped like ``params``.
        ``sample_weight`` (N,) >= 0 makes the mean a weighted one, ``sum w_i l_i / sum w_i``.
        """
        X = check_X(X, self.input_size, dtype=self.dtype)
        terms = penalties(check_nonnegative("reg", reg), regularizer)
        if y is None:
            return self.trusted_scores(X)
        y = self.head.check_targets(y, X.shape[0], self.output_size)
        weight = None
        if sample_weight is not None:
            weight = row_weights(check_sample_weight(sample_weight, X.shape[0]), self.dtype)
        with self.lock:
            loss, grads = self.data_loss(X, y, weight=weight)  # fresh arrays: no workspace
            for term in terms:
                loss += term.apply(self.params, grads)
        return loss, grads

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Raw outputs (logits, or the regression's predictions). X: (N, D) -> (N, C)."""
        return self.trusted_scores(check_X(X, self.input_size, dtype=self.dtype))

    @property
    def lock(self) -> threading.RLock:
        """Held by each training step and by each inference or loss: another thread may call
        ``predict`` while ``train`` runs, and gets the parameters of a step's end (the layers
        keep a forward pass's caches for the backward pass, which a concurrent forward pass
        would overwrite). Not pickled: a copy gets a lock of its own."""
        lock = self.__dict__.get("_lock")
        return lock if lock is not None else self.__dict__.setdefault("_lock", threading.RLock())

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_lock", None)
        return state

    def trusted_scores(self, X: np.ndarray) -> np.ndarray:
        """``scores`` of an already validated X, in inference mode, a chunk of rows at a time,
        under the model's lock."""
        with self.lock:
            return self._scores_unlocked(X)

    def _scores_unlocked(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        chunk = min(EVAL_CHUNK, n)
        scratches = [{} for _ in self.layers]
        sparse = is_sparse(X)
        # One conversion buffer for every chunk: a fresh 1.6 MB array per chunk would cost its
        # page faults again each time.
        rows = None if sparse else np.empty((chunk, self.input_size), dtype=self.dtype)
        scores = np.empty((n, self.output_size), dtype=self.dtype)
        for start in range(0, n, chunk):
            block = X[start : start + chunk]
            if sparse:
                h = self._sparse_input(block)
            else:
                h = rows[: len(block)]
                np.copyto(h, block, casting="unsafe")
            for layer, scratch in zip(self.layers, scratches, strict=True):
                h = layer.forward(h, False, scratch)
            scores[start : start + h.shape[0]] = h
        return scores

    def hidden_outputs(self, X: np.ndarray) -> list[tuple[Activation, np.ndarray]]:
        """Each activation layer with its inference-mode output on a trusted batch X (N, D)."""
        h = self._sparse_input(X) if is_sparse(X) else np.asarray(X, dtype=self.dtype)
        outputs = []
        for layer in self.layers:
            h = layer.forward(h, False)
            if isinstance(layer, Activation):
                outputs.append((layer, h))
        return outputs

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities. X: (N, D) -> (N, C); for a single sigmoid output, (N, 2) holding
        ``[1 - p, p]`` with p the probability of label 1."""
        return self.head.probabilities(self.scores(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions. X: (N, D) -> labels (N,) int64 (multilabel: (N, C) 0/1), or regression
        values (N,) for one target, (N, C) for several."""
        return self.head.predict(self.scores(X))

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy (classifiers) or R^2 (regression) on X, y."""
        X = check_X(X, self.input_size, dtype=self.dtype)
        y = self.head.check_targets(y, X.shape[0], self.output_size)
        return self.head.score(self.trusted_scores(X), y)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of examples whose predicted label equals y. X: (N, D); y: (N,)."""
        if self.head.task != "classification":
            raise TypeError(f"accuracy is for classifiers; this network has output="
                            f"{self.output!r} (use score for R^2)")
        return self.score(X, y)

    def train(
        self,
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
        **options,
    ) -> dict[str, list[float]]:
        """Minibatch SGD with the problem set's signature. ``options`` (``optimizer``,
        ``schedule``, ``regularizer``, ``proximal``, ``callbacks``, ``progress``, ``resume``) and
        the returned history are described in :func:`mlp.training.train`."""
        return train(
            self, X, y, X_val, y_val, learning_rate=learning_rate,
            learning_rate_decay=learning_rate_decay, reg=reg, num_epochs=num_epochs,
            batch_size=batch_size, verbose=verbose, **options,
        )

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        extras = ""
        if any(self.dropout if isinstance(self.dropout, list) else [self.dropout]):
            extras += f", dropout={self.dropout!r}"
        if self.batch_norm:
            extras += ", batch_norm=True"
        if self.head.task == "regression":
            extras += f", loss={self.head.loss_name!r}"
            if self.head.loss_name == "huber":
                extras += f", huber_delta={self.head.delta:g}"
        return (
            f"{type(self).__name__}({sizes}, activation={self.activation!r}, "
            f"output={self.output!r}{extras}, dtype={self.dtype.name})"
        )


class TwoLayerMLP(MLP):
    """The problem set's network: ``input -> affine -> relu|sigmoid -> affine -> softmax``.

    ``params``: ``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``, ``b2 (C,)``; weights drawn as
    ``std * randn`` (W1 first, then W2) from NumPy's global random state unless ``seed`` is
    given; biases zero. Everything else is :class:`MLP`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        std: float = 1e-4,
        activation: str = "relu",
        seed: int | None = None,
        dtype: np.dtype | type | str = np.float64,
    ) -> None:
        check_positive("hidden_size", hidden_size, integer=True)
        super().__init__(input_size, [hidden_size], output_size, activation=activation,
                         output="softmax", std=std, seed=seed, dtype=dtype)

    @property
    def hidden_size(self) -> int:
        """H, the width of the hidden layer."""
        return self.hidden_sizes[0]


# -- helpers -----------------------------------------------------------------------------------


def _per_layer(name: str, value, n: int, kind) -> list:
    """``value`` repeated for n hidden layers, or checked to be a list of n."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return [value] * n
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name} must be one value or a list with one per hidden layer; got "
                        f"{value!r}")
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} must list one value per hidden layer ({n}); got "
                         f"{len(values)}: {values!r}")
    return values


def _check_layer(i: int, layer: object) -> None:
    """Refuse, naming it, a layer whose ``params`` a network cannot name and train: they must
    be a dict of float arrays under keys that do not end in a digit (the network appends the
    number of the affine layer, ``W`` -> ``W2``)."""
    if not isinstance(layer, Layer):
        raise TypeError(f"layers[{i}] must be an mlp.layers.Layer; got {type(layer).__name__}")
    what = f"layers[{i}] ({type(layer).__name__})"
    params = getattr(layer, "params", None)
    if not isinstance(params, dict):
        raise TypeError(f"{what}: params must be a dict of arrays (call Layer.__init__ first); "
                        f"got {type(params).__name__}")
    for key, p in params.items():
        if not (isinstance(key, str) and key.isidentifier() and not key[-1].isdigit()):
            raise ValueError(f"{what}: parameter keys must be names that do not end in a digit "
                             f"(the network appends the layer's number); got {key!r}")
        if not (isinstance(p, np.ndarray) and np.issubdtype(p.dtype, np.floating)):
            got = f"{p.dtype} array" if isinstance(p, np.ndarray) else type(p).__name__
            raise TypeError(f"{what}: params[{key!r}] must be a float NumPy array; got {got}")


def _widths(layers: list[Layer]) -> list[int]:
    """``[D, width after layers[0], width after layers[1], ...]``, D from the first layer whose
    parameters fix its input width; raises ValueError naming the first layer that does not fit."""
    if not any("W" in layer.params for layer in layers):
        raise ValueError("layers must include at least one Dense layer (or another affine layer: "
                         "one with a 2-D parameter 'W' of shape (D_in, D_out))")
    fixed = [(i, w) for i, layer in enumerate(layers) if (w := layer.input_width()) is not None]
    if not fixed:
        raise ValueError("no layer fixes the input width: give the first affine layer a 2-D "
                         "parameter 'W' of shape (D_in, D_out), or define its input_width()")
    widths = [_width(*fixed[0], layers[fixed[0][0]], "input_width()")]
    for i, layer in enumerate(layers):
        try:
            width = layer.width(widths[-1])
        except ValueError as exc:
            raise ValueError(f"layers[{i}]: {exc}") from None
        widths.append(_width(i, width, layer, "width()"))
    return widths


def _width(i: int, width: object, layer: Layer, method: str) -> int:
    """A width a layer's ``method`` returned, refused unless it is a positive integer."""
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
        raise TypeError(f"layers[{i}] ({type(layer).__name__}): {method} must return a width, "
                        f"a positive integer; got {width!r}")
    return int(width)


def _missing_gradient(layers: list[Layer]) -> TypeError:
    """The error for a layer whose ``backward`` left no gradient for one of its parameters."""
    for i, layer in enumerate(layers):
        grads = getattr(layer, "grads", None)
        have = list(grads) if isinstance(grads, dict) else []
        if layer.params and not set(layer.params) <= set(have):
            got = f"keys {have}" if isinstance(grads, dict) else type(grads).__name__
            return TypeError(f"layers[{i}] ({type(layer).__name__}): backward must leave the "
                             f"gradient of each parameter in grads, a dict keyed like params "
                             f"({', '.join(layer.params)}); grads has {got}")
    return TypeError("a layer's grads does not match its params")


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be float32 or float64; got {dtype!r}") from exc
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    return dt


def _generator(seed) -> np.random.Generator | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an integer or None; got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or None; got {seed}")
    return np.random.default_rng(seed) if seed is not None else None


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX
        return 1 << 40


def _check_size(sizes: list[int], dtype: np.dtype) -> None:
    """Refuse, before allocating, a network whose parameters alone exceed this machine's
    memory (``hidden_sizes=[10**9]`` would otherwise fail deep inside NumPy)."""
    count = sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))
    need, have = count * dtype.itemsize, _physical_memory()
    if need > have:
        raise ValueError(f"a {'-'.join(map(str, sizes))} network needs {need:.3g} bytes for its "
                         f"parameters alone, more than this machine's memory ({have:.3g} "
                         "bytes): use smaller layers")


def _stack(sizes, activations, rates, batch_norm, std, init, rng, dtype) -> list[Layer]:
    """The layers of ``MLP(...)``: affine, (batch norm), activation, (dropout) per hidden layer,
    then the output's affine layer. Weights are drawn in layer order (W1, then W2, ...), as the
    problem set draws them."""
    layers: list[Layer] = []
    depth = len(sizes) - 1
    for k in range(1, depth + 1):
        last = k == depth
        scheme = "xavier" if last else (init or _init.default_init(activations[k - 1]))
        layers.append(Dense(sizes[k - 1], sizes[k], init=scheme, std=std, rng=rng, dtype=dtype))
        if last:
            break
        if batch_norm:
            layers.append(BatchNorm(sizes[k], dtype=dtype))
        layers.append(Activation(activations[k - 1]))
        if rates[k - 1]:
            layers.append(Dropout(rates[k - 1]))
    return layers


__all__ = ["MLP", "TwoLayerMLP", "Parameters", "Workspace", "EVAL_CHUNK"]
