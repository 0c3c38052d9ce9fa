"""What the page exports: the model as an ``.npz`` file that ``mlp.load`` reads, and a Python
script that reproduces the run with the library."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..serialization import save
from .config import UPLOAD, Config


def model_bytes(model, extra: dict) -> bytes:
    """The bytes of ``mlp.save(model, ...)``, written to a private temporary folder."""
    with tempfile.TemporaryDirectory(prefix="mlp-playground-") as folder:
        path = save(model, Path(folder) / "model.npz", extra=extra)
        return path.read_bytes()


_SCRIPT = '''"""Reproduce a run of the mlp playground with the library: same data, same network,
same {epochs} epoch(s), same numbers. Run: python {filename}"""

import mlp
from mlp.playground.config import Config
from mlp.playground.session import build_model, load_data, train_options

config = Config.from_query({query!r})
{data}
model = build_model(config, data)
epochs = {epochs}
if epochs:
    # The page's settings, as mlp train's table reads them: {describe}.
    # The playground trains one epoch per frame with a constant learning rate and one optimiser
    # object; one call for all the epochs gives the same numbers.
    mlp.train(model, data.train_inputs, data.points.y_train, **train_options(config, epochs))

test_scores = model.scores(data.test_inputs)
print("test loss", model.head.loss(test_scores, data.points.y_test)[0])
mlp.save(model, "playground-model.npz")
'''


def script(config: Config, epochs: int, upload_name: str | None) -> str:
    """A script that rebuilds the data and the network of ``config`` and trains ``epochs``."""
    if config.dataset == UPLOAD:
        data = (f"# The uploaded table: put it beside this script.\n"
                f"with open({(upload_name or 'data.csv')!r}, encoding='utf-8') as f:\n"
                f"    data = load_data(config, f.read())")
    else:
        data = "data = load_data(config)"
    return _SCRIPT.format(epochs=epochs, filename="playground_run.py", query=config.to_query(),
                          data=data, describe=config.settings(max(epochs, 1)).describe())
