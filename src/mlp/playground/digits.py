"""The digits tab: a network that reads 28x28 digits, trained in the page on the bundled MNIST
subset or loaded from the ``model.npz`` of an ``mlp train`` run (uploaded: the page never names
a file on the server), and what it makes of a digit drawn on the canvas."""

from __future__ import annotations

import base64
import functools
import io
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..data.loaders import load_mnist_small
from ..images import MNIST_SIZE, check_digit_reader, digit_inputs, mnist_like
from ..network import MLP
from ..optim import Adam
from ..serialization import ModelFileError, input_max, load_with_metadata
from ..training import train
from .session import to_bytes

#: The page sends its drawing as CANVAS x CANVAS grey levels.
CANVAS = 112
MAX_MODEL_BYTES = 16 << 20
#: A model file's metadata entry, at most: the library reads up to 64 MiB of it, which parsed
#: may take 24 times that; a real model's is a few kB (a checkpoint's history a few more).
MAX_METADATA_BYTES = 1 << 20
#: First-layer weight tiles sent to the page at most.
MAX_TILES = 64
WIDTHS = (16, 32, 64, 128)
MAX_EPOCHS = 20


@functools.lru_cache(maxsize=1)
def bundled() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bundled subset's training and validation sets, pixels scaled to [0, 1] (float32):
    ``X (N, 784), y (N,)`` twice. Read once per process."""
    ds = load_mnist_small(dtype=np.float32, scale=True)
    return ds.X_train, ds.y_train, ds.X_val, ds.y_val


class Digits:
    """The digits tab's model, and how it reads inputs (``input_max``: pixel value of ink)."""

    def __init__(self) -> None:
        self.model: MLP | None = None
        self.input_max = 1.0
        self.source = ""

    def train_bundled(self, hidden: int, epochs: int, seed: int) -> Iterator[dict[str, Any]]:
        """Train 784-hidden-10 with Adam on the bundled subset, yielding progress per epoch."""
        X, y, X_val, y_val = bundled()
        model = MLP(MNIST_SIZE**2, [hidden], 10, activation="relu", seed=seed,
                    dtype=np.float32)
        optimizer = Adam()
        for epoch in range(1, epochs + 1):
            history = train(model, X, y, X_val, y_val, learning_rate=1e-3,
                            learning_rate_decay=1.0, reg=0.0, num_epochs=1, batch_size=100,
                            optimizer=optimizer)
            yield {"type": "digits_progress", "epoch": epoch, "epochs": epochs,
                   "val_acc": history["val_acc_history"][-1],
                   "loss": history["train_loss_history"][-1]}
        self.model, self.input_max = model, 1.0
        self.source = (f"trained here: 784-{hidden}-10, {epochs} epochs on the bundled MNIST "
                       f"subset (validation accuracy {history['val_acc_history'][-1]:.3f})")

    def load_bytes(self, data: bytes, name: str) -> None:
        """Adopt an uploaded model file: it must read 28x28 digits into 10 classes."""
        if len(data) > MAX_MODEL_BYTES:
            raise ValueError(f"{name}: expected a model file of at most "
                             f"{MAX_MODEL_BYTES >> 20} MiB; got {len(data) / 2**20:.1f} MiB")
        size = _metadata_size(data)
        if size > MAX_METADATA_BYTES:
            raise ValueError(f"{name}: its metadata takes {size / 2**20:.1f} MiB; the digits tab "
                             f"reads at most {MAX_METADATA_BYTES >> 20} MiB of it")
        with tempfile.TemporaryDirectory(prefix="mlp-playground-") as folder:
            path = Path(folder) / "model.npz"
            path.write_bytes(data)
            try:  # the library's one check of a model file, as mlp predict's
                model, meta = load_with_metadata(path)
            except ModelFileError as exc:
                raise ValueError(f"{name}: {exc.problem}") from None
        extra = meta.get("extra") or {}
        check_digit_reader(model, extra, name)
        self.model, self.input_max = model, input_max(extra)
        self.source = f"loaded from {name}: {model!r}"

    def info(self) -> dict[str, Any]:
        """The model's description and its first-layer weight tiles (each (784,) column of W1
        as 28x28 bytes, scaled by its own largest magnitude)."""
        W1 = self.model.params["W1"][:, :MAX_TILES]
        tiles = W1 / np.maximum(np.abs(W1).max(axis=0), 1e-12)
        return {"type": "digits_model", "source": self.source,
                "tiles": [to_bytes(col) for col in tiles.T],
                "hidden": list(self.model.hidden_sizes)}

    def predict(self, pixels: str) -> dict[str, Any]:
        """The drawing's prediction. pixels: base64 of CANVAS*CANVAS grey bytes (ink light or
        dark, the background is found from the border)."""
        if self.model is None:
            raise ValueError("digits: no model yet: train one or load a model.npz first")
        try:
            raw = base64.b64decode(pixels, validate=True)
        except (ValueError, TypeError):
            raise ValueError("pixels: expected base64 grey levels; got something else") from None
        if len(raw) != CANVAS * CANVAS:
            raise ValueError(f"pixels: expected {CANVAS}x{CANVAS} = {CANVAS * CANVAS} grey "
                             f"levels; got {len(raw)}")
        grey = np.frombuffer(raw, np.uint8).reshape(CANVAS, CANVAS)
        image = mnist_like(grey)  # (28, 28) in [0, 255], the way MNIST is drawn
        x = digit_inputs(image[None], self.input_max, self.model.dtype)
        proba = self.model.predict_proba(x)[0]
        hidden = self.model.hidden_outputs(x)
        return {"type": "digits_prediction", "label": int(np.argmax(proba)),
                "probabilities": [round(float(p), 6) for p in proba],
                "hidden": [np.round(h[0], 4).tolist() for _, h in hidden],
                "image": to_bytes(image.reshape(-1) / 127.5 - 1)}


def _metadata_size(data: bytes) -> int:
    """The size of a model file's metadata entry, from the archive's directory; 0 for what the
    library's reader refuses before reading it (no archive, no metadata, a compressed entry),
    so that such a file gets the verdict it gets through every door."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("metadata.npy")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError):
        return 0
    return info.file_size if info.compress_type == zipfile.ZIP_STORED else 0
