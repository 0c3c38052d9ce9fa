"""Where a training run writes: its folder and its checkpoint.

A default folder ``runs/<date-time>`` is claimed with ``os.mkdir``, which fails if the name is
taken, so two runs started in the same second (or on a shared disk) never share one: the second
gets ``<date-time>-2``, and so on. An explicit ``--out`` that already holds a run is refused
unless ``--resume`` continues that very run, and one that another run is writing into (two
commands started at once) is refused by the lock the first one holds on a lock file there: a
kernel lock (``flock``), which a run that is killed gives back with its last breath, so that
no stale lock needs telling from a live one. Paths
are checked before the data is loaded, and folders are created only once training is about to
start; a run that fails before writing anything removes the folders it made.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

#: A folder holding any of these holds a run (finished or not).
RUN_FILES = ("model.npz", "checkpoint.npz", "metrics.json")
RUNS = Path("runs")
#: The file a run holds in its folder while it writes there.
LOCK = ".mlp-run.lock"


def check_out_folder(out: Path, resume: Path | None) -> None:
    """Refuse ``--out`` if it is a file, or a folder that holds a run other than the one
    ``--resume`` continues."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: a file, not a folder")
    found = [name for name in RUN_FILES if (out / name).exists()]
    if not found:
        return
    if resume is not None and resume.resolve().parent == out.resolve():
        return
    raise ValueError(f"--out {out} already holds a run ({', '.join(found)}); it is not "
                     f"overwritten: choose another folder, or continue that run with --resume "
                     f"{out / 'checkpoint.npz'}")


def check_writable_file(path: Path, flag: str) -> None:
    """Fail now, not after an epoch of training, if ``path`` cannot be written: its folder is
    missing or not writable, or the path is a folder."""
    if path.is_dir():
        raise ValueError(f"{flag} {path}: a folder, not a file")
    folder = path.parent
    if not folder.is_dir():
        what = "a file" if folder.exists() else "missing"
        raise ValueError(f"{flag} {path}: its folder {folder} is {what}; create the folder "
                         "first")
    # Ask the kernel, not the permission bits: root, read-only mounts and ACLs all differ.
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise ValueError(f"{flag} {path}: cannot write in {folder} "
                         f"({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


class Folders:
    """The folders a run creates; on failure, those still empty are removed again."""

    def __init__(self) -> None:
        self.created: list[Path] = []
        self.locks: list[tuple[Path, int]] = []  # the lock file, and the descriptor locking it

    def lock(self, folder: Path) -> Path:
        """Hold ``folder`` for this run, or refuse it if another live run holds it (a lock
        file left by a run that was killed holds no lock: it is taken over)."""
        path = folder / LOCK
        for _ in range(3):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                who = f"process {holder}" if holder else "a process that is starting"
                raise ValueError(f"{folder}: another run ({who}) is writing into this folder; "
                                 "choose another one") from None
            if _same_file(fd, path):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self.locks.append((path, fd))
                return folder
            os.close(fd)  # the run that held it removed the file meanwhile: lock the new one
        raise ValueError(f"{folder}: another run is taking this folder at the same time; "
                         "choose another one")

    def make(self, path: Path) -> Path:
        """``mkdir -p path``, remembering each folder made."""
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another run made it just now
                folder.mkdir()
                self.created.append(folder)
        if not path.is_dir():
            raise ValueError(f"{path}: not a folder")
        return path

    def claim_new(self, root: Path = RUNS) -> Path:
        """A fresh ``root/<date-time>[-n]``, made by this process and no other."""
        self.make(root)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for n in itertools.count(1):
            path = root / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            self.created.append(path)
            return path
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def cleaned_on_failure(self) -> Iterator[Folders]:
        """Locks are given back at the end; on failure, the folders made are removed again
        where they are empty."""
        try:
            yield self
        except BaseException:
            self._unlock()
            for folder in reversed(self.created):
                with contextlib.suppress(OSError):  # not empty: it holds what the run wrote
                    folder.rmdir()
            raise
        self._unlock()

    def _unlock(self) -> None:
        # The file is removed while still locked, so that no run can lock it after us and
        # then see it gone (lock() checks it locked the file the name still names).
        for path, fd in self.locks:
            if _same_file(fd, path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            os.close(fd)
        self.locks.clear()


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _holder(fd: int) -> int | None:
    """The process id the run holding the lock wrote into the file, waiting a moment for it
    (it writes once it holds the lock); None if it is not there yet."""
    for _ in range(20):
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode(errors="replace").strip()
        if text.isdigit() and int(text) > 0:
            return int(text)
        time.sleep(0.01)
    return None
