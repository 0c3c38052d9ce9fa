"""The playground's server against other sites' pages and broken or hostile clients (issue 21):
the real ``mlp playground`` command on 127.0.0.1, raw WebSocket and HTTP clients, no mocks. Each
test asserts what the user sees: a refusal or one line of error, the tab's session kept, memory
and time bounded."""

import base64
import contextlib
import http.client
import io
import json
import math
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from helpers import rewrite_model_file

import mlp

websockets = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from mlp.playground.digits import MAX_MODEL_BYTES  # noqa: E402
from mlp.playground.server import (  # noqa: E402
    MAX_FRAME,
    MAX_MESSAGE,
    MAX_MODELS_HELD,
    MAX_SESSIONS,
    MAX_VALUES,
)


class Server:
    """A running ``mlp playground`` command: its process, address and port."""

    def __init__(self, *options: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "mlp", "playground", "--no-browser",
                                      "--port", "0", *options], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"serving on http://(\S+):(\d+)/ \(Ctrl-C stops\)", line)
        assert match, line + self.proc.stderr.read()
        self.host, self.port = match.group(1), int(match.group(2))
        self.address = "127.0.0.1" if self.host == "0.0.0.0" else self.host

    def connect(self, origin: str | None = None, host: str | None = None, **options):
        """A raw WebSocket to ``/ws`` (``host``: the Host header, through 127.0.0.1)."""
        netloc = host or f"{self.address}:{self.port}"
        sock = socket.create_connection((self.address, self.port))
        return websockets.connect(f"ws://{netloc}/ws", sock=sock, origin=origin,
                                  max_size=None, open_timeout=30, **options)

    def get(self, path: str = "/status", host: str | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.address, self.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Host": host} if host else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def status(self) -> dict:
        return json.loads(self.get()[1])

    def wait_for_sessions(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.status()["sessions"] != count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.status()["sessions"] == count

    def peak_memory(self) -> int:
        """The server process's largest resident size so far, in bytes."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024

    def stop(self) -> str:
        """Ctrl-C: the command stops with status 0; its standard error."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=15)
        assert self.proc.returncode == 0, err
        return err


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    err = s.stop()
    assert "Traceback" not in err, err


@pytest.fixture
def fresh():
    """A server of its own, for tests that count tabs, models or memory."""
    s = Server()
    yield s
    err = s.stop()
    assert "Traceback" not in err, err


def until(ws, *kinds) -> dict:
    """The next message of one of ``kinds``, or an error message."""
    while True:
        msg = json.loads(ws.recv(timeout=60))
        if msg["type"] in (*kinds, "error"):
            return msg


@contextlib.contextmanager
def open_tab(server: Server, **options):
    """A tab that has said hello and drawn its first frame."""
    with server.connect(**options) as ws:
        ws.send(json.dumps({"type": "hello", "query": ""}))
        assert until(ws, "frame")["type"] == "frame"
        yield ws


def open_tabs(stack: contextlib.ExitStack, server: Server, count: int) -> list:
    return [stack.enter_context(open_tab(server)) for _ in range(count)]


def error_of(ws) -> str:
    msg = until(ws)
    assert msg["type"] == "error", msg
    assert "\n" not in msg["message"], msg["message"]
    return msg["message"]


def step(ws) -> int:
    ws.send(json.dumps({"type": "step"}))
    frame = until(ws, "frame")
    assert frame["type"] == "frame", frame
    return frame["epoch"]


# -- only the server's own page ------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://evil.example", "http://evil.example:{port}", "null",
                                    "https://127.0.0.1:{port}", "http://127.0.0.1:{other}",
                                    "http://127.0.0.1.evil.example:{port}"])
def test_a_page_of_another_site_cannot_open_a_tab(server, origin):
    origin = origin.format(port=server.port, other=server.port % 60000 + 1)
    with pytest.raises(InvalidStatus) as info:
        server.connect(origin=origin)
    assert info.value.response.status_code == 403
    assert info.value.response.body.decode() == (
        f"mlp playground: refused: a page from {origin!r} may not use this server; only its "
        f"own page may (http://127.0.0.1:{server.port}/)\n")
    server.wait_for_sessions(0)


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{port}", "http://localhost:{port}",
                                    "http://LOCALHOST:{port}", None])
