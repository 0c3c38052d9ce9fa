"""Trials per minute of ``mlp tune`` with one worker and with ``--workers 2``, on the bundled
MNIST subset: the same space, a random sampler and no pruning, so both do the same work.

    python bench/tune_throughput.py [--trials 120] [--workers 2]

Prints, for each, the trials finished per minute of wall time (from the search's start to its
end, worker processes' start-up included) and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mlp.tuning import parse_space, search
from mlp.tuning.workers import cores

# mlp train's own network (128 units, batch 64) on the subset, 3 epochs, the rate searched.
SPACE = {"epochs": "3", "lr": "0.01:0.2:log"}


def trials_per_minute(workers: int, trials: int, folder: Path) -> float:
    space = parse_space(SPACE)
    url = f"sqlite:///{folder / f'bench-{workers}.db'}"
    started = time.perf_counter()
    study = search(space, url, trials=trials, sampler="random", pruner="none", workers=workers,
                   echo=None)
    seconds = time.perf_counter() - started
    done = sum(t.state.name == "COMPLETE" for t in study.trials)
    return 60.0 * done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = trials_per_minute(1, args.trials, Path(tmp))
        many = trials_per_minute(args.workers, args.trials, Path(tmp))
    print(f"{cores()} cores; space {SPACE}; {args.trials} trials")
    print(f"1 worker:   {one:6.1f} trials/min")
    print(f"{args.workers} workers:  {many:6.1f} trials/min")
    print(f"ratio:      {many / one:6.2f}")


if __name__ == "__main__":
    main()
