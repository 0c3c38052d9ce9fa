"""``mlp grade --export-otter DIR``: the checks as otter-grader test files, for courses that grade
with otter (https://otter-grader.readthedocs.io).

One exception-based test file per question (``q2_1.py`` ... ``q2_5_2.py``), one test case per
case of each item, worth the item's points divided among its cases as ``mlp grade`` divides them
(an MNIST accuracy is two cases: half the points at the half-credit bar, half at the threshold).
The cases run in the environment of the student's executed notebook and call its
``TwoLayerMLP``; the MNIST cases load the data with the folder's ``utils.get_MNIST_data``, so the
autograder needs the assignment's ``utils.py`` and ``data/`` beside the notebook.

Otter has no way to compute reference values while grading: they are computed by this library
when the files are written and stored in them, with the hidden cases' inputs. Hidden cases are
marked ``hidden=True``, which otter shows to students only after grades are published. What
``mlp grade`` adds, and otter cannot: running each question in a sandbox with limits, and the
hints for common mistakes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..atomic import write_text_atomic
from .checks import (
    MARGIN,
    MONITOR,
    TOLERANCE,
    Item,
    Question,
    Task,
    build_questions,
    half_credit,
    mnist,
)
from .reference import References

_HELPERS = '''\
from otter.test_files import test_case
import numpy as np

OK_FORMAT = False

name = {name!r}

TOLERANCE = {tolerance!r}


def _rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"shape {{a.shape}}, expected {{b.shape}}"
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0))


def _same(found, expected, what):
    error = _rel_error(found, expected)
    assert error <= TOLERANCE, f"{{what}}: relative error {{error:.1e}}, more than {{TOLERANCE}}"


def _net(TwoLayerMLP, sizes, std, activation, seed, params):
    """The student's network, seeded as the notebook seeds it, or given these parameters."""
    if seed is not None:
        np.random.seed(seed)
    net = TwoLayerMLP(*sizes, std=std, activation=activation)
    for key, value in (params or {{}}).items():
        net.params[key] = np.array(value, dtype=float)
    return net


_TRAINED = {{}}


def _train(TwoLayerMLP, key, net, data, options):
    """Train once per run and file; the cases of a run share it."""
    if key not in _TRAINED:
        model = _net(TwoLayerMLP, **net)
        stats = model.train(*data, **options)
        _TRAINED[key] = model, {{k: np.asarray(v, dtype=float) for k, v in stats.items()}}
    return _TRAINED[key]


def _mnist(first_row, monitor):
    """The run's training rows, the held-out rows its train reports on, and the scored sets."""
    from utils import get_MNIST_data

    X_train, y_train, X_val, y_val, X_test, y_test = get_MNIST_data()
    assert len(X_train) == {n_train}, (
        "these tests were written for {n_train} training images; get_MNIST_data gave "
        f"{{len(X_train)}}: use the data the assignment came with")
    return (X_train[first_row:], y_train[first_row:], X_train[:monitor], y_train[:monitor],
            X_val, y_val, X_test, y_test)
