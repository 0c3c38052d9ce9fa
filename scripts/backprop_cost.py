"""What the forward pass buys backpropagation (Problem 1, Q1.6), measured.

    python scripts/backprop_cost.py [--batch 100] [--numeric-entries 200] [--out docs/figures]

On a batch of bundled MNIST images it times, for fully connected ReLU networks:

- one forward pass (scores and loss);
- forward + backward with the forward pass's cache (``MLP.data_loss``, i.e. backprop);
- forward + backward with no cache: every layer's input recomputed from X when the backward
  pass needs it (``mlp.backprop.gradients_without_cache``);
- numeric differentiation: two forward passes per parameter. It is timed on
  ``--numeric-entries`` randomly chosen parameters and extrapolated to all of them.

and prints each as a multiple of one forward pass. ``--out`` also writes the tables as
``backprop_cost.md`` and ``backprop_cost.json`` there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

# One BLAS thread (unless the environment says otherwise): the ratios between the methods are
# what this script is about, and a multi-threaded BLAS on a busy machine turns them into noise.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from mlp import MLP  # noqa: E402
from mlp.backprop import gradients_without_cache  # noqa: E402
from mlp.data import load_mnist_small  # noqa: E402

#: The problem set's MNIST network first, then deeper ones of equal width, where the cost of
#: recomputing the forward pass grows with the square of the depth.
NETWORKS = [[64], [256], [256] * 3, [256] * 7, [256] * 15]


def run_times(fn: Callable[[], object], min_seconds: float = 0.4, min_runs: int = 7) -> list[float]:
    """Wall times of repeated ``fn()`` calls in seconds, at least ``min_runs`` of them and
    ``min_seconds`` in all, after one warm-up call."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def typical_time(fn: Callable[[], object]) -> float:
    """Median of :func:`run_times`: every method is summarised the same way, so that the
    ratios hold even when other processes slow the machine down."""
    return statistics.median(run_times(fn))


def numeric_time_per_entry(net: MLP, X: np.ndarray, y: np.ndarray, entries: int,
                           rng: np.random.Generator, h: float = 1e-5) -> float:
    """Median seconds per parameter entry of centred differences (perturb, two forward passes,
    restore), timed entry by entry on ``entries`` entries drawn at random across all
    parameter arrays."""
    names = list(net.params)
    sizes = np.array([net.params[n].size for n in names])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    def loss() -> float:
        return net.head.loss(net.forward(X), y)[0]

    loss()  # warm-up
    times = []
    for flat in rng.choice(int(sizes.sum()), size=entries, replace=False):
        i = int(np.searchsorted(offsets, flat, side="right") - 1)
        p = net.params[names[i]].reshape(-1)  # a view: writes reach the parameter
        j = flat - offsets[i]
        t0 = time.perf_counter()
        old = p[j]
        p[j] = old + h
        plus = loss()
        p[j] = old - h
        minus = loss()
        p[j] = old
        _ = (plus - minus) / (2 * h)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def short_name(sizes: list[int]) -> str:
    """``784-256-256-256-10`` as ``784-256x3-10``."""
    inner = sizes[1:-1]
    if len(inner) > 2 and len(set(inner)) == 1:
        return f"{sizes[0]}-{inner[0]}x{len(inner)}-{sizes[-1]}"
    return "-".join(map(str, sizes))


def measure(hidden: list[int], X: np.ndarray, y: np.ndarray, entries: int,
            rng: np.random.Generator) -> dict:
    net = MLP(X.shape[1], hidden, 10, activation="relu", seed=0)
    n_params = sum(p.size for p in net.params.values())

    # The two backward passes must agree before their times mean anything.
    _, cached = net.data_loss(X, y)
    _, recomputed = gradients_without_cache(net, X, y)
    for name in net.params:
        np.testing.assert_allclose(recomputed[name], cached[name], rtol=1e-10, atol=1e-12)

    t_forward = typical_time(lambda: net.head.loss(net.forward(X), y))
    t_backprop = typical_time(lambda: net.data_loss(X, y))
    t_no_cache = typical_time(lambda: gradients_without_cache(net, X, y))
    t_entry = numeric_time_per_entry(net, X, y, entries, rng)
    return {
        "network": short_name(net.layer_sizes),
        "layers": net.num_layers,
        "parameters": int(n_params),
        "forward_ms": 1e3 * t_forward,
        "backprop_ms": 1e3 * t_backprop,
        "no_cache_ms": 1e3 * t_no_cache,
        "numeric_ms": 1e3 * t_entry * n_params,
        "numeric_entries_timed": entries,
        "backprop_x": t_backprop / t_forward,
        "no_cache_x": t_no_cache / t_forward,
        "numeric_x": t_entry * n_params / t_forward,
    }


def markdown(rows: list[dict], batch: int) -> str:
    lines = [
        f"Times for one batch of {batch} MNIST images (float64), median of repeated runs; "
        "`x fwd` = multiple of one forward pass.",
        "",
        "| network | layers l | parameters | forward | forward + backprop (cached) "
        "| forward + backward, no cache | numeric, 2 forwards per parameter* |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['layers']} | {r['parameters']:,} | {r['forward_ms']:.3f} ms "
            f"| {r['backprop_ms']:.3f} ms ({r['backprop_x']:.1f}x fwd) "
            f"| {r['no_cache_ms']:.3f} ms ({r['no_cache_x']:.1f}x fwd) "
            f"| {r['numeric_ms'] / 1e3:,.0f} s ({r['numeric_x']:,.0f}x fwd) |"
        )
    lines += [
        "",
        f"\\* timed on {rows[0]['numeric_entries_timed']} parameters drawn at random, "
        "extrapolated to all of them.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=100, help="examples per batch (100)")
    parser.add_argument("--numeric-entries", type=int, default=200,
                        help="parameters on which numeric differentiation is timed (200)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for backprop_cost.md and backprop_cost.json")
    args = parser.parse_args(argv)

    X_train, y_train, *_ = load_mnist_small(scale=True)
    X, y = X_train[: args.batch], y_train[: args.batch]
    rng = np.random.default_rng(0)
    rows = [measure(hidden, X, y, args.numeric_entries, rng) for hidden in NETWORKS]
    table = markdown(rows, args.batch)
    print(table)
    machine = (f"{platform.machine()} {platform.system()}, NumPy {np.__version__}, "
               f"{os.environ['OPENBLAS_NUM_THREADS']} BLAS thread(s)")
    print(f"\nMachine: {machine}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "backprop_cost.md").write_text(table + f"\n\nMachine: {machine}\n")
        (args.out / "backprop_cost.json").write_text(
            json.dumps({"batch": args.batch, "machine": machine, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
