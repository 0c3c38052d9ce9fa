"""``mlp grade``: a student's ``mlp.py`` against the checks of :mod:`mlp.teaching.checks`.

>>> with Grader() as grader:
...     result = grader.grade("submissions/alice")
>>> result.score, result.max_score
(45.0, 45.0)

Each question runs in a jail of its own (:mod:`mlp.teaching.jail`, run by
:mod:`mlp.teaching.sandbox`) that holds a copy of the student's ``mlp.py``, the assignment's
``utils.py``, the probe and the question's inputs, and nothing of the grader's; a first short
run only imports the file and checks that it defines ``TwoLayerMLP`` with ``loss``, ``train``
and ``predict``. Whatever the student's code does there
(an exception, ``sys.exit()``, an endless loop, all the memory, megabytes of printing) costs the
cases it happens in, with the reason in the report; a method that ran past the time limit is not
called again by later questions, so an endless loop costs one time limit, not six.

The reference values are computed by this library, once per ``Grader``, in a process of their
own (:mod:`mlp.teaching.reference`) while the first submission's runs go on. The hidden cases
are drawn from the grader's secret (random unless given), and the MNIST questions' scored
images and labels never enter the jail: the student's trained parameters come back and the
library measures their accuracy.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .assignment import template_text
from .checks import Question, Task, Verdict, build_questions
from .jail import JailError, unavailable
from .reference import References
from .sandbox import Limits, Outcome, run
from .text import clean

PROBE = Path(__file__).with_name("probe.py")
#: A submission larger than this is refused unread.
MAX_SOURCE_BYTES = 1_000_000
#: The methods whose endless loops stop later questions from calling them again.
METHODS = ("__init__", "loss", "train", "predict")
MB = 2**20

#: Limits per kind of question: the toy checks take well under a second with the reference
#: solution (loops over the examples too), the MNIST runs a few seconds (a minute or so with
#: --full).
LIMITS = {
    "toy": Limits(cpu_seconds=5, wall_seconds=10, memory_bytes=1024 * MB, output_bytes=2 * MB),
    "mnist": Limits(cpu_seconds=60, wall_seconds=90, memory_bytes=2048 * MB,
                    output_bytes=2 * MB),
    "mnist-full": Limits(cpu_seconds=600, wall_seconds=900, memory_bytes=4096 * MB,
                         output_bytes=2 * MB),
}


@dataclass
class CaseResult:
    label: str
    hidden: bool
    credit: float
    found: str = ""
    expected: str = ""
    #: Whether ``expected`` shows a reference value (then it is not shown for hidden cases).
    reveals: bool = True
    hint: str | None = None
    #: Why the case has no value from the student's code (an exception, a limit, skipped).
    problem: str | None = None


@dataclass
class ItemResult:
    name: str
    points: float
    cases: list[CaseResult]
    #: Advice from the pattern of the cases (the notebook's pass, the hidden ones fail).
    hint: str | None = None

    @property
    def credit(self) -> float:
        return sum(c.credit for c in self.cases) / len(self.cases) if self.cases else 0.0

    @property
    def score(self) -> float:
        return self.points * self.credit


@dataclass
class QuestionResult:
    label: str
    title: str
    points: float
    items: list[ItemResult]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: The end of what the student's code printed during this question's run.
    output: str = ""
    #: The questions whose code this one runs too.
    depends: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """Rounded to 2 decimals, as reported (the items' shares are not)."""
        return round(sum(item.score for item in self.items), 2)


@dataclass
class SubmissionResult:
    name: str
    path: Path | None
    questions: list[QuestionResult]
    #: What stopped every question (no mlp.py, an import that fails, ...), if anything did.
    problem: str | None = None
    seconds: float = 0.0
    #: Whether the student's code ran in the jail (``--no-jail`` says no).
    jailed: bool = True

    @property
    def score(self) -> float:
        return round(sum(item.score for q in self.questions for item in q.items), 2)

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)


