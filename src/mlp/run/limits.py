"""Refusing a network too large for this machine before any of it is allocated: NumPy would
otherwise start filling gigabytes, and the kernel end the process without a word."""

from __future__ import annotations

from collections.abc import Sequence

#: The cap where the available memory cannot be read (not Linux).
FALLBACK_CAP = 8 * 2**30
#: Rows evaluated at once by the network (``mlp.network.EVAL_CHUNK``, or near it).
EVAL_ROWS = 512


def memory_cap() -> int:
    """Bytes this machine can give without swapping: MemAvailable on Linux, else 8 GiB."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_CAP


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


def check_fits(what: str, nbytes: int) -> None:
    """Raise ValueError if ``nbytes`` exceeds what the machine can give; ``what`` starts the
    message and names the options to blame."""
    cap = memory_cap()
    if nbytes > cap:
        raise ValueError(f"{what} needs about {human_bytes(nbytes)} of memory, more than the "
                         f"{human_bytes(cap)} available: choose smaller sizes")


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")
