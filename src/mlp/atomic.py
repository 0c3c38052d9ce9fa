"""Atomic file writes: a file appears complete under its name, or not at all.

Data goes to a new file beside the target, is flushed to disk, and then replaces the target in
one rename; a crash at any moment leaves either the old file or the new one, never half of one.
The temporary file is created with the usual permissions (0o666 less the umask, applied by the
kernel), so no process-wide ``os.umask`` call is needed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_writer(path: os.PathLike | str) -> Iterator[BinaryIO]:
    """``with atomic_writer(path) as f: f.write(...)``: ``path`` gets the bytes written, once
    the block ends without an exception; otherwise nothing changes and no file is left behind."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (cannot write {path.name} there)")
    tmp = folder / f".{path.name}.{os.urandom(6).hex()}.tmp"  # not secrets: it loads OpenSSL
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The rename itself must reach the disk too, or a power cut could undo it.
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_atomic(path: os.PathLike | str, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a binary file that replaces ``path`` atomically once it returns."""
    with atomic_writer(path) as f:
        write(f)
    return Path(path)


def write_text_atomic(path: os.PathLike | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda f: f.write(text.encode("utf-8")))
