"""The reference values of the checks, computed by this library in a process of their own.

    python -P -c "from mlp.teaching.reference import main; main()" [--full]

The process builds the same questions as the grader (:func:`checks.build_questions` is
deterministic) and writes each task's reference to stdout as it is done, as length-prefixed
pickles, cheap toy cases first. It runs apart from the grader for two reasons: with one BLAS
thread (the grader's own NumPy may use every core, which for the problem set's small matrices
costs far more than it gains, and on a busy machine many times more), and beside the
students' runs rather than between them. Its NumPy global random state is its own, so the
problem set's ``np.random.seed`` calls cannot race with anything.
"""

from __future__ import annotations

import argparse
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

from .checks import Question, Task, build_questions
from .sandbox import ONE_THREAD

_HEADER = struct.Struct("<Q")


def keyed_tasks(questions: list[Question]) -> Iterator[tuple[str, Task]]:
    """Every task with a key unique across questions, toy questions first."""
    for question in sorted(questions, key=lambda q: q.kind != "toy"):
        for task in question.tasks:
            yield f"{question.label}:{task.id}", task


class References:
    """The reference of each task, from the reference process, as its values arrive."""

    def __init__(self, questions: list[Question], full: bool) -> None:
        self._keys = {id(task): key for key, task in keyed_tasks(questions)}
        self._futures: dict[str, Future] = {key: Future() for key in self._keys.values()}
        env = {**os.environ, **ONE_THREAD}
        # -P: not the working folder on sys.path, where a student's mlp.py may be.
        command = [sys.executable, "-P", "-c", f"from {__name__} import main; main()",
                   *(["--full"] if full else [])]
        # A session of its own: a Ctrl-C reaches the grader, which then ends this process.
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env,
                                         start_new_session=True)
        self._reader = threading.Thread(target=self._read, name="mlp-reference", daemon=True)
        self._reader.start()

    def get(self, task: Task) -> dict[str, Any]:
        return self._futures[self._keys[id(task)]].result()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
        self._process.wait()
        self._reader.join()

    def _read(self) -> None:
        stream = self._process.stdout
        try:
            while header := stream.read(_HEADER.size):
                (size,) = _HEADER.unpack(header)
                key, value = pickle.loads(stream.read(size))  # our own process's output
                self._futures[key].set_result(value)
        finally:
            status = self._process.wait()
            for future in self._futures.values():
                if not future.done():
                    future.set_exception(RuntimeError(
                        f"the reference process ended (exit status {status}) before computing "
                        "every reference value; its error is above"))


def main(argv: list[str] | None = None) -> int:
    """Write every task's reference to stdout (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="mlp.teaching.reference",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    out = sys.stdout.buffer
    for key, task in keyed_tasks(build_questions(args.full)):
        data = pickle.dumps((key, task.reference()), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(data)) + data)
        out.flush()
    return 0

