"""One page's training, on the library: the data, the network the config's settings describe,
one epoch of ``mlp.train`` per step, and the frames the page draws.

Nothing here computes a gradient or an update itself, or decides what a setting means: the
config's training controls are the run layer's settings (:meth:`Config.settings`), the network
is the run layer's :func:`~mlp.run.training.build_model` of them, and a step is ``mlp.train``
for one epoch with the settings' options (:meth:`~mlp.run.settings.TrainSettings.train_options`)
and the session's optimiser object (whose state carries over, so that N steps give the same
numbers as one call of N epochs); the heatmaps come from ``MLP.hidden_outputs`` and
``MLP.trusted_scores``; the gradient check is :func:`mlp.gradcheck.gradient_check`; the
learning-rate finder is ``mlp lr-find``'s (:func:`mlp.run.lrfind.find_rate`).
"""

from __future__ import annotations

import base64
import re
from typing import Any, NamedTuple

import numpy as np

from ..gradcheck import gradient_check
from ..losses import output_head
from ..network import MLP
from ..run.data import Splits
from ..run.lrfind import find_rate
from ..run.training import build_model as build_network
from ..training import train
from .config import PRESETS, UPLOAD, Config, controls
from .datasets import Points, make_points, split
from .features import expand, grid
from .upload import Upload, parse_csv

#: Heatmaps are computed on a RESOLUTION x RESOLUTION grid over the square.
RESOLUTION = 48
#: Rows of the training set that the gradient check uses (it costs two forward passes per
#: parameter).
GRADCHECK_ROWS = 16
#: Steps of the learning-rate finder, each one batch of training: what bounds its time, with
#: the page's largest batch and network (about 3 s for 500 rows through six layers of 8 on a
#: busy machine). The page's networks need this many to learn anything at the rates where
#: they can: at 100, the loss of most stays flat until it diverges.
LR_FIND_STEPS = 1000


class Data(NamedTuple):
    """The points, their features, and what is learnt (``classes`` 0 for a regression)."""

    points: Points
    train_inputs: np.ndarray
    test_inputs: np.ndarray
    task: str
    classes: int


def load_data(config: Config, csv_text: str | Upload | None = None) -> Data:
    """The data of ``config``: generated, or the uploaded CSV (its text or parsed table)."""
    if config.dataset == UPLOAD:
        if csv_text is None:
            raise ValueError("dataset: expected a CSV uploaded in this page; got 'upload' "
                             "without one (a link cannot carry your data: upload it again)")
        table = parse_csv(csv_text) if isinstance(csv_text, str) else csv_text
        X, y, task, classes = table.X, table.y, table.task, table.classes
    else:
        X, y = make_points(config.dataset, config.points, config.noise, config.classes,
                           config.seed)
        task = config.task
        classes = config.classes if task == "classification" else 0
    points = split(X, y, config.train_fraction, config.seed)
    return Data(points, expand(points.X_train, config.features),
                expand(points.X_test, config.features), task, classes)


def splits(data: Data) -> Splits:
    """The page's data as the run layer's splits: its training and test points (no
    validation set), and the output layer every door gives the task
    (:func:`mlp.losses.output_head`)."""
    output, size = output_head(data.task, data.classes or 1)
    X, y = data.train_inputs, data.points.y_train
    return Splits(X, y, X[:0], y[:0], data.test_inputs, data.points.y_test, output, size, {}, {})


def build_model(config: Config, data: Data) -> MLP:
    """The network of ``config``'s settings for ``data``, built by the run layer."""
    return build_network(config.settings(), splits(data))


def train_options(config: Config, epochs: int = 1) -> dict[str, Any]:
    """The keyword arguments of ``mlp.train`` for ``epochs`` epochs of ``config``'s settings:
    its learning rate at a constant schedule, batch size, L2 ``reg`` and L1 penalty, and a
    fresh optimiser object (keep it for the next epochs: its state carries over)."""
    return config.settings(epochs).train_options()


def to_bytes(values: np.ndarray) -> str:
    """Values in [-1, 1] as base64 of one byte each (0 for -1, 255 for 1): small frames."""
    q = np.rint((np.clip(values, -1, 1) + 1) * 127.5).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _normalised(a: np.ndarray) -> np.ndarray:
    """Each column divided by its largest magnitude, so that every neuron's picture shows."""
    peak = np.abs(a).max(axis=0)
    return a / np.where(peak > 0, peak, 1.0)


