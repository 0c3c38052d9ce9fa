"""How the command writes a network in words: ``784-128-10 relu with batch norm``."""

from __future__ import annotations

from ..layers import Activation, BatchNorm, Dense, Dropout
from .values import show


def arch(model, noun: str = "") -> str:
    """``784-128-10 relu``, then ``with batch norm and dropout 0.2`` where the model has them."""
    text = f"{'-'.join(map(str, model.layer_sizes))} {show(model.activation)}"
    text += f" {noun}" if noun else ""
    extras = ["batch norm"] if model.batch_norm else []
    rates = model.dropout if isinstance(model.dropout, list) else [model.dropout]
    if any(rates):
        extras.append(f"dropout {show(model.dropout)}")
    return text + (f" with {' and '.join(extras)}" if extras else "")


def layer_text(layer) -> str:
    """One layer of ``mlp info``'s ``layers:`` line."""
    if isinstance(layer, Dense):
        return f"affine {layer.in_features}x{layer.out_features}"
    if isinstance(layer, BatchNorm):
        return "batch norm"
    if isinstance(layer, Dropout):
        return f"dropout {layer.p:g}"
    return layer.name if isinstance(layer, Activation) else type(layer).__name__