'''


def export_otter(folder: os.PathLike | str, full: bool = False) -> list[Path]:
    """Write one otter test file per question into ``folder`` (created); returns the files.
    full: the MNIST cases on the full MNIST, with the problem set's figures."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # The hidden cases of these files are drawn afresh: the files hold them (keep them secret).
    secret = int.from_bytes(os.urandom(8), "little")
    questions = build_questions(full, secret)
    references = References(questions, full, secret)
    n_train = len(mnist(full).X_train)
    try:
        return [write_text_atomic(folder / f"{q.label.lower().replace('.', '_')}.py",
                                  _test_file(q, references, n_train, full))
                for q in questions]
    finally:
        references.close()


def _test_file(question: Question, references: References, n_train: int, full: bool) -> str:
    data = "the full MNIST" if full else "the bundled 6,000-image MNIST subset"
    lines = [f'"""{question.label} {question.title} ({question.points:g} points): otter-grader '
             f"tests written by `mlp grade --export-otter` (mlp {__version__}), MNIST cases on "
             f'{data}."""', "",
             _HELPERS.format(name=question.label.lower().replace(".", "_"), tolerance=TOLERANCE,
                             n_train=n_train)]
    number = 0
    for item in question.items:
        for task in item.tasks:
            for points, body in _cases(question, item, task, references.get(task)):
                number += 1
                share = points / len(item.tasks)
                title = f"{question.label} {item.name}: {task.label}"
                lines += ["", "",
                          f"@test_case(name={title!r}, points={share!r}, "
                          f"hidden={task.hidden!r})",
                          f"def case_{number}(env):",
                          *["    " + line for line in body]]
    return "\n".join(lines) + "\n"


def _cases(question: Question, item: Item, task: Task,
           ref: dict[str, Any]) -> list[tuple[float, list[str]]]:
    """(points, the function's body) for each otter case of this item and task."""
    spec = task.spec
    net = dict(spec["net"])
    if net.get("params"):
        net["params"] = {k: task.arrays[net["params"] + k].tolist() for k in
                         ("W1", "b1", "W2", "b2")}
    build = f"net = _net(env['TwoLayerMLP'], **{net!r})"
    if task.op == "loss":
        X, y = _literal(task.arrays[spec["X"]]), _literal(task.arrays.get(spec["y"] or ""))
        if item.name == "scores":
            return [(item.points, [build, f"_same(net.loss({X}), {_literal(ref['scores'])}, "
                                   "'the scores')"])]
        call = f"net.loss({X}, {y}, reg={spec['reg']!r})"
        if item.name == "loss":
            return [(item.points, [build, f"_same({call}[0], {float(ref['loss'])!r}, 'the loss')"])]
        name = item.name.removeprefix("d")
        expected = _literal(ref["grads"][name])
        return [(item.points, [build, f"_same({call}[1][{name!r}], {expected}, "
                               f"\"grads[{name!r}]\")"])]
    if task.op == "predict":
        return [(item.points, [build, f"labels = net.predict({_literal(task.arrays[spec['X']])})",
                               f"assert np.array_equal(labels, {_literal(ref['labels'])}), "
                               "f'labels {labels}'"])]
    return _training_cases(question, item, task, ref)


def _training_cases(question: Question, item: Item, task: Task,
                    ref: dict[str, Any]) -> list[tuple[float, list[str]]]:
    spec = task.spec
    options = spec["options"]
    if question.kind == "mnist":
        data = ("X, y, X_monitor, y_monitor, X_val, y_val, X_test, y_test = "
                f"_mnist({spec['first_row']!r}, {MONITOR!r})")
        run = (f"net, stats = _train(env['TwoLayerMLP'], {task.id!r}, {spec['net']!r}, "
               f"(X, y, X_monitor, y_monitor), {options!r})")
        if item.name == "training":
            epochs = len(ref["history"]["val_acc_history"])
            return [(item.points, [data, run, "losses = stats['loss_history']",
                                   "assert np.isfinite(losses).all(), 'the loss is not finite'",
                                   f"epochs = losses.reshape({epochs}, -1).mean(axis=1)",
                                   "assert epochs[-1] < epochs[0], 'the loss does not decrease'"])]
        which = "val" if item.name.startswith("validation") else "test"
        threshold = float(ref["threshold"][which])
        cases = []
        for points, bar in ((item.points / 2, half_credit(ref, which)),
                            (item.points / 2, threshold)):
            accuracy = f"float(np.mean(net.predict(X_{which}) == y_{which}))"
            cases.append((points, [data, run, f"accuracy = {accuracy}",
                                   f"assert accuracy >= {bar!r}, f'{which} accuracy "
                                   f"{{accuracy:.4f}}, expected at least {bar:.4f} (the "
                                   f"reference, {ref['reached'][which]:.4f}, less {MARGIN:g}"
                                   f"{'' if bar == threshold else ' and more'})'"]))
        return cases
    data = ", ".join(_literal(task.arrays[spec[k]]) for k in ("X", "y", "X_val", "y_val"))
    body = [f"net, stats = _train(env['TwoLayerMLP'], {task.id!r}, {spec['net']!r}, ({data}), "
            f"{options!r})"]
    history = ref["history"]
    if item.name in ("training losses", "training"):
        body.append(f"_same(stats['loss_history'], {_literal(history['loss_history'])}, "
                    "'the training losses')")
    if item.name in ("training accuracies", "training"):
        for key in ("train_acc_history", "val_acc_history"):
            body.append(f"_same(stats[{key!r}], {_literal(history[key])}, {key!r})")
    return [(item.points, body)]


def _literal(array: np.ndarray | None) -> str:
    """A NumPy array as Python source that rebuilds it exactly."""
    if array is None:
        return "None"
    array = np.asarray(array)
    kind = "int" if np.issubdtype(array.dtype, np.integer) else "float"
    return f"np.array({array.tolist()!r}, dtype={kind})"
