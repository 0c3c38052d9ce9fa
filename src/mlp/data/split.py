"""A random train / validation / test split of a table's rows, drawn from a seed."""

from __future__ import annotations

import numbers

import numpy as np


def split_sizes(n: int, val: float, test: float) -> tuple[int, int, int]:
    """(train, val, test) row counts for n rows. ``val`` and ``test``: a count (an integer) or
    a fraction of n (a number in [0, 1), rounded to the nearest count, which must not be 0 for
    a fraction above 0). Raises ValueError if no row is left for training."""
    counts = [rows_of(n, size, name) for name, size in (("val", val), ("test", test))]
    n_train = n - sum(counts)
    if n_train < 1:
        raise ValueError(f"{n} rows leave none for training after {counts[0]} for validation "
                         f"and {counts[1]} for testing")
    return n_train, counts[0], counts[1]


def rows_of(n: int, size: float, name: str) -> int:
    """How many of n rows ``size`` asks for: a count as it is, a fraction rounded (never to 0
    for a fraction above 0). ``name`` names the size in messages."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real) or not size >= 0:
        raise ValueError(f"{name} must be a count or a fraction in [0, 1); got {size!r}")
    if isinstance(size, numbers.Integral):
        return int(size)
    if size >= 1:
        raise ValueError(f"{name} must be a count or a fraction in [0, 1); got {size!r}")
    count = round(size * n)
    if size > 0 and count == 0:
        # Asked for some rows, got none: better said now than found in an empty report.
        raise ValueError(f"{name} {size:g} of {n} rows is no rows at all: give a count instead, "
                         "or more data")
    return count


def shuffle_split(n: int, val: float, test: float, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, val, test) of a random split of n rows: the same seed, the same
    split. Sizes as in :func:`split_sizes`."""
    n_train, n_val, _ = split_sizes(n, val, test)
    order = np.random.default_rng(seed).permutation(n)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
