"""Refusing a network too large for this machine before any of it is allocated: what training
takes, measured against the library's one memory guard (:mod:`mlp.memory`)."""

from __future__ import annotations

from collections.abc import Sequence

from ..memory import check_fits, human_bytes, memory_cap

__all__ = ["EVAL_ROWS", "check_fits", "human_bytes", "memory_cap", "n_parameters",
           "training_bytes"]

#: Rows evaluated at once by the network (``mlp.network.EVAL_CHUNK``, or near it).
EVAL_ROWS = 512


def n_parameters(layer_sizes: Sequence[int]) -> int:
    return sum((a + 1) * b for a, b in zip(layer_sizes, layer_sizes[1:], strict=False))


def training_bytes(layer_sizes: Sequence[int], itemsize: int, batch: int,
                   optimizer_slots: int) -> int:
    """About the memory training takes: the parameters with their gradients, the update's
    spare copy and the optimiser's state, plus each layer's outputs, gradients and scratch for
    a batch (or an evaluation chunk)."""
    rows = max(batch, EVAL_ROWS)
    copies = 3 + optimizer_slots
    return itemsize * (n_parameters(layer_sizes) * copies + 4 * rows * sum(layer_sizes))
