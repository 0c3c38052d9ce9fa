"""Running a student's code under limits: in the jail (:mod:`mlp.teaching.jail`), or, when
asked for, without one.

A run is ``python -I -S`` on a script of ours (the probe) in a folder the grader prepared.
Before the script runs, a few lines set its limits with ``setrlimit``: CPU time (SIGXCPU at the
limit, SIGKILL two seconds later), address space, the size of a file, open files, processes
(threads count), no core files. The wall-clock limit is kept from outside.

What comes back crosses as data through two pipes: the script's results (JSON lines, read up
to ``Limits.result_bytes``) and its printed output (of which the end is kept; past
``Limits.output_bytes`` the run is stopped). Nothing the student's code could have written is
unpickled, imported or trusted. When the results end with the probe's ``done`` line, when a
limit is reached, or when the process ends, the jail's first process is killed, which kills
every other process of the jail; ``run`` returns only once all of them are gone.

Without a jail (``jail=False``, for a student checking their own work) the script runs in a
process group of its own with the same limits; as root it runs as a uid of its own, whose
every process is killed afterwards (unless that uid could not reach Python or NumPy: then it
runs as root). Nothing else protects the grader's files then.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import jail as jails

#: Seconds to wait for a killed jail to be gone before giving up on it.
GRACE_SECONDS = 10.0
#: Seconds between the script's own wall-clock alarm and the hard limit.
SOFT_MARGIN = 1.5
#: How much of the end of the output is kept for the report.
OUTPUT_TAIL = 4000
#: The probe's last line: everything was computed.
DONE = b'{"done": true}\n'
MB = 2**20

_BOOTSTRAP = """\
import resource, runpy, sys
cpu, memory, files, nofile, nproc = (int(v) for v in sys.argv[1:6])
for limit, value in ((resource.RLIMIT_CPU, (cpu, cpu + 2)), (resource.RLIMIT_AS, memory),
                     (resource.RLIMIT_FSIZE, files), (resource.RLIMIT_NOFILE, nofile),
                     (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(limit, value if isinstance(value, tuple) else (value, value))
sys.path.insert(0, sys.argv[6])
sys.argv = sys.argv[7:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@dataclass(frozen=True)
class Limits:
    """What one run may use: CPU seconds, wall-clock seconds, bytes of address space, bytes
    of printed output; processes and threads, open files, bytes of ``/tmp`` (also the largest
    file), bytes of results."""

    cpu_seconds: int
    wall_seconds: float
    memory_bytes: int
    output_bytes: int
    processes: int = 4
    open_files: int = 64
    tmp_bytes: int = 64 * MB
    result_bytes: int = 16 * MB

    @property
    def soft_wall_seconds(self) -> float:
        """When the probe stops itself: ``SOFT_MARGIN`` before the wall-clock limit."""
        return max(0.5, self.wall_seconds - SOFT_MARGIN)


@dataclass(frozen=True)
class Outcome:
    """How a run ended. ``returncode`` is negative for a signal (-9: SIGKILL); ``timed_out``:
    stopped at the wall-clock limit; ``stopped``: stopped for printing or returning too much
    ("output", "results"); ``output``: the end of what it printed; ``results``: what the
    probe wrote; ``jailed``: whether it ran in the jail."""

    returncode: int
    timed_out: bool
    seconds: float
    output: str
    output_bytes: int
    limits: Limits
    results: bytes = b""
    stopped: str | None = None
    jailed: bool = True

    @property
    def printed_too_much(self) -> bool:
        return self.stopped == "output"

    @property
    def done(self) -> bool:
        return self.results.endswith(DONE)

    def reason(self) -> str | None:
        """Why the process stopped, in words, if it stopped because of a limit or a signal."""
        if self.timed_out:
            return f"ran past the time limit ({self.limits.wall_seconds:g} s)"
        if self.stopped == "output":
            return (f"printed more than {self.limits.output_bytes / MB:g} MB (print calls in a "
                    "loop?)")
        if self.stopped == "results":
            return f"returned more than {self.limits.result_bytes / MB:g} MB of results"
        if self.done:
            return None
        if self.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            return f"ran past the CPU time limit ({self.limits.cpu_seconds} s)"
        if self.returncode == -signal.SIGXFSZ:
            return f"wrote a file larger than {self.limits.tmp_bytes / MB:g} MB"
        if self.returncode < 0:
            return f"was killed by {signal.Signals(-self.returncode).name}"
        return None


_slots = itertools.count()
_slots_lock = threading.Lock()


def _next_uid() -> int:
    """A jail uid of its own for each run (as root): no two jails share one."""
    with _slots_lock:
        return jails.JAIL_UID + next(_slots) % 4000


def run(script: str, workdir: Path, limits: Limits, jail: bool = True) -> Outcome:
    """Run ``python -I -S SCRIPT WORKDIR RESULTS_FD SECONDS`` under ``limits``: ``script`` is
    the name of a file in ``workdir`` (which the caller made and filled; in the jail it is
    read-only at ``/ps4``); SECONDS, ``SOFT_MARGIN`` before the wall-clock limit, is when the
    script may stop by itself and say where it was."""
    python = jails.mounts().python if jail else jails._python()
    results_r, results_w = os.pipe()
    output_r, output_w = os.pipe()
    info_r, info_w = os.pipe()
    root = os.geteuid() == 0
    uid = _next_uid()
    drop = root and not jail and unprivileged_can_run()
    with tempfile.TemporaryDirectory(prefix="mlp-jail-") as stage:
        if root and (jail or drop):
            _hand_over(workdir, uid)
        inside = jails.WORK if jail else str(workdir)
        site = jails.SITE if jail else str(Path(jails._numpy()[0][0]).parent)
        argv = [python, "-I", "-S", "-B", "-c", _BOOTSTRAP, str(int(limits.cpu_seconds)),
                str(int(limits.memory_bytes)), str(int(limits.tmp_bytes)),
                str(limits.open_files), str(limits.processes), site, f"{inside}/{script}",
                inside, str(results_w), f"{limits.soft_wall_seconds:g}"]
        if jail:
            prefix, staged = jails.as_root(uid, Path(stage), workdir) if root else ([], {})
            command = [*prefix, *jails.command(workdir, limits.tmp_bytes, argv, staged, info_w)]
            extra = {"env": jails.BWRAP_ENV}
        else:
            command = argv
            extra = {"cwd": workdir, "env": jails.child_env(str(workdir)),
                     **({"user": uid, "group": uid, "extra_groups": []} if drop else {})}
        start = time.monotonic()
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output_w,
                                    stderr=output_w, pass_fds=(results_w, info_w),
                                    start_new_session=True, **extra)
        finally:
            for fd in (results_w, output_w, info_w):
                os.close(fd)
        try:
            watch = _Watch(proc, results_r, output_r, info_r, limits)
            watch.follow(start + limits.wall_seconds)
        finally:
            _end(proc, watch.first, uid if drop else None)
            for fd in (results_r, output_r, info_r):
                os.close(fd)
    returncode = proc.returncode
    if jail and returncode > 128:  # bwrap passes on a signal's death as 128 + its number
        returncode = -(returncode - 128)
    return Outcome(returncode, watch.timed_out, time.monotonic() - start,
                   watch.tail.decode("utf-8", "replace"), watch.output_bytes, limits,
                   bytes(watch.results), watch.stopped, jail)


def unprivileged_can_run() -> bool:
    """Whether a user of no privileges can run Python and NumPy here (without a jail, root
    runs the student's code as such a user when it can)."""
    return all(jails._reachable(path) for path in (jails._python(), jails._numpy()[0][0]))


def _hand_over(workdir: Path, uid: int) -> None:
    """As root: the work folder and its files readable by the run's uid alone."""
    for path in [workdir, *workdir.iterdir()]:
        os.chown(path, uid, uid)
        os.chmod(path, 0o500 if path.is_dir() else 0o400)


class _Watch:
    """Reads the run's pipes until it is done, a limit is reached or the pipes close."""

    def __init__(self, proc, results_fd: int, output_fd: int, info_fd: int,
                 limits: Limits) -> None:
        self.proc, self.limits = proc, limits
        self.results, self.tail, self.info = bytearray(), b"", b""
        self.output_bytes, self.timed_out, self.stopped = 0, False, None
        #: A pidfd of the jail's first process (signalling it cannot reach a reused pid).
        self.first: int | None = None
        self.selector = selectors.DefaultSelector()
        for fd, what in ((results_fd, "results"), (output_fd, "output"), (info_fd, "info")):
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ, what)

    def follow(self, deadline: float) -> None:
        open_pipes = 3
        while open_pipes:
            left = deadline - time.monotonic()
            if left <= 0:
                self.timed_out = True
                return
            for key, _ in self.selector.select(min(left, 1.0)):
                data = _read(key.fd)
                if data is None:
                    continue
                if not data:
                    self.selector.unregister(key.fd)
                    open_pipes -= 1
                elif self._take(key.data, data):
                    return

    def _take(self, what: str, data: bytes) -> bool:
        """Keep ``data``; True when the run is to be stopped."""
        if what == "info":
            self.info += data[:4096]
            with contextlib.suppress(ValueError, KeyError, TypeError, OSError):
                if self.first is None:
                    self.first = os.pidfd_open(int(json.loads(self.info)["child-pid"]))
            return False
        if what == "output":
            self.output_bytes += len(data)
            self.tail = (self.tail + data)[-OUTPUT_TAIL:]
            if self.output_bytes > self.limits.output_bytes:
                self.stopped = "output"
            return self.stopped is not None
        self.results += data
        if len(self.results) > self.limits.result_bytes:
            del self.results[self.limits.result_bytes:]
            self.stopped = "results"
            return True
        return self.results.endswith(DONE)


def _read(fd: int) -> bytes | None:
    """What the pipe holds (empty at its end), or None if nothing yet."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None


def _end(proc: subprocess.Popen, first: int | None, uid: int | None) -> None:
    """Kill what is left of the run and wait until all of it is gone: in the jail, its first
    process (the kernel then kills the rest of the PID namespace before that one's parent
    can reap it, so that bwrap's exit means an empty jail); without one, the process group."""
    if first is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            signal.pidfd_send_signal(first, signal.SIGKILL)
        os.close(first)
    else:
        _kill_group(proc.pid)
    if not _exited(proc.pid, time.monotonic() + GRACE_SECONDS):
        _kill_group(proc.pid)
        _exited(proc.pid, time.monotonic() + GRACE_SECONDS)
    # The leader has exited but is not reaped yet, so its group id cannot have been reused:
    # this reaches only what the run left in its group.
    _kill_group(proc.pid)
    proc.wait()
    if uid is not None:
        _kill_all_of(uid)


def _exited(pid: int, deadline: float) -> bool:
    """Wait until the process has exited, without reaping it, or the deadline passes."""
    delay = 0.001
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return True


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_all_of(uid: int) -> None:
    """Every process of ``uid``, killed by a process of that uid (``kill(-1)`` reaches just
    those), as setsid daemons leave the process group."""
    subprocess.run([jails._python(), "-I", "-S", "-c",
                    "import os, signal; os.kill(-1, signal.SIGKILL)"],
                   user=uid, group=uid, extra_groups=[], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
