"""Reading a model file for a command: the network, and what ``mlp train`` stored beside it,
both checked by the library's one model-file validation (:func:`mlp.serialization.check_extra`,
run by every reader of a model file, with its one memory bound)."""

from __future__ import annotations

from typing import Any


def read_model(path: str) -> tuple[Any, dict[str, Any]]:
    """(the network, the file's ``extra`` metadata, empty for a model saved without any)."""
    from ..serialization import load_with_metadata

    model, meta = load_with_metadata(path)
    return model, meta.get("extra") or {}


def check_inputs(model, n_features: int, what: str) -> None:
    if model.input_size != n_features:
        raise ValueError(f"the model takes {model.input_size} inputs per example, but {what} "
                         f"has {n_features}")
