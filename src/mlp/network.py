"""The networks: ``MLP``, a stack of affine layers and activations of any depth, and
``TwoLayerMLP``, the problem set's API on top of it. The maths lives in ``layers`` and ``losses``;
this module only composes it."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from . import init as _init
from ._validation import check_choice, check_nonnegative, check_positive, check_X, check_y
from .layers import ACTIVATIONS, HIDDEN_ACTIVATIONS, linear_backward, linear_forward
from .losses import LOSSES
from .regularizers import Regularizer

#: Rows evaluated at once by ``predict``/``scores``: large enough for BLAS to run at full speed,
#: small enough that a chunk's activations stay in the CPU's caches and a whole dataset's are
#: never held in memory.
EVAL_CHUNK = 512


class Workspace:
    """Preallocated arrays for forward and backward passes on batches of ``n`` rows: the input
    converted to the network's dtype, each layer's output, the gradients flowing into hidden
    layers, and the parameter gradients. Training reuses one for every batch, so that an
    iteration allocates nothing of the size of a layer."""

    def __init__(self, model: MLP, n: int, backward: bool = True) -> None:
        sizes, dt = model.layer_sizes, model.dtype
        self.n = n
        self.x = np.empty((n, sizes[0]), dt)
        self.a = [np.empty((n, width), dt) for width in sizes[1:]]
        if backward:
            self.dx = [np.empty((n, width), dt) for width in sizes[1:-1]]
            self.grads = {name: np.empty_like(p) for name, p in model.params.items()}
            # Where an update writes the parameters' next values: the old ones stay intact
            # until the next step's loss shows they are good.
            self.spare = {name: np.empty_like(p) for name, p in model.params.items()}
            self.scratch = {name: np.empty_like(model.params[name])
                            for name in model.weight_names()}


class MLP:
    """A fully connected network: ``input -> [affine -> activation] * H -> affine -> output``.

    Parameters live in the dict ``params``: ``W1 (D, H1)``, ``b1 (H1,)``, ``W2 (H1, H2)``, ...,
    ``W{L} (H{L-1}, C)``, ``b{L} (C,)`` where L = len(hidden_sizes) + 1.

    Args:
        input_size: D, features per example.
        hidden_sizes: widths of the hidden layers; ``[]`` gives softmax (or logistic) regression.
        output_size: C, the number of classes (``1`` for ``output='sigmoid'``).
        activation: hidden activation, one of ``relu``, ``sigmoid``, ``tanh``, ``leaky_relu``.
        output: ``softmax`` (multiclass cross-entropy, labels in [0, C)) or ``sigmoid`` (binary
            cross-entropy from the logit, ``output_size=1``, labels 0/1).
        std: if given, every weight is drawn as ``std * randn`` (the problem set's rule);
            otherwise the scale follows ``init``.
        init: ``he`` or ``xavier``; by default He for ReLU-like activations, else Xavier. The
            output layer always uses Xavier.
        seed: seed of a private random generator used for the weights and the shuffling in
            ``train``. ``None`` draws from NumPy's global random state (``np.random.seed``).
        dtype: float64 (default) or float32; parameters, activations and gradients use it.
    """

    def __init__(
        self,
        input_size: int,
        hidden_sizes: Sequence[int],
        output_size: int,
        activation: str = "relu",
        output: str = "softmax",
        std: float | None = None,
        init: str | None = None,
        seed: int | None = None,
        dtype: np.dtype | type | str = np.float64,
    ) -> None:
        check_positive("input_size", input_size, integer=True)
        check_positive("output_size", output_size, integer=True)
        if isinstance(hidden_sizes, numbers.Integral):
            raise TypeError(
                f"hidden_sizes must be a sequence of layer widths such as [{hidden_sizes}]; "
                f"got the integer {hidden_sizes}"
            )
        hidden_sizes = list(hidden_sizes)
        for i, width in enumerate(hidden_sizes):
            check_positive(f"hidden_sizes[{i}]", width, integer=True)
        check_choice("activation", activation, HIDDEN_ACTIVATIONS)
        check_choice("output", output, tuple(LOSSES))
        if output == "sigmoid" and output_size != 1:
            raise ValueError(
                f"output_size must be 1 for output='sigmoid' (one logit per example); "
                f"got {output_size}"
            )
        if std is not None:
            check_nonnegative("std", std)
        if init is not None:
            check_choice("init", init, _init.INITIALIZERS)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64; got {self.dtype}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an integer or None; got {seed!r}")

        self.input_size = int(input_size)
        self.hidden_sizes = [int(h) for h in hidden_sizes]
        self.output_size = int(output_size)
        self.activation = activation
        self.output = output
        self.std = None if std is None else float(std)
        self.init = init or _init.default_init(activation)
        self.seed = seed
        self.rng = np.random.default_rng(seed) if seed is not None else None
        self.params: dict[str, np.ndarray] = self._initial_params()

    # -- construction -----------------------------------------------------------------------

    @property
    def layer_sizes(self) -> list[int]:
        """``[D, H1, ..., C]``."""
        return [self.input_size, *self.hidden_sizes, self.output_size]

    @property
    def num_layers(self) -> int:
        """L, the number of affine layers (hidden layers + 1)."""
        return len(self.hidden_sizes) + 1

    @property
    def n_classes(self) -> int:
        """Number of distinct labels the network predicts."""
        return 2 if self.output == "sigmoid" else self.output_size

    def randn(self, *shape: int) -> np.ndarray:
        """Standard normal draws from the network's generator (or NumPy's global one)."""
        if self.rng is None:
            return np.random.randn(*shape)
        return self.rng.standard_normal(shape)

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of range(n) from the network's generator (or the global one)."""
        return np.random.permutation(n) if self.rng is None else self.rng.permutation(n)

    def _initial_params(self) -> dict[str, np.ndarray]:
        # All weights are drawn first, in layer order, so that the draws match the problem
        # set's (W1, then W2) whatever the scale; biases start at zero.
        sizes = self.layer_sizes
        params: dict[str, np.ndarray] = {}
        for k in range(1, self.num_layers + 1):
            fan_in, fan_out = sizes[k - 1], sizes[k]
            if self.std is not None:
                std = self.std
            else:
                last = k == self.num_layers
                std = _init.layer_std("xavier" if last else self.init, fan_in, fan_out)
            params[f"W{k}"] = (std * self.randn(fan_in, fan_out)).astype(self.dtype)
        for k in range(1, self.num_layers + 1):
            params[f"b{k}"] = np.zeros(sizes[k], dtype=self.dtype)
        return {name: params[name] for k in range(1, self.num_layers + 1)
                for name in (f"W{k}", f"b{k}")}

    # -- the maths, composed from layers and losses -------------------------------------------

    def forward(
        self, X: np.ndarray, work: Workspace | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Scores of a trusted batch, and the input of every affine layer (the cache).

        X: (N, D), any real dtype. Returns ``scores (N, C)`` and ``[h0 = X, h1, ..., h{L-1}]``.
        With a :class:`Workspace` for N rows, every array is written into its buffers (and is
        overwritten by the next call) instead of being allocated.
        """
        act = ACTIVATIONS[self.activation]
        if work is None:
            h = np.asarray(X, dtype=self.dtype)
        elif X.dtype == self.dtype:
            h = X
        else:
            h = work.x
            np.copyto(h, X, casting="unsafe")  # uint8 pixels -> float, batch by batch
        inputs = [h]
        for k in range(1, self.num_layers + 1):
            out = work.a[k - 1] if work is not None else None
            a = linear_forward(h, self.params[f"W{k}"], self.params[f"b{k}"], out=out)
            if k == self.num_layers:
                return a, inputs
            h = act.forward(a)
            inputs.append(h)
        raise AssertionError("unreachable")

    def backward(
        self, dscores: np.ndarray, inputs: list[np.ndarray], work: Workspace | None = None
    ) -> dict[str, np.ndarray]:
        """Gradients of the data loss, from ``dscores (N, C)`` and the cache of ``forward``;
        into ``work``'s buffers if given."""
        act = ACTIVATIONS[self.activation]
        grads: dict[str, np.ndarray] = {}
        g = dscores
        for k in range(self.num_layers, 0, -1):
            out = None
            if work is not None:
                dx = work.dx[k - 2] if k > 1 else None
                out = (dx, work.grads[f"W{k}"], work.grads[f"b{k}"])
            dx, grads[f"W{k}"], grads[f"b{k}"] = linear_backward(
                g, inputs[k - 1], self.params[f"W{k}"], need_dx=k > 1, out=out
            )
            if k > 1:
                g = act.backward(dx, inputs[k - 1])
        return {name: grads[name] for name in self.params}

    def weight_names(self) -> list[str]:
        """Names of the weight matrices, the parameters that ``reg`` penalises."""
        return [f"W{k}" for k in range(1, self.num_layers + 1)]

    def data_loss(
        self, X: np.ndarray, y: np.ndarray, work: Workspace | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Loss and gradients of a trusted batch, without regularisation (see ``forward`` for
        ``work``)."""
        scores, inputs = self.forward(X, work)
        loss, dscores = LOSSES[self.output].fn(scores, y, scores if work is not None else None)
        return loss, self.backward(dscores, inputs, work)

    def penalty(
        self, reg: float, grads: dict[str, np.ndarray] | None = None,
        work: Workspace | None = None,
    ) -> float:
        """The problem set's L2 penalty ``0.5 * reg * sum ||W||^2`` (biases excluded).

        If ``grads`` is given, ``reg * W`` is added to each weight gradient in place.
        """
        if reg == 0:
            return 0.0
        total = 0.0
        for name in self.weight_names():
            W = self.params[name]
            total += float(np.vdot(W, W))
            if grads is not None:
                scratch = work.scratch[name] if work is not None else None
                grads[name] += np.multiply(W, reg, out=scratch)
        return 0.5 * reg * total

    def workspace(self, n: int) -> Workspace:
        """Buffers for training on batches of ``n`` rows (see :class:`Workspace`)."""
        return Workspace(self, n)

    # -- the public API ------------------------------------------------------------------------

    def loss(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        reg: float = 0.0,
        regularizer: Regularizer | None = None,
    ):
        """Scores, or loss and gradients, of a batch.

        X: (N, D) inputs; y: (N,) int labels in [0, C) (0/1 for ``output='sigmoid'``) or None.
        With ``y=None`` returns the scores (N, C). Otherwise returns ``(loss, grads)``: the mean
        cross-entropy plus ``0.5 * reg * sum ||W||^2`` plus ``regularizer``'s penalty (see
        :mod:`mlp.regularizers`), and a dict of gradients keyed and shaped like ``params``.
        """
        X = check_X(X, self.input_size)
        reg = check_nonnegative("reg", reg)
        if regularizer is not None and not isinstance(regularizer, Regularizer):
            raise TypeError(
                f"regularizer must be an mlp.regularizers.Regularizer; "
                f"got {type(regularizer).__name__}"
            )
        if y is None:
            return self.scores(X)
        y = check_y(y, X.shape[0], self.n_classes)
        loss, grads = self.data_loss(X, y)
        loss += self.penalty(reg, grads)
        if regularizer is not None:
            loss += regularizer.total_penalty(self.params)
            regularizer.add_grads(self.params, grads)
        return loss, grads

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Raw class scores (logits). X: (N, D) -> (N, C), evaluated in chunks."""
        return self.trusted_scores(check_X(X, self.input_size))

    def trusted_scores(self, X: np.ndarray) -> np.ndarray:
        """``scores`` of an already validated X (the training loop's path)."""
        n = X.shape[0]
        chunk = min(EVAL_CHUNK, n)
        work = Workspace(self, chunk, backward=False)
        scores = np.empty((n, self.output_size), dtype=self.dtype)
        for start in range(0, n, chunk):
            rows = X[start : start + chunk]
            scores[start : start + len(rows)] = self.forward(
                rows, work if len(rows) == chunk else None
            )[0]
        return scores

    def labels(self, scores: np.ndarray) -> np.ndarray:
        """Predicted labels from scores. scores: (N, C) -> (N,) int64."""
        if self.output == "sigmoid":
            return (scores[:, 0] > 0).astype(np.int64)
        return np.argmax(scores, axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities. X: (N, D) -> (N, C); for ``output='sigmoid'``, (N, 2) holding
        ``[1 - p, p]`` with p the probability of label 1."""
        p = LOSSES[self.output].probabilities(self.scores(X))
        if self.output == "sigmoid":
            return np.hstack([1 - p, p])
        return p

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels. X: (N, D) -> (N,) int64."""
        return self.labels(self.scores(X))

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of examples whose predicted label equals y. X: (N, D); y: (N,)."""
        X = check_X(X, self.input_size)
        y = check_y(y, X.shape[0], self.n_classes)
        return float(np.mean(self.predict(X) == y))

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
        from .training import train

        return train(
            self,
            X,
            y,
            X_val,
            y_val,
            learning_rate=learning_rate,
            learning_rate_decay=learning_rate_decay,
            reg=reg,
            num_epochs=num_epochs,
            batch_size=batch_size,
            verbose=verbose,
            **options,
        )

    def save(self, path, *, extra: dict | None = None):
        """Write the model to an ``.npz`` file, atomically (see :func:`mlp.io.save`); load it
        back with :func:`mlp.load`."""
        from .io import save

        return save(self, path, extra=extra)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return (
            f"{type(self).__name__}({sizes}, activation={self.activation!r}, "
            f"output={self.output!r}, dtype={self.dtype.name})"
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
        super().__init__(
            input_size,
            [hidden_size],
            output_size,
            activation=activation,
            output="softmax",
            std=std,
            seed=seed,
            dtype=dtype,
        )

    @property
    def hidden_size(self) -> int:
        """H, the width of the hidden layer."""
        return self.hidden_sizes[0]