class Grader:
    """Grades submissions against the problem set's checks; one per grading session (the
    reference values are computed once). Thread-safe: ``grade`` may run in several threads.

    full: the MNIST questions on the full MNIST and the problem set's figures. limits: replaces
    ``LIMITS`` entries ("toy", "mnist", "mnist-full"). jail: run the students' code in the
    jail (JailError if none can be made here); False runs it without one, for a student
    checking their own work. secret: draws the hidden cases (random if not given; the same
    secret gives the same cases).
    """

    def __init__(self, full: bool = False, limits: dict[str, Limits] | None = None,
                 jail: bool = True, secret: int | None = None) -> None:
        if jail and (reason := unavailable()):
            raise JailError(f"{reason}; or --no-jail to grade without a jail (for a student "
                            "checking their own work: it does not stop cheating)")
        self.full, self.jail = full, jail
        secret = int.from_bytes(os.urandom(8), "little") if secret is None else int(secret)
        self.questions = build_questions(full, secret)
        self.limits = {**LIMITS, **(limits or {})}
        self._utils = template_text("utils.py")
        self._references = References(self.questions, full, secret)

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._references.close()

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)

    def reference(self, task: Task) -> dict[str, Any]:
        return self._references.get(task)

    def grade(self, submission: os.PathLike | str, name: str | None = None) -> SubmissionResult:
        """Grade one submission: an ``mlp.py``, a folder holding one, or a folder holding a
        folder that holds one (a zipped folder)."""
        start = time.monotonic()
        path = Path(submission)
        name = name or (path.resolve().parent.name if path.is_file() else path.resolve().name)
        try:
            source_path = find_source(path)
            source = read_source(source_path)
        except (OSError, ValueError) as exc:
            return self._failed(name, None, str(exc), start)
        problem = self._preflight(source)
        if problem:
            return self._failed(name, source_path, problem, start)
        # (method, activation) -> the question where that method ran past a limit on that
        # network: a loop in the ReLU path does not cost the sigmoid network's questions.
        hung: dict[tuple[str, str | None], str] = {}
        results = [self._question(q, source, hung) for q in self.questions]
        return SubmissionResult(name, source_path, results, None, time.monotonic() - start,
                                self.jail)

    def _failed(self, name: str, path: Path | None, problem: str,
                start: float) -> SubmissionResult:
        questions = [QuestionResult(q.label, q.title, q.points,
                                    [ItemResult(item.name, item.points, []) for item in q.items],
                                    [f"not graded: {problem}"], depends=q.depends)
                     for q in self.questions]
        return SubmissionResult(name, path, questions, problem, time.monotonic() - start,
                                self.jail)

    # -- the runs ----------------------------------------------------------------------------

    def _preflight(self, source: bytes) -> str | None:
        """Import the file and check its API; the problem in words, or None."""
        records, outcome = self._run(source, [{"id": "api", "op": "api"}], {},
                                     self.limits["toy"])
        imported = records.get("import")
        if imported is None or "ok" not in imported:
            return "mlp.py could not be imported: " + _ended(outcome, "finishing the import")
        if not imported["ok"]:
            return "mlp.py could not be imported: " + describe_error(imported["error"], outcome)
        api = records.get("api")
        if api is None or not api.get("ok"):
            return "mlp.py could not be checked: " + _ended(outcome, "finishing the check")
        value = api.get("value")
        missing = value.get("missing") if isinstance(value, dict) else None
        if not isinstance(missing, list):
            return "mlp.py could not be checked"
        if missing:
            return f"mlp.py has no {', '.join(map(str, missing))}"
        return None

    def _question(self, question: Question, source: bytes,
                  hung: dict[tuple[str, str | None], str]) -> QuestionResult:
        start = time.monotonic()
        skipped = {task.id: f"skipped: {method}() ran past the time limit in "
                            f"{hung[method, _activation(task)]}"
                   for task in question.tasks for method in ("__init__", *task.needs)
                   if (method, _activation(task)) in hung}
        tasks = [t for t in question.tasks if t.id not in skipped]
        arrays = {k: v for t in tasks for k, v in t.arrays.items()}
        kind = "mnist-full" if question.kind == "mnist" and self.full else question.kind
        limits = self.limits[kind]
        records, outcome = (self._run(source, [t.probe_task() for t in tasks], arrays,
                                      limits) if tasks else ({}, None))
        stopped = None  # the case during which the run was stopped at a time limit
        for task in tasks:
            method = _stopped_in(records.get(task.id), outcome, task)
            if method is not None:
                if _ran_long(records.get(task.id), limits):
                    hung.setdefault((method, _activation(task)), question.label)
                stopped = stopped or task.label
        items = []
        for item in question.items:
            cases = [self._case(task, item, records, outcome, skipped, stopped)
                     for task in item.tasks]
            items.append(ItemResult(item.name, item.points, cases, _hidden_only(cases)))
        result = QuestionResult(question.label, question.title, question.points, items,
                                seconds=time.monotonic() - start,
                                output=outcome.output if outcome else "",
                                depends=question.depends)
        if question.pattern is not None:
            note = question.pattern({i.name.removeprefix("d"): i.credit for i in items})
            if note:
                result.notes.append(note)
        if outcome is not None and outcome.printed_too_much:
            result.notes.append(f"mlp.py {outcome.reason()}: the cases from there on failed")
        return result

    def _case(self, task: Task, item, records: dict, outcome: Outcome | None,
              skipped: dict[str, str], stopped: str | None) -> CaseResult:
        base = {"label": task.label, "hidden": task.hidden}
        if task.id in skipped:
            return CaseResult(**base, credit=0, problem=skipped[task.id])
        record = records.get(task.id)
        if record is None and stopped is not None:
            return CaseResult(**base, credit=0, problem="not run: the run was stopped at the "
                              f"time limit during {stopped}")
        if record is None or "ok" not in record:
            what = "finishing this case" if record is not None else "reaching this case"
            return CaseResult(**base, credit=0, problem=_ended(outcome, what))
        if not record["ok"]:
            return CaseResult(**base, credit=0,
                              problem=describe_error(record["error"], outcome))
        try:
            found = decode_value(record.get("value"))
        except ValueError as exc:
            return CaseResult(**base, credit=0, problem=f"its result could not be read ({exc})")
        verdict: Verdict = item.judge(found, self.reference(task), task)
        return CaseResult(**base, credit=float(verdict.credit), found=verdict.found,
                          expected=verdict.expected, reveals=verdict.reveals, hint=verdict.hint)

    def _run(self, source: bytes, tasks: list[dict], arrays: dict[str, np.ndarray],
             limits: Limits) -> tuple[dict[str, dict], Outcome]:
        with tempfile.TemporaryDirectory(prefix="mlp-grade-") as tmp:
            os.chmod(tmp, 0o711)  # the jail's uid reaches the folder, which is its own
            work = Path(tmp, "ps4")
            work.mkdir()
            (work / "mlp.py").write_bytes(source)
            (work / "utils.py").write_text(self._utils, encoding="utf-8")
            shutil.copyfile(PROBE, work / PROBE.name)
            (work / "tasks.json").write_text(json.dumps(tasks), encoding="utf-8")
            np.savez(work / "arrays.npz", **arrays)
            outcome = run(PROBE.name, work, limits, jail=self.jail)
            return read_results(outcome.results), outcome