class Session:
    """The training state machine of one page: ``configure``, ``reset``, ``step``, ``frame``."""

    def __init__(self, config: Config | None = None) -> None:
        self.upload: Upload | None = None
        self.configure(config or Config())

    def configure(self, config: Config) -> None:
        """Adopt a checked config: new data if it changed, and a fresh network either way."""
        self.config = config
        self.data = load_data(config, self.upload)
        self.grid_inputs = expand(grid(RESOLUTION), config.features)
        self.reset()

    def use_upload(self, text: str, name: str = "upload.csv") -> None:
        """Read a CSV and train on it from now on (a ValueError naming ``name`` and what is
        wrong if it is unusable; the session is then unchanged)."""
        self.upload = parse_csv(text, name)
        self.configure(Config.from_dict({**self.config.to_dict(), "dataset": UPLOAD}))

    def reset(self) -> None:
        """A new network (the seed's weights) and optimiser; epoch 0."""
        self.model = build_model(self.config, self.data)
        self.options = train_options(self.config)
        self.epoch = 0
        self._gradcheck_row = 0

    def step(self) -> None:
        """One epoch of ``mlp.train``. Raises DivergenceError (parameters left good)."""
        d = self.data
        train(self.model, d.train_inputs, d.points.y_train, **self.options)
        self.epoch += 1

    def losses(self) -> tuple[float, float]:
        """Data loss (inference mode) on the training and the test points."""
        m, p = self.model, self.data.points
        return (m.head.loss(m.trusted_scores(self.data.train_inputs), p.y_train)[0],
                m.head.loss(m.trusted_scores(self.data.test_inputs), p.y_test)[0])

    def frame(self, full: bool = False) -> dict[str, Any]:
        """What the page draws now; ``full`` adds what changes only with the config (points,
        input heatmaps)."""
        train_loss, test_loss = self.losses()
        hidden = self.model.hidden_outputs(self.grid_inputs)
        out: dict[str, Any] = {
            "type": "frame", "epoch": self.epoch, "train_loss": train_loss,
            "test_loss": test_loss, "output": self._output_map(),
            "neurons": [[to_bytes(col) for col in _normalised(h).T] for _, h in hidden],
            "weights": self.weights(),
        }
        if full:
            out.update(self.static_frame())
        return out

    def _output_map(self) -> dict[str, Any]:
        """The decision (or regression) heatmap: for two classes p(1) as 2p - 1; for more, the
        winning class and its probability; for a regression the prediction."""
        scores = self.model.trusted_scores(self.grid_inputs)
        if self.data.task == "regression":
            return {"kind": "value", "values": to_bytes(scores[:, 0])}
        proba = self.model.head.probabilities(scores)
        if self.data.classes == 2:
            return {"kind": "binary", "values": to_bytes(2 * proba[:, 1] - 1)}
        winner = np.argmax(proba, axis=1)
        return {"kind": "classes", "classes": base64.b64encode(
                    winner.astype(np.uint8).tobytes()).decode("ascii"),
                "values": to_bytes(2 * proba.max(axis=1) - 1)}

    def weights(self) -> list[dict[str, list]]:
        """Each affine layer's ``W`` (fan-in, fan-out) and ``b``, rounded for the page."""
        params, layers = self.model.params, []
        for k in range(1, self.model.num_layers + 1):
            layers.append({"W": np.round(params[f"W{k}"], 4).tolist(),
                           "b": np.round(params[f"b{k}"], 4).tolist()})
        return layers

    def static_frame(self) -> dict[str, Any]:
        """What changes only with the config, and what the page may offer (``controls``: it
        builds its menus and limits from them)."""
        p, d = self.data.points, self.data
        return {
            "controls": controls(), "resolution": RESOLUTION, "task": d.task, "classes": d.classes,
            "features": list(self.config.features),
            "inputs": [to_bytes(col) for col in _normalised(self.grid_inputs).T],
            "train_points": {"x": np.round(p.X_train, 3).tolist(), "y": p.y_train.tolist()},
            "test_points": {"x": np.round(p.X_test, 3).tolist(), "y": p.y_test.tolist()},
        }

    def gradcheck(self) -> list[dict[str, Any]]:
        """Per affine layer k (with its batch norm), the largest relative error between the
        backprop and numeric gradients of the data loss on the next rows of the training set,
        and how many entries were left out for crossing a ReLU kink."""
        X, y = self.data.train_inputs, self.data.points.y_train
        rows = min(max(self.config.batch_size, 2), GRADCHECK_ROWS, X.shape[0])
        start = self._gradcheck_row % X.shape[0]
        idx = (start + np.arange(rows)) % X.shape[0]
        self._gradcheck_row = start + rows
        # The check leaves the network's random generator as it was (frozen_dropout): checking
        # does not change the training run's numbers.
        checks = gradient_check(self.model, X[idx], y[idx])
        layers: dict[int, dict[str, Any]] = {}
        for name, check in checks.items():
            k = int(re.search(r"\d+$", name).group())
            entry = layers.setdefault(k, {"layer": k, "error": 0.0, "kinks": 0, "params": []})
            entry["error"] = max(entry["error"], check.error)
            entry["kinks"] += check.kinks
            entry["params"].append(name)
        return [layers[k] for k in sorted(layers)]

    def find_learning_rate(self) -> dict[str, Any]:
        """The learning-rate range test of the network as it is now, as ``mlp lr-find`` runs
        it (:func:`mlp.run.lrfind.find_rate`: the training points, the config's batch size,
        optimiser and seed; the network is left as it was), over the rates of the page's menu:
        the result (``LRFinderResult.to_dict()``), the range, and ``apply``, the suggestion to
        three significant digits as ``mlp lr-find`` suggests ``--lr``, which the page offers to
        set."""
        rates = PRESETS["learning_rate"]
        result = find_rate(self.model, self.config.settings(), splits(self.data),
                           start=rates[0], end=rates[-1], steps=LR_FIND_STEPS)
        return {**result.to_dict(), "start": rates[0], "end": rates[-1],
                "num_steps": LR_FIND_STEPS, "batch_size": self.config.batch_size,
                "seed": self.config.seed, "apply": float(f"{result.suggestion:.3g}")}
