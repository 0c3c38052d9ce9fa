"""The reference values of the checks, computed by this library in a process of their own.

    python -P -c "from mlp.teaching.reference import main; main()" [--full] < SECRET

The process builds the same questions as the grader (:func:`checks.build_questions` is
deterministic for a secret, which it reads from stdin, so that no other user sees it on the
command line) and writes each task's reference to stdout as it is done, cheap toy cases first.
It runs apart from the grader for two reasons: with one BLAS thread (the grader's own NumPy may
use every core, which for the problem set's small matrices costs far more than it gains), and
beside the students' runs rather than between them. Its NumPy global random state is its own,
so the problem set's ``np.random.seed`` calls cannot race with anything.

No student's code runs in or beside it, and still what crosses its pipe is data only: a JSON
outline of each value with its arrays in an ``.npz`` read with ``allow_pickle=False``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import numpy as np

from .checks import Question, Task, build_questions
from .jail import ONE_THREAD

_HEADER = struct.Struct("<QQ")
#: How often the reference process is started before its failure is the grader's error.
ATTEMPTS = 2


class ReferenceFailed(OSError):
    """The library's process could not compute a reference value: the grader's fault, not a
    student's (an OSError, as a process that dies is this machine's trouble)."""


def keyed_tasks(questions: list[Question]) -> Iterator[tuple[str, Task]]:
    """Every task with a key unique across questions, toy questions first."""
    for question in sorted(questions, key=lambda q: q.kind != "toy"):
        for task in question.tasks:
            yield f"{question.label}:{task.id}", task


# -- the values as data --------------------------------------------------------------------------


def pack(key: str, value: Any) -> bytes:
    """``key`` and ``value`` (dicts, lists, tuples, numbers, strings and arrays) as bytes."""
    arrays: list[np.ndarray] = []

    def outline(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            arrays.append(v)
            return {"$array": len(arrays) - 1}
        if isinstance(v, dict):
            return {"$dict": [[str(k), outline(x)] for k, x in v.items()]}
        if isinstance(v, list | tuple):
            return {"$list" if isinstance(v, list) else "$tuple": [outline(x) for x in v]}
        if isinstance(v, np.generic):
            return v.item()
        return v

    text = json.dumps([key, outline(value)]).encode()
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    data = buffer.getvalue()
    return _HEADER.pack(len(text), len(data)) + text + data


def unpack(text: bytes, data: bytes) -> tuple[str, Any]:
    """The inverse of :func:`pack`, given its two parts."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = [npz[f"arr_{i}"] for i in range(len(npz.files))]

    def value(v: Any) -> Any:
        if isinstance(v, dict):
            if "$array" in v:
                return arrays[v["$array"]]
            if "$dict" in v:
                return {k: value(x) for k, x in v["$dict"]}
            if "$tuple" in v:
                return tuple(value(x) for x in v["$tuple"])
            return [value(x) for x in v["$list"]]
        return v

    key, outline = json.loads(text)
    return key, value(outline)


# -- the process ---------------------------------------------------------------------------------


class References:
    """The reference of each task, from the reference process, as its values arrive. A
    process that ends early is started again (``ATTEMPTS`` in all) for what it had not done."""

    def __init__(self, questions: list[Question], full: bool, secret: int) -> None:
        self._keys = {id(task): key for key, task in keyed_tasks(questions)}
        self._futures: dict[str, Future] = {key: Future() for key in self._keys.values()}
        self._full, self._secret = full, secret
        self._process: subprocess.Popen | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._run, name="mlp-reference", daemon=True)
        self._reader.start()

    def get(self, task: Task) -> dict[str, Any]:
        return self._futures[self._keys[id(task)]].result()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()
        self._reader.join()

    def _start(self) -> subprocess.Popen | None:
        env = {**os.environ, **ONE_THREAD}
        # -P: not the working folder on sys.path, where a student's mlp.py may be.
        command = [sys.executable, "-P", "-c", f"from {__name__} import main; main()",
                   *(["--full"] if self._full else [])]
        with self._lock:
            if self._closed:
                return None
            # A session of its own: a Ctrl-C reaches the grader, which then ends this process.
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, env=env,
                                             start_new_session=True)
        self._process.stdin.write(f"{self._secret}\n".encode())
        self._process.stdin.close()
        return self._process

    def _run(self) -> None:
        status = None
        for _ in range(ATTEMPTS):
            process = self._start()
            if process is None:
                break
            self._read(process.stdout)
            status = process.wait()
            if all(f.done() for f in self._futures.values()):
                return
        for future in self._futures.values():
            if not future.done():
                future.set_exception(ReferenceFailed(
                    f"the reference process ended (exit status {status}) before computing "
                    "every reference value, twice; its error is above"))

    def _read(self, stream) -> None:
        with stream:
            while header := stream.read(_HEADER.size):
                if len(header) < _HEADER.size:
                    return
                sizes = _HEADER.unpack(header)
                parts = [stream.read(size) for size in sizes]
                if any(len(p) < size for p, size in zip(parts, sizes, strict=True)):
                    return
                key, value = unpack(*parts)
                if not self._futures[key].done():
                    self._futures[key].set_result(value)


def main(argv: list[str] | None = None) -> int:
    """Write every task's reference to stdout (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="mlp.teaching.reference",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    secret = int(sys.stdin.readline())
    out = sys.stdout.buffer
    for key, task in keyed_tasks(build_questions(args.full, secret)):
        out.write(pack(key, task.reference()))
        out.flush()
    return 0
