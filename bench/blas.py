"""What the benchmarks here share about BLAS: they run with the kernels a user's machine would
pick, so they drop the variables that force a slower one (``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE``, which a shared build machine may set), and they print the kernel that ran.

    python bench/blas.py      # prints the kernel NumPy's BLAS runs in this environment
"""

from __future__ import annotations

import os
import sys

#: Variables that force OpenBLAS's choice of kernel; read once, when the library loads.
FORCED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def user_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) without the variables that force a kernel."""
    return {k: v for k, v in (os.environ if env is None else env).items() if k not in FORCED}


def restart_as_user() -> None:
    """Start this script again without the forcing variables, if any is set (OpenBLAS has
    read them already by the time NumPy is imported)."""
    if any(k in os.environ for k in FORCED):
        os.execve(sys.executable, [sys.executable, *sys.argv], user_environment())


def kernel() -> str:
    """The BLAS libraries NumPy (and anything else loaded) runs, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    import numpy  # noqa: F401  (loads NumPy's BLAS, so that threadpoolctl finds it)

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                     f"x{i['num_threads']}" for i in info) or "none found"


if __name__ == "__main__":
    print(kernel())
