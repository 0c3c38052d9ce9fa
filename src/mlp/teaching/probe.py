"""Runs inside the jail: imports a student's ``mlp.py`` and records what it computes.

    python -I -S probe.py WORKDIR RESULTS_FD SECONDS

WORKDIR holds the student's ``mlp.py``, ``tasks.json`` (what to compute) and ``arrays.npz``
(the inputs). The results go to the pipe RESULTS_FD as JSON lines: for each task a line
``{"id", "begin": true}`` before it runs and ``{"id", "ok": true, "value": ...}`` or
``{"id", "ok": false, "error": {...}}`` after, so that the grader knows which task was running
if the process is stopped, and ``{"done": true}`` when all are done. Arrays travel as
``{"npy": BASE64}``, the bytes of ``np.save`` (read back with ``allow_pickle=False``).

This file is run by path with NumPy and the standard library only: it must never import the
``mlp`` library, whose name the student's file takes. It computes nothing to compare with; the
grader holds the reference values and does the judging.
"""

import base64
import contextlib
import io
import json
import os
import signal
import sys
import time
import traceback

import numpy as np

#: A result longer than this many characters is not recorded (the grader reads no more than
#: its output limit, 2 MB by default).
MAX_LINE = 1_500_000


class Stopped(BaseException):
    """A limit was reached (SECONDS of wall-clock time, an alarm set a little before the
    grader's own hard limit, or the CPU limit's SIGXCPU). A BaseException, so that the
    student's ``except Exception`` does not swallow it."""


def _stop(signum, frame):
    raise Stopped("the wall-clock time limit" if signum in (signal.SIGALRM, signal.SIGTERM)
                  else "the CPU time limit")


class Results:
    """The results pipe, written line by line."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, record):
        line = json.dumps(record)
        if len(line) > MAX_LINE:
            line = json.dumps({"id": record.get("id"), "ok": False, "error": {
                "type": "OutputTooLarge", "message": "the result was too large to record",
                "where": None}})
        data = (line + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


def encode(value, what):
    """A float array as ``np.save``'s bytes in base64; a clear error if ``value`` is not
    one."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise Wrong(f"{what} must be a number array; got {type(value).__name__}") from exc
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


class Wrong(Exception):
    """A student's function returned something of the wrong kind."""


def where(exc, student_file):
    """``mlp.py, line N, in f: code`` for the innermost frame of the student's file."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == student_file:
            found = frame
    if found is None:
        return None
    code = (found.line or "").strip()
    return f"mlp.py, line {found.lineno}, in {found.name}" + (f": {code}" if code else "")


def describe(exc, student_file):
    message = str(exc)
    if isinstance(exc, SystemExit):
        message = f"sys.exit({exc.code!r}) was called"
    return {"type": type(exc).__name__, "message": message[:2000],
            "where": where(exc, student_file),
            "stack": [f.name for f in traceback.extract_tb(exc.__traceback__)
                      if os.path.abspath(f.filename) == student_file][-20:]}


# -- the tasks -----------------------------------------------------------------------------------


class Inputs:
    def __init__(self, path):
        self.npz = np.load(path, allow_pickle=False)

    def __call__(self, key):
        if key is None:
            return None
        a = self.npz[key]
        return a.astype(np.float64) if a.dtype == np.uint8 else a


def build(module, spec, inputs):
    """The student's network: seeded, built, and given the task's parameters if it has them."""
    if spec.get("seed") is not None:
        np.random.seed(spec["seed"])
    D, H, C = spec["sizes"]
    net = module.TwoLayerMLP(D, H, C, std=spec["std"], activation=spec["activation"])
    if spec.get("params"):
        params = getattr(net, "params", None)
        if not isinstance(params, dict):
            raise Wrong("the network has no dictionary self.params")
        for name in ("W1", "b1", "W2", "b2"):
            params[name] = inputs(spec["params"] + name).copy()
    return net


def loss_and_grads(net, X, y, reg):
    out = net.loss(X, y, reg=reg)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise Wrong(f"loss(X, y) must return a tuple (loss, grads); got {type(out).__name__}")
    loss, grads = out
    if not isinstance(grads, dict):
        raise Wrong(f"loss(X, y) must return grads as a dictionary; got {type(grads).__name__}")
    return loss, grads


def run_loss(module, task, inputs):
    net = build(module, task["net"], inputs)
    X, y = inputs(task["X"]), inputs(task["y"])
    if y is None:
        return {"scores": encode(net.loss(X), "loss(X) (the scores)")}
    loss, grads = loss_and_grads(net, X, y, task["reg"])
    value = {"loss": encode(loss, "the loss"),
             "grads": {k: encode(v, f"grads[{k!r}]") for k, v in grads.items()
                       if k in ("W1", "b1", "W2", "b2")}}
    if task.get("numeric"):
        value["numeric"] = own_numeric_gradients(net, X, y, task["reg"])
    return value


def own_numeric_gradients(net, X, y, reg):
    """Centred differences of the student's own loss: does the backward pass agree with the
    forward pass it goes with? Uses the folder's utils.py, as the notebook does."""
    import utils

    numeric = {}
    try:
        for name in ("W1", "b1", "W2", "b2"):
            param = net.params[name]
            if isinstance(param, np.ndarray) and param.dtype == np.float64:
                numeric[name] = encode(utils.eval_numerical_gradient(
                    lambda _: float(net.loss(X, y, reg=reg)[0]), param, verbose=False), name)
    except Exception:  # only a diagnostic: the task's own values stand without it
        return {}
    return numeric