# -- submissions --------------------------------------------------------------------------------


def find_source(path: Path) -> Path:
    """The ``mlp.py`` of a submission: the file itself, or the one in the folder (at its top,
    else the shallowest one below it, as in a zipped folder)."""
    if path.is_symlink():
        raise ValueError(f"{path}: a symbolic link; give the file itself")
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    found = sorted((p for p in path.rglob("mlp.py") if "__MACOSX" not in p.parts),
                   key=lambda p: (len(p.relative_to(path).parts), str(p)))
    if not found:
        raise FileNotFoundError(f"{path}: no mlp.py in this folder")
    return found[0]


def read_source(path: Path) -> bytes:
    if path.is_symlink() or not path.is_file():
        raise ValueError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise ValueError(f"{path}: {size:,} bytes, more than the {MAX_SOURCE_BYTES:,} a "
                         "submission may have")
    return path.read_bytes()


def is_class_folder(path: Path) -> bool:
    """A folder of students' folders (not a submission itself): no mlp.py at its top, and
    sub-folders."""
    return (path.is_dir() and not (path / "mlp.py").exists()
            and any(p.is_dir() for p in path.iterdir()))


def student_folders(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir()
                   if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")),
                  key=lambda p: p.name)


# -- reading what the probe wrote -----------------------------------------------------------------