def test_the_servers_own_page_opens_a_tab(server, origin):
    """The page at either name of this machine, or a client that is no browser (no Origin)."""
    with open_tab(server, origin=origin and origin.format(port=server.port)) as ws:
        assert step(ws) == 1


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:{other}",
                                  "10.0.0.7:{port}", "localhost.evil.example:{port}"])
def test_a_name_pointed_at_this_machine_is_refused(server, host):
    """DNS rebinding: a site's own name resolving to 127.0.0.1 reaches the port, but the
    browser sends that name as the Host, which is not the server's."""
    host = host.format(port=server.port, other=server.port % 60000 + 1)
    status, body = server.get("/", host=host)
    assert status == 403
    assert body.decode() == (f"mlp playground: refused: the address {host!r} is not this "
                             f"server's; open http://127.0.0.1:{server.port}/\n")
    with pytest.raises(InvalidStatus) as info:
        server.connect(host=host)
    assert info.value.response.status_code == 403
    assert server.get("/static/app.js", host=host)[0] == 403


def test_the_servers_own_names_are_answered(server):
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}",
                 f"localhost.:{server.port}"):
        status, body = server.get("/", host=host)
        assert status == 200 and b"<html" in body.lower()
    with open_tab(server, host=f"localhost:{server.port}",
                  origin=f"http://localhost:{server.port}") as ws:
        assert step(ws) == 1


def test_host_option_serves_its_address():
    """--host 0.0.0.0 serves every address of the machine: any IP address and the machine's
    names are its own (an address needs no DNS, so it cannot be rebound); other names are not."""
    s = Server("--host", "0.0.0.0")
    try:
        port = s.port
        for host in (f"10.0.0.7:{port}", f"[fe80::1]:{port}", f"{socket.gethostname()}:{port}",
                     f"localhost:{port}"):
            assert s.get("/status", host=host)[0] == 200, host
        assert s.get("/status", host=f"evil.example:{port}")[0] == 403
        with open_tab(s, host=f"10.0.0.7:{port}", origin=f"http://10.0.0.7:{port}") as ws:
            assert step(ws) == 1
        with pytest.raises(InvalidStatus):
            s.connect(origin="http://evil.example")
    finally:
        s.stop()


def test_host_option_with_a_name():
    s = Server("--host", "localhost")
    try:
        assert (s.host, s.get("/status", host=f"localhost:{s.port}")[0]) == ("127.0.0.1", 200)
        assert s.get("/status", host=f"evil.example:{s.port}")[0] == 403
    finally:
        s.stop()


# -- a bad message gets one line, and the tab goes on -------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000
BAD_MESSAGES = {
    "not JSON": ("hello there", "message: expected JSON text; got 'hello there' (Expecting "
                                "value: line 1 column 1 (char 0))"),
    "binary": (b"\x00\xff\x10", "message: expected JSON text; got a binary message of 3 bytes"),
    "nested deeply": (DEEP, "message: expected a JSON object; got JSON nested too deeply to "
                            "read"),
    "lone surrogate": (json.dumps({"type": "upload", "name": "a\ud800.csv", "text": "x"}),
                       "message: expected Unicode text; got a lone surrogate (an escape such as "
                       "\\ud800, half of a character)"),
    "surrogate in a key": (json.dumps({"type": "config", "config": {"\udfff": 1}}),
                           "message: expected Unicode text; got a lone surrogate"),
    "too large": (json.dumps({"type": "digits_load", "name": "m.npz",
                              "base64": "A" * (MAX_MESSAGE + (2 << 20))}),
                  "message: expected at most 24.0 MiB (a model file of at most 16.0 MiB); got "
                  "26.1 MiB"),
    "too many values": ("[" + "{}," * MAX_VALUES + "{}]",
                        f"message: expected at most {MAX_VALUES} JSON values; got up to "
                        f"{2 * MAX_VALUES + 2}"),
    "not an object": ("[1, 2]", "message: expected a JSON object with a type; got [1, 2]"),
    "a string": ('"x"', "message: expected a JSON object with a type; got 'x'"),
    "unknown type": ('{"type": "launch"}', "type: expected one of hello, config, play, pause, "
                                           "tick, step, reset, gradcheck, upload"),
    "huge type": (json.dumps({"type": "x" * 100_000}), "type: expected one of hello, config,"),
    "bad setting": ('{"type": "config", "config": {"hidden": [99]}}',
                    "hidden: expected a list of 0 to 6 layer widths"),
    "odd field": ('{"type": "upload", "name": ["a"], "text": "x"}',
                  "name: expected a string of at most 200 characters; got ['a']"),
    "not base64": ('{"type": "digits_load", "name": "m.npz", "base64": "%%%"}',
                   "base64: expected base64 data; got 'something else'"),
    "not a drawing": ('{"type": "digits_predict", "pixels": "AAAA"}',
                      "digits: no model yet: train one or load a model.npz first"),
}


