"""One answer to each question through every door: the same CSV file gives the same task, output
layer and verdict through ``mlp train --data`` (the real command), the estimators
(``mlp.estimators.fit_csv``) and the playground's upload (the real ``mlp playground`` server,
over its WebSocket); the same model file gives the same verdict through ``mlp predict``,
``mlp info`` and the playground's digits tab."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from test_cli import mlp

from mlp import MLP, save
from mlp.serialization import load_with_metadata

pytest.importorskip("sklearn")
websockets = pytest.importorskip("websockets.sync.client")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ROWS = 40
_rng = np.random.default_rng(0)
_X = _rng.uniform(-1, 1, (ROWS, 2)).round(4)


def _table(targets, header: bool = True) -> str:
    lines = [f"{a},{b},{t}" for (a, b), t in zip(_X, targets, strict=True)]
    return "\n".join((["x1,x2,y"] if header else []) + lines) + "\n"


#: name -> (text, expected (task, output, units) or the error's text after "<file>: ").
CSV_CASES = {
    "binary": (_table(["yes" if a > 0 else "no" for a, _ in _X]),
               ("classification", "sigmoid", 1)),
    "digits": (_table([i % 10 for i in range(ROWS)]), ("classification", "softmax", 10)),
    "float": (_table([f"{a + 2 * b:.3f}" for a, b in _X]), ("regression", "linear", 1)),
    "stray_text": (_table([f"{a:.3f}" for a, _ in _X[:-1]] + ["n/a"]),
                   f"data row {ROWS}, column 'y': 'n/a' is not a number, but the column's other "
                   "values are numbers"),
    "no_header": (_table([i % 2 for i in range(ROWS)], header=False),
                  "line 1 must name the columns, but it holds numbers"),
}


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    paths = {}
    for name, (text, _) in CSV_CASES.items():
        paths[name] = folder / f"{name}.csv"
        paths[name].write_text(text)
    return paths


@pytest.fixture(scope="module")
def playground():
    """The real ``mlp playground`` command on 127.0.0.1, and a function that opens a tab."""
    proc = subprocess.Popen([sys.executable, "-m", "mlp", "playground", "--no-browser", "--port",
                             "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    url = re.search(r"serving on http://(\S+) \(Ctrl-C stops\)", line).group(1).rstrip("/")

    @contextlib.contextmanager
    def tab():
        with websockets.connect(f"ws://{url}/ws", max_size=64 << 20) as ws:
            ws.send(json.dumps({"type": "hello", "query": ""}))
            _until(ws, "frame")
            yield ws

    yield tab
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "Traceback" not in err, err


def _until(ws, *kinds) -> dict:
    """The next message of one of ``kinds``, or an error message."""
    while True:
        msg = json.loads(ws.recv(timeout=60))
        if msg["type"] in (*kinds, "error"):
            return msg


def _verdict_of_message(text: str, name: str):
    """The part of an error message after the file's name."""
    assert name in text, text
    return text[text.index(name) + len(name) + 2:]


# -- the same CSV, the same task, head and verdict -----------------------------------------------


def through_the_command(path, tmp_path):
    out = tmp_path / "run"
    result = mlp("train", "--data", path, "--target", "y", "--epochs", "1", "--hidden", "4",
                 "--val-size", "0.2", "--test-size", "0.2", "--no-plots", "--quiet",
                 "--out", out)
    if result.returncode:
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        return _verdict_of_message(result.stderr.strip(), path.name)
    metrics = json.loads((out / "metrics.json").read_text())
    model, _ = load_with_metadata(out / "model.npz")
    assert metrics["architecture"]["output"] == model.output
    return model.head.task, model.output, model.output_size


def through_the_estimators(path, tmp_path):
    from mlp.estimators import fit_csv

    try:
        est = fit_csv(path, "y", hidden_layer_sizes=(4,), max_iter=2)
    except ValueError as exc:
        return _verdict_of_message(str(exc), path.name)
    model = est.model_
    if model.head.task == "classification":  # scikit-learn's outputs, whatever the head
        assert est.predict_proba(np.zeros((3, 2))).shape == (3, len(est.classes_))
    return model.head.task, model.output, model.output_size