def read_results(data: bytes) -> dict[str, dict]:
    """The probe's records by task id: the last line of each id wins (the begin line is
    replaced by the result). Lines that do not parse are ignored."""
    records: dict[str, dict] = {}
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if _well_formed(record):
            records[record["id"]] = record
    return records


def _well_formed(record: Any) -> bool:
    """A begin line ``{"id", "begin"}`` or a result ``{"id", "ok", "value" | "error"}`` (the
    student's code runs in the same process and could write anything into the file)."""
    if not (isinstance(record, dict) and isinstance(record.get("id"), str)):
        return False
    if "ok" not in record:
        return record.get("begin") is True
    if record["ok"] is True:
        return True
    return record["ok"] is False and isinstance(record.get("error"), dict)


#: What a task's result may hold: an array, or a dictionary of arrays by name.
_VALUES = {"scores": "array", "loss": "array", "labels": "array", "grads": "arrays",
           "numeric": "arrays", "history": "arrays", "params": "arrays"}
#: The most entries an array from the probe may have (MNIST's W1 has 784 * 64).
MAX_ENTRIES = 1 << 20


def decode_value(value: Any) -> dict[str, Any]:
    """A task's result from the probe's JSON, its arrays (``{"shape", "data"}``) as float64
    arrays; ValueError unless it has exactly the expected form."""
    if not isinstance(value, dict):
        raise ValueError("not a dictionary")
    out: dict[str, Any] = {}
    for key, item in value.items():
        kind = _VALUES.get(key)
        if kind == "array":
            out[key] = _array(item)
        elif kind == "arrays" and isinstance(item, dict):
            out[key] = {str(k): _array(v) for k, v in item.items()}
        else:
            raise ValueError(f"an unexpected entry {str(key)[:20]!r}")
    return out


def _array(value: Any) -> np.ndarray:
    """An array as the probe sends it, ``{"npy": BASE64}``, read without pickle; ValueError
    unless it is a numeric array of at most 4 dimensions and ``MAX_ENTRIES`` entries."""
    if not (isinstance(value, dict) and set(value) == {"npy"} and isinstance(value["npy"], str)):
        raise ValueError("an array that does not hold together")
    try:
        raw = base64.b64decode(value["npy"], validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, binascii.Error, OSError, EOFError) as exc:
        raise ValueError("an array that does not hold together") from exc
    if not (isinstance(array, np.ndarray) and array.dtype.kind in "biuf" and array.ndim <= 4
            and array.size <= MAX_ENTRIES):
        raise ValueError("an array that does not hold together")
    return array.astype(np.float64)


def describe_error(error: Any, outcome: Outcome | None) -> str:
    """An exception from the student's code in words: no traceback, the place in mlp.py."""
    if not isinstance(error, dict):
        return "it failed"
    kind, message = clean(error.get("type", ""), 60), clean(error.get("message", ""), 300)
    where = clean(error.get("where") or "", 200)
    at = f" (at {where})" if where else ""
    if kind == "NotImplementedError":
        return f"not implemented yet ({message})" if message else "not implemented yet"
    if kind == "Stopped":
        limits = outcome.limits if outcome else None
        limit = (f" ({limits.wall_seconds:g} s)" if limits and "wall" in message
                 else f" ({limits.cpu_seconds} s)" if limits else "")
        return f"ran past {message}{limit}{at}"
    if kind == "MemoryError":
        mb = outcome.limits.memory_bytes // MB if outcome else None
        return f"ran out of memory (the limit is {mb} MB){at}"
    if kind == "SystemExit":
        return f"{message}{at}: mlp.py must not exit"
    if kind == "OSError" and "File too large" in message and outcome is not None:
        return f"{outcome.reason() or 'printed too much'}{at}"
    text = f"{kind}: {message}" if message else kind
    if where and "self.predict(" in where:
        text += "; train compares predict's output with the labels, so predict must return one "
        text += "label per row (see the predict check)"
    return text + at


