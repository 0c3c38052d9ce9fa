"""Local worker processes: ``--workers N`` starts N processes that join the study, each with
an equal share of the cores.

A worker is a fresh interpreter (``python -m mlp.tuning JOB``, see :mod:`mlp.tuning.__main__`)
whose BLAS thread count is set in its environment before NumPy loads: two processes each using
every core would only fight over them. A worker runs the same loop as a worker on another
machine; a killed one's trial is retried through the study's heartbeats (see
:mod:`mlp.tuning.storage`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: The thread-count variables of the BLAS libraries NumPy may be built on.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_env(n_workers: int) -> dict[str, str]:
    """The environment of one of ``n_workers`` workers: its share of the cores for BLAS, and
    this package importable."""
    threads = str(max(1, cores() // n_workers))
    env = {**os.environ, **dict.fromkeys(THREAD_VARS, threads)}
    source = str(Path(__file__).resolve().parents[2])  # the folder holding the mlp package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    return env


def start_worker(job, index: int, n_trials: int, deadline: float | None, n_workers: int,
                 quiet: bool = False) -> subprocess.Popen:
    """One worker process of the search ``job`` (a :class:`~mlp.tuning.search.Job`)."""
    spec = {"job": job.to_dict(), "index": index, "n_trials": n_trials, "deadline": deadline,
            "quiet": quiet}
    return subprocess.Popen([sys.executable, "-m", "mlp.tuning", json.dumps(spec)],
                            env=worker_env(n_workers))


def run_workers(job, n_workers: int, n_trials: int, deadline: float | None,
                quiet: bool = False) -> None:
    """Start ``n_workers`` workers and wait for them; ChildProcessError if one fails."""
    procs = [start_worker(job, i, n_trials, deadline, n_workers, quiet)
             for i in range(n_workers)]
    try:
        codes = [p.wait() for p in procs]
    finally:
        for p in procs:  # interrupted: no worker outlives the command
            if p.poll() is None:
                p.terminate()
                p.wait()
    failed = [(i + 1, code) for i, code in enumerate(codes) if code != 0]
    if failed:
        which = ", ".join(f"worker {i} (exit status {code})" for i, code in failed)
        raise ChildProcessError(f"{which} of {n_workers} failed; see its error above. Run the "
                                "command again to resume the study")