def run_predict(module, task, inputs):
    net = build(module, task["net"], inputs)
    return {"labels": encode(net.predict(inputs(task["X"])), "predict(X)")}


def run_train(module, task, inputs):
    net = build(module, task["net"], inputs)
    data = [inputs(task[k]) for k in ("X", "y", "X_val", "y_val")]
    stats = net.train(*data, **task["options"])
    if not isinstance(stats, dict):
        raise Wrong(f"train must return a dictionary of histories; got {type(stats).__name__}")
    value = {"history": {k: encode(stats[k], k) for k in task["history"] if k in stats}}
    if task.get("trained"):
        value["params"] = trained_params(net)
    return value


def trained_params(net):
    """The trained network's parameters: the grader measures their accuracy on data that
    never enters the jail."""
    params = getattr(net, "params", None)
    if not isinstance(params, dict):
        raise Wrong("the network has no dictionary self.params")
    return {name: encode(params.get(name), f"params[{name!r}]")
            for name in ("W1", "b1", "W2", "b2")}


def run_api(module, task, inputs):
    cls = getattr(module, "TwoLayerMLP", None)
    if not isinstance(cls, type):
        return {"missing": ["the class TwoLayerMLP"]}
    return {"missing": [f"TwoLayerMLP.{name}" for name in ("loss", "train", "predict")
                        if not callable(getattr(cls, name, None))]}


OPS = {"loss": run_loss, "predict": run_predict, "train": run_train, "api": run_api}


def main(workdir, results_fd, seconds):
    for signum in (signal.SIGALRM, signal.SIGTERM, signal.SIGXCPU):
        signal.signal(signum, _stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file too large: an OSError, not a kill
    results = Results(results_fd)
    try:
        run_tasks(workdir, results)
    finally:
        # Threads or processes the student's code left running cannot hold the run up.
        with contextlib.suppress(BaseException):
            results.write({"done": True})
        os._exit(0)


def run_tasks(workdir, results):
    with open(os.path.join(workdir, "tasks.json")) as f:
        tasks = json.load(f)
    inputs = Inputs(os.path.join(workdir, "arrays.npz"))
    student_file = os.path.abspath(os.path.join(workdir, "mlp.py"))
    sys.path.insert(0, workdir)
    results.write({"id": "import", "begin": True})
    try:
        import mlp as module
    except BaseException as exc:  # anything at all: the student's module runs here
        results.write({"id": "import", "ok": False, "error": describe(exc, student_file)})
        return
    results.write({"id": "import", "ok": True, "value": {}})
    for task in tasks:
        results.write({"id": task["id"], "begin": True})
        start = time.perf_counter()
        try:
            value = OPS[task["op"]](module, task, inputs)
            record = {"id": task["id"], "ok": True, "value": value}
        except Stopped as exc:
            results.write({"id": task["id"], "ok": False, "error": describe(exc, student_file),
                           "seconds": time.perf_counter() - start})
            return
        except BaseException as exc:
            record = {"id": task["id"], "ok": False, "error": describe(exc, student_file)}
        record["seconds"] = time.perf_counter() - start
        results.write(record)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