def _ended(outcome: Outcome | None, what: str) -> str:
    """Why the process ended before ``what`` (was done)."""
    if outcome is None:
        return "not run"
    reason = outcome.reason()
    if reason:
        return f"the process {reason} before {what}"
    return (f"the process ended (exit status {outcome.returncode}) before {what}: does mlp.py "
            "call os._exit() or otherwise end the interpreter?")


def _hidden_only(cases: list[CaseResult]) -> str | None:
    """The notebook's cases pass, hidden ones fail, and no case says why."""
    visible = [c for c in cases if not c.hidden]
    failed = [c for c in cases if c.credit < 1]
    if visible and all(c.credit == 1 for c in visible) and failed and not any(
            c.hint or c.problem for c in failed):
        return ("the notebook's case passes but hidden ones fail: is a size, a seed or a value "
                "of the notebook's case written into the code, or is it a case the notebook's "
                "data cannot show (its biases are all zero)?")
    return None


def _activation(task: Task) -> str | None:
    """The hidden activation of the network a task runs (its code path in the student's
    file), or None."""
    net = task.spec.get("net")
    return net.get("activation") if isinstance(net, dict) else None


def _ran_long(record: dict | None, limits: Limits) -> bool:
    """Whether the case stopped at a time limit had itself run for half its run's time (the
    CPU limit, or the wall-clock time before the probe stops itself, whichever is shorter) or
    more, or for an unknown time: a method that hangs, which later questions skip. A case
    stopped after a short run found the budget spent by the cases before it (each slow, not
    endless), and costs only the rest of its own question."""
    seconds = (record or {}).get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return True
    budget = min(limits.cpu_seconds, limits.soft_wall_seconds)
    return not seconds < budget / 2


def _stopped_in(record: dict | None, outcome: Outcome | None, task: Task) -> str | None:
    """The student's method that ran past a time limit in this task, if it did."""
    if record is not None and record.get("ok") is False:
        error = record.get("error") or {}
        if error.get("type") == "Stopped":
            stack = error.get("stack")
            stack = [m for m in stack if m in METHODS] if isinstance(stack, list) else []
            return stack[-1] if stack else task.needs[0]  # the innermost of the API
        return None
    if record is not None and "begin" in record and outcome is not None and (
            outcome.timed_out or outcome.reason() and "time" in outcome.reason()):
        return task.needs[0]
    return None


def _grade_one(grader: Grader, path: Path) -> SubmissionResult:
    """One student of a class: a failure of the grader itself costs this student's grading
    alone, and says so."""
    start = time.monotonic()
    try:
        return grader.grade(path, path.name)
    except Exception as exc:  # the class goes on; the gradebook names the error
        return grader._failed(path.name, None, f"grader error, not yours ({type(exc).__name__}: "
                              f"{exc}); the teacher will regrade", start)


def grade_class(grader: Grader, folder: Path, workers: int = 1,
                on_result: Callable[[SubmissionResult], None] | None = None,
                ) -> list[SubmissionResult]:
    """Grade each student's folder in ``folder`` (``workers`` at once); results in the
    folders' order. ``on_result`` sees each result as it is done."""
    students = student_folders(folder)
    results: dict[Path, SubmissionResult] = {}
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="mlp-grade") as pool:
        futures = {pool.submit(_grade_one, grader, path): path for path in students}
        for future in as_completed(futures):
            results[futures[future]] = result = future.result()
            if on_result is not None:
                on_result(result)
    return [results[path] for path in students]