@pytest.mark.parametrize("case", BAD_MESSAGES)
def test_a_bad_message_gets_one_line_and_the_session_goes_on(server, case):
    bad, expected = BAD_MESSAGES[case]
    with open_tab(server) as ws:
        ws.send(json.dumps({"type": "config", "config": {"hidden": [3], "dataset": "xor"}}))
        until(ws, "frame")
        assert step(ws) == 1
        ws.send(bad)
        assert error_of(ws).startswith(expected)
        assert step(ws) == 2  # the same session, where it was
        ws.send(json.dumps({"type": "export_code"}))
        assert "hidden=3" in until(ws, "file")["text"]


def test_an_error_echoes_no_more_than_a_line(server):
    with open_tab(server) as ws:
        ws.send("x" * 1_000_000)
        assert len(error_of(ws)) < 200
        ws.send(json.dumps({"type": "x" * 1_000_000}))
        message = until(ws)
        assert len(json.dumps(message)) < 1000 and message["where"] is None
        assert step(ws) == 1


def test_a_message_past_the_frame_limit_ends_only_its_own_connection(server):
    """Past MAX_FRAME the protocol's answer is to close (1009): the message is not read whole;
    the other tabs and the server go on."""
    with open_tab(server) as other, open_tab(server) as ws:
        with pytest.raises(ConnectionClosed) as info:
            ws.send("x" * (MAX_FRAME + 1))
            ws.recv(timeout=30)
        if info.value.rcvd is not None:  # the close frame may be lost to a reset while sending
            assert info.value.rcvd.code == 1009
        assert step(other) == 1
    server.wait_for_sessions(0)


def test_text_that_is_not_utf8_closes_with_one_line_on_the_terminal(server):
    """No browser sends it; the protocol has the connection closed (1007), and the server's
    terminal gets a line, not a traceback (checked when the module's server stops)."""
    with open_tab(server) as ws:
        ws.send(b'{"type": "step", "x": "\xed\xa0\x80"}', text=True)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=30)
        assert info.value.rcvd.code == 1007
    with open_tab(server) as ws:
        assert step(ws) == 1


# -- model files for the digits tab --------------------------------------------------------------


def _model_file(tmp_path, name: str, extra=None, hidden: int = 16, change=None) -> bytes:
    path = tmp_path / name
    mlp.save(mlp.MLP(784, [hidden], 10, seed=0), path, extra=extra or {"input_max": 1.0})
    if change:
        change(path)
    return path.read_bytes()


