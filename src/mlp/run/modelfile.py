"""Reading a model file for a command: the network, and what ``mlp train`` stored beside it."""

from __future__ import annotations

from typing import Any


def read_model(path: str):
    from ..serialization import load

    return load(path)  # checks that the arrays agree with the metadata


def model_extra(path: str) -> dict[str, Any]:
    """The file's ``extra`` metadata (empty for a model saved without any), with the entries
    the commands compute with checked as strictly as options: a file may be crafted."""
    from ..serialization import ModelFileError, load_metadata

    extra = load_metadata(path).get("extra")
    extra = extra if isinstance(extra, dict) else {}
    input_max = extra.get("input_max", 255.0)
    if isinstance(input_max, bool) or not isinstance(input_max, int | float) or not (
            0 < input_max <= 1e6):
        raise ModelFileError(path, f"damaged metadata: input_max must be a number in (0, 1e6] "
                                   f"(the largest input value the model was trained on); got "
                                   f"{input_max!r}")
    shape = extra.get("image_shape", [28, 28])
    if not (isinstance(shape, list) and len(shape) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise ModelFileError(path, f"damaged metadata: image_shape must be two positive "
                                   f"integers; got {shape!r}")
    return extra


def check_inputs(model, n_features: int, what: str) -> None:
    if model.input_size != n_features:
        raise ValueError(f"the model takes {model.input_size} inputs per example, but {what} "
                         f"has {n_features}")
