"""Where a training run writes: its folder and its checkpoint.

A default folder ``runs/<date-time>`` is claimed with ``os.mkdir``, which fails if the name is
taken, so two runs started in the same second (or on a shared disk) never share one: the second
gets ``<date-time>-2``, and so on. An explicit ``--out`` that already holds a run is refused
unless ``--resume`` continues that very run, and one that another run is writing into (two
commands started at once) is refused by a lock file the first one made with ``O_EXCL``. Paths
are checked before the data is loaded, and folders are created only once training is about to
start; a run that fails before writing anything removes the folders it made.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
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
        self.locks: list[Path] = []

    def lock(self, folder: Path) -> Path:
        """Hold ``folder`` for this run, or refuse it if another live run holds it (a lock
        left by a run that was killed is taken over)."""
        path = folder / LOCK
        for _ in range(2):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _holder(path)
                if holder is not None:
                    raise ValueError(f"{folder}: another run (process {holder}) is writing "
                                     "into this folder; choose another one") from None
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
            self.locks.append(path)
            return folder
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
        for path in self.locks:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.locks.clear()


def _holder(path: Path) -> int | None:
    """The live process holding the lock ``path``, or None if it is gone (or unreadable)."""
    try:
        pid = int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