def through_the_playground(path, tab):
    with tab() as ws:
        ws.send(json.dumps({"type": "upload", "name": path.name, "text": path.read_text()}))
        msg = _until(ws, "config")
        if msg["type"] == "error":
            return _verdict_of_message(msg["message"], path.name)
        assert msg["upload"] is True
        ws.send(json.dumps({"type": "export_model"}))
        exported = _until(ws, "file")
        model_file = path.parent / f"{path.stem}-playground.npz"
        model_file.write_bytes(base64.b64decode(exported["base64"]))
        model, _ = load_with_metadata(model_file)
        return model.head.task, model.output, model.output_size


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_a_csv_gets_one_task_head_and_verdict_through_every_door(case, csv_files, tmp_path,
                                                                 playground):
    path, expected = csv_files[case], CSV_CASES[case][1]
    verdicts = {"command": through_the_command(path, tmp_path),
                "estimators": through_the_estimators(path, tmp_path),
                "playground": through_the_playground(path, playground)}
    for door, verdict in verdicts.items():
        if isinstance(expected, str):
            assert isinstance(verdict, str) and verdict.startswith(expected), (door, verdict)
        else:
            assert verdict == expected, door
    assert len(set(verdicts.values())) == 1, verdicts


# -- the same model file, the same verdict -------------------------------------------------------


def _crafted(folder, name: str, extra: dict | None = None, change=None):
    path = save(MLP(784, [8], 10, seed=0), folder / f"{name}.npz", extra=extra or {})
    if change:
        change(path)
    return path


def _claim_a_huge_layer(path):
    """The metadata claims a 784-400000-10 network; the arrays stay small."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    raw = np.load(path)["metadata"].tobytes()
    meta = json.loads(raw)
    meta["hidden_sizes"] = [400_000]
    meta["layers"][0]["out_features"] = 400_000
    meta["layers"][2]["in_features"] = 400_000
    meta["params"]["W1"] = [784, 400_000]
    _rewrite(path, members, json.dumps(meta).encode())


def _deflated_metadata(path):
    """A small file whose metadata would unpack to 60 MB (a deflate bomb)."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(np.load(path)["metadata"].tobytes())
    meta["extra"]["padding"] = [0] * 20_000_000
    _rewrite(path, members, json.dumps(meta).encode(), zipfile.ZIP_DEFLATED)


def _rewrite(path, members, meta_bytes, compression=zipfile.ZIP_STORED):
    """The archive again with ``meta_bytes`` as its metadata, stored with ``compression``."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.frombuffer(meta_bytes, np.uint8))
    members["metadata.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data, compression if name == "metadata.npy" else zipfile.ZIP_STORED)


MODEL_CASES = {
    "good": ({"input_max": 1.0}, None, None),
    "input_max_zero": ({"input_max": 0}, None, "damaged metadata: input_max must be a number in "
                                                "(0, 1e6]"),
    "image_shape_5": ({"image_shape": 5}, None, "damaged metadata: image_shape must be two "
                                                "positive integers; got 5"),
    "image_shape_7x7": ({"image_shape": [7, 7]}, None, "damaged metadata: image_shape [7, 7] "
                                                       "holds 49 pixels, but the network reads "
                                                       "784 inputs"),
    "huge_claim": ({}, _claim_a_huge_layer, "its arrays disagree with its metadata: W1 has shape "
                                            "(784, 8), the metadata says (784, 400000)"),
    "deflate_bomb": ({}, _deflated_metadata, "not an mlp model file: its member 'metadata' is "
                                             "compressed"),
}


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory):
    from PIL import Image

    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    path = tmp_path_factory.mktemp("digit") / "one.png"
    Image.fromarray(image).save(path)
    return path


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_a_model_file_gets_one_verdict_through_every_door(case, tmp_path, digit_png, playground):
    extra, change, expected = MODEL_CASES[case]
    path = _crafted(tmp_path, case, extra, change)
    assert path.stat().st_size < 1 << 20
    verdicts = {}
    for door in ("predict", "info"):
        result = mlp(*((door, path, digit_png) if door == "predict" else (door, path)))
        if result.returncode:
            assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
            verdicts[door] = _verdict_of_message(result.stderr.strip(), path.name)
        else:
            verdicts[door] = "accepted"
    with playground() as ws:
        ws.send(json.dumps({"type": "digits_load", "name": path.name,
                            "base64": base64.b64encode(path.read_bytes()).decode()}))
        msg = _until(ws, "digits_model")
        verdicts["playground"] = (_verdict_of_message(msg["message"], path.name)
                                  if msg["type"] == "error" else "accepted")
        # The tab goes on after a bad file: the connection is kept.
        ws.send(json.dumps({"type": "step"}))
        assert _until(ws, "frame")["type"] == "frame"
    for door, verdict in verdicts.items():
        if expected is None:
            assert verdict == "accepted", (door, verdict)
        else:
            assert verdict.startswith(expected), (door, verdict)
    assert len(set(verdicts.values())) == 1, verdicts
