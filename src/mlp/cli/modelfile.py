"""Reading a model file for a command: the network, and what ``mlp train`` stored beside it."""

from __future__ import annotations

from typing import Any


def read_model(path: str):
    from ..serialization import load

    return load(path)  # checks that the arrays agree with the metadata


def model_extra(path: str) -> dict[str, Any]:
    """The file's ``extra`` metadata (empty for a model saved without any)."""
    from ..serialization import load_metadata

    extra = load_metadata(path).get("extra")
    return extra if isinstance(extra, dict) else {}


def check_inputs(model, n_features: int, what: str) -> None:
    if model.input_size != n_features:
        raise ValueError(f"the model takes {model.input_size} inputs per example, but {what} "
                         f"has {n_features}")