def _with_metadata(path, meta_bytes: bytes, compression=zipfile.ZIP_STORED) -> None:
    """The archive again, with ``meta_bytes`` as its metadata stored with ``compression``."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.frombuffer(meta_bytes, np.uint8))
    members["metadata.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data, compression if name == "metadata.npy" else zipfile.ZIP_STORED)


def _deflated(path, size: int = 200 << 20) -> None:
    """The metadata replaced by ``size`` spaces, deflated to a thousandth of that."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist() if n != "metadata.npy"}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (size,)})
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        info = zipfile.ZipInfo("metadata.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            f.write(header.getvalue())
            for start in range(0, size, 1 << 24):
                f.write(b" " * min(1 << 24, size - start))


def _padded(path, padding, compression=zipfile.ZIP_STORED) -> None:
    meta = json.loads(np.load(path)["metadata"].tobytes())
    meta["extra"]["padding"] = padding
    _with_metadata(path, json.dumps(meta).encode(), compression)


def _load(ws, name: str, data: bytes) -> dict:
    ws.send(json.dumps({"type": "digits_load", "name": name,
                        "base64": base64.b64encode(data).decode("ascii")}))
    return until(ws, "digits_model")


#: A drawing of a one: a bar of ink on the 112 x 112 canvas.
ONE = base64.b64encode(np.pad(np.full((60, 8), 255, np.uint8), ((26, 26), (52, 52)))
                       .tobytes()).decode()

ODD_MODELS = {
    "input_max a word": (dict(extra={"input_max": "x"}),
                         "damaged metadata: input_max must be a number in (0, 1e6]"),
    "input_max nested": (dict(extra={"input_max": [[[1]]]}),
                         "damaged metadata: input_max must be a number"),
    "image_shape not 28x28": (dict(extra={"image_shape": [1, 784]}),
                              "expected a model of 28x28 digit images (784 inputs); got 1x784 "
                              "images (784 inputs)"),
    "image_shape wrong": (dict(extra={"image_shape": [10**9, 10**9]}),
                          "damaged metadata: image_shape [1000000000, 1000000000] holds"),
    "table a number": (dict(extra={"table": 5}), "damaged metadata: table must be a JSON object"),
    "estimator odd": (dict(extra={"estimator": "MLPClassifier", "params": [], "fitted": 1}),
                      "damaged metadata: estimator must be one of MLPClassifier, MLPRegressor"),
    "extra a list": (dict(change=lambda p: rewrite_model_file(
        p, change_meta=lambda m: m.update(extra=[1, 2]))),
        "damaged metadata: 'extra' must be a JSON object; got list"),
    "metadata too large": (dict(change=lambda p: _padded(p, [{}] * 500_000)),
                           "its metadata takes 1.9 MiB; the digits tab reads at most 1 MiB of it"),
    "deflate bomb": (dict(change=_deflated),
                     "not an mlp model file: its member 'metadata' is compressed"),
    "not a model": (dict(change=lambda p: p.write_bytes(b"PK\x03\x04 hello")),
                    "not a readable mlp model file"),
}


@pytest.mark.parametrize("case", ODD_MODELS)
def test_an_odd_model_file_gets_one_line_and_the_tab_goes_on(server, tmp_path, case):
    options, expected = ODD_MODELS[case]
    data = _model_file(tmp_path, "odd.npz", **options)
    good = _model_file(tmp_path, "good.npz")
    with open_tab(server) as ws:
        assert _load(ws, "good.npz", good)["type"] == "digits_model"
        reply = _load(ws, "odd.npz", data)
        assert reply["type"] == "error" and reply["where"] == "digits_load"
        assert reply["message"].startswith("odd.npz: ") and "\n" not in reply["message"]
        assert expected in reply["message"], reply["message"]
        # The tab keeps its model, and its session.
        ws.send(json.dumps({"type": "digits_predict", "pixels": ONE}))
        assert until(ws, "digits_prediction")["type"] == "digits_prediction"
        assert step(ws) == 1


def test_a_model_file_past_the_limit_is_refused_by_size(server):
    with open_tab(server) as ws:
        reply = _load(ws, "big.npz", bytes(MAX_MODEL_BYTES + (1 << 20)))
        assert reply["message"] == ("big.npz: expected a model file of at most 16 MiB; got "
                                    "17.0 MiB")
        assert step(ws) == 1


# -- memory: per message, per tab, for the whole server ------------------------------------------


def test_crafted_files_and_messages_in_three_tabs_cost_little_memory(fresh, tmp_path):
    """Before: a 0.9 MB crafted model cost 1.9 GB (three tabs 5.5 GB), 15 MiB of stored
    metadata 350 MB, and 24 MiB of ``[{},{},...]`` 600 MB to parse. Now each is refused from its
    sizes, before it is read."""
    bomb = _model_file(tmp_path, "bomb.npz", change=_deflated)
    heavy = _model_file(tmp_path, "heavy.npz", change=lambda p: _padded(p, [{}] * 3_900_000))
    values = "[" + "{}," * (MAX_MESSAGE // 3 - 2) + "{}]"
    assert len(bomb) < 1 << 20 and len(heavy) > 14 << 20
    with contextlib.ExitStack() as stack:
        tabs = open_tabs(stack, fresh, 3)
        before = fresh.peak_memory()
        for ws in tabs:
            assert "is compressed" in _load(ws, "bomb.npz", bomb)["message"]
            assert "its metadata takes" in _load(ws, "heavy.npz", heavy)["message"]
            ws.send(values)
            assert error_of(ws).startswith("message: expected at most 100000 JSON values")
            assert step(ws) == 1
    grown = fresh.peak_memory() - before
    print(f"server peak memory grew {grown / 2**20:.0f} MiB")
    assert grown < 400 << 20, f"{grown / 2**20:.0f} MiB"


def test_one_tab_too_many_is_told_so(fresh):
    with contextlib.ExitStack() as stack:
        tabs = open_tabs(stack, fresh, MAX_SESSIONS)
        assert fresh.status()["sessions"] == MAX_SESSIONS == fresh.status()["max_sessions"]
        with fresh.connect() as ws:
            msg = json.loads(ws.recv(timeout=30))
            assert msg == {"type": "error", "where": "connect", "message": (
                f"this server has {MAX_SESSIONS} tabs open, as many as it takes: close one, "
                "then reload this page")}
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=30)
            assert info.value.rcvd.code == 1013
        assert all(step(ws) == 1 for ws in tabs)  # the open tabs go on
        tabs[0].close()
        fresh.wait_for_sessions(MAX_SESSIONS - 1)
        assert step(stack.enter_context(open_tab(fresh))) == 1


def test_uploaded_models_held_by_the_server_are_bounded(fresh, tmp_path):
    """Four tabs holding a 15.7 MiB model each leave no room for a fifth; closing one does."""
    data = _model_file(tmp_path, "wide.npz", hidden=2600)
    assert MAX_MODELS_HELD - (1 << 20) < 4 * len(data) <= MAX_MODELS_HELD < 5 * len(data)
    with contextlib.ExitStack() as stack:
        tabs = open_tabs(stack, fresh, 5)
        for ws in tabs[:4]:
            assert _load(ws, "wide.npz", data)["type"] == "digits_model"
        assert fresh.status()["models_held"] == 4 * len(data)
        held = f"{math.ceil(4 * len(data) / 2**20 * 10) / 10:.1f} MiB"
        assert _load(tabs[4], "wide.npz", data)["message"] == (
            f"wide.npz: the other tabs hold {held} of uploaded models, and the server holds at "
            "most 64.0 MiB: close a tab with a loaded model, or load a smaller file")
        assert step(tabs[4]) == 1
        tabs[0].close()
        fresh.wait_for_sessions(4)
        assert _load(tabs[4], "wide.npz", data)["type"] == "digits_model"
        assert fresh.status()["models_held"] == 4 * len(data)


# -- speed ---------------------------------------------------------------------------------------


def test_keep_alive_requests_are_answered_without_delay(server):
    """TCP_NODELAY on the accepted socket: without it each answer waited ~40 ms for the
    client's delayed acknowledgement (200 requests: 8.6 s); with it, a few ms in all."""
    conn = http.client.HTTPConnection(server.address, server.port, timeout=30)
    start = time.monotonic()
    for _ in range(200):
        conn.request("GET", "/status")
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["sessions"] >= 0
    elapsed = time.monotonic() - start
    conn.close()
    assert elapsed < 4, f"{elapsed:.1f} s"
