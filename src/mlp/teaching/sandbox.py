"""Running untrusted Python in a child process with limits.

Each run is a fresh interpreter (``python -I``: no user site, no ``PYTHON*`` variables, neither
the script's folder nor the working folder on ``sys.path``) in its own session, started in the
given working folder (a temporary one, made by the caller) with a minimal environment, stdin
closed, and stdout and stderr going to a file. Before the script runs, a few lines of ours set
its limits with ``setrlimit``:

- CPU time (``RLIMIT_CPU``): SIGXCPU at the limit, SIGKILL two seconds later;
- memory (``RLIMIT_AS``, the address space): allocations beyond it fail with MemoryError;
- the size of any file it writes (``RLIMIT_FSIZE``), its output included;
- no core files.

The wall-clock limit is kept from outside: SIGTERM to the whole process group, then SIGKILL
after a grace period. Whatever happens, every process left in the group is killed before
``run`` returns.

This is not a container. The code runs as the grader's user: it can read and write what that
user can, open network connections, and start processes that leave the group (``setsid``).
Grade only on a machine, and as a user, with nothing to lose (a course's grading account, a
throw-away virtual machine, or Gradescope's container), as with any autograder that runs code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: Seconds between SIGTERM and SIGKILL once the wall-clock limit is reached.
GRACE_SECONDS = 2.0
#: How much of the end of the output is kept for the report.
OUTPUT_TAIL = 4000

_BOOTSTRAP = """\
import resource, runpy, sys
cpu, memory, output = (int(v) for v in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.argv = sys.argv[4:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@dataclass(frozen=True)
class Limits:
    """What one run may use: CPU seconds, wall-clock seconds, bytes of address space, and
    bytes in any one file it writes (its output included)."""

    cpu_seconds: int
    wall_seconds: float
    memory_bytes: int
    output_bytes: int


@dataclass(frozen=True)
class Outcome:
    """How a run ended. ``returncode`` is negative for a signal (-9: SIGKILL);
    ``timed_out``: stopped at the wall-clock limit; ``output``: the end of what it printed;
    ``output_bytes``: how much it printed in all."""

    returncode: int
    timed_out: bool
    seconds: float
    output: str
    output_bytes: int
    limits: Limits

    @property
    def printed_too_much(self) -> bool:
        return self.output_bytes >= self.limits.output_bytes

    def reason(self) -> str | None:
        """Why the process stopped, in words, if it stopped because of a limit or a signal."""
        if self.timed_out:
            return f"ran past the time limit ({self.limits.wall_seconds:g} s)"
        if self.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            return f"ran past the CPU time limit ({self.limits.cpu_seconds} s)"
        if self.returncode == -signal.SIGXFSZ or self.printed_too_much:
            return (f"printed more than {self.limits.output_bytes / 2**20:g} MB (print "
                    "calls in a loop?)")
        if self.returncode < 0:
            return f"was killed by {signal.Signals(-self.returncode).name}"
        return None


#: One thread for each BLAS library NumPy may use: the problem set's matrices are too small to
#: gain from more, and on a busy machine extra threads cost many times what they gain.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                     "NUMEXPR_NUM_THREADS")}


def minimal_env(workdir: Path) -> dict[str, str]:
    """The child's whole environment: nothing of the grader's but a search path, and one
    thread per BLAS library (a fair CPU-time limit, and workers that do not fight)."""
    return {"PATH": os.defpath, "HOME": str(workdir), "TMPDIR": str(workdir),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg", **ONE_THREAD}


def run(script: Path, args: list[str], workdir: Path, limits: Limits) -> Outcome:
    """Run ``python -I script *args`` in ``workdir`` under ``limits``; output goes to
    ``workdir/output.txt``."""
    command = [sys.executable, "-I", "-c", _BOOTSTRAP, str(int(limits.cpu_seconds)),
               str(int(limits.memory_bytes)), str(int(limits.output_bytes)), str(script),
               *args]
    output = workdir / "output.txt"
    start = time.monotonic()
    with open(output, "wb") as out:
        proc = subprocess.Popen(command, cwd=workdir, env=minimal_env(workdir),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
        try:
            timed_out = not _exited(proc.pid, start + limits.wall_seconds)
            if timed_out:
                _signal_group(proc.pid, signal.SIGTERM)
                if not _exited(proc.pid, time.monotonic() + GRACE_SECONDS):
                    _signal_group(proc.pid, signal.SIGKILL)
        finally:
            # The leader is a zombie now (or about to be killed), so its process group id
            # cannot have been reused: this reaches only what it left behind.
            _signal_group(proc.pid, signal.SIGKILL)
            returncode = proc.wait()
    seconds = time.monotonic() - start
    size = output.stat().st_size
    with open(output, "rb") as f:
        f.seek(max(0, size - OUTPUT_TAIL))
        tail = f.read().decode("utf-8", "replace")
    return Outcome(returncode, timed_out, seconds, tail, size, limits)


def _exited(pid: int, deadline: float) -> bool:
    """Wait until the process has exited (without reaping it) or the deadline passes."""
    delay = 0.001
    while True:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
