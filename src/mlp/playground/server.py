"""The playground's web server: the page's static files, and a WebSocket per tab that carries
the tab's commands in and its training frames out.

Each connection owns one :class:`~mlp.playground.session.Session` (and one digits model), freed
when the tab closes; several tabs train side by side. Every message from the page is checked
like any user input; a bad one (not JSON, binary, nested too deeply, too large, a lone
surrogate, a value out of range) gets an ``error`` message naming what was wrong, and the
connection goes on. The backprop tab's messages (``backprop``, ``backprop_net``) are read and
answered by :mod:`.backprop_tab`; the learning-rate finder (``lr_find``) runs in the session.
The page paces the stream: while playing, it asks for the next frame (``tick``) once it has
drawn the last one, so a slow tab is never flooded.

Only the server's own page may use it: a request whose ``Host`` is not the server's address
(DNS rebinding) or whose ``Origin`` is another site's is refused with 403 (:class:`Guard`).
Memory is bounded per tab (the message and file limits below) and for the whole server (at most
:data:`MAX_SESSIONS` tabs, :data:`MAX_MODELS_HELD` bytes of uploaded models, one model file read
at a time).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import math
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..training import DivergenceError
from .backprop_tab import network_example, problem_one
from .config import Config, ConfigError
from .digits import MAX_EPOCHS, MAX_MODEL_BYTES, WIDTHS, Digits
from .export import model_bytes, script
from .session import Session
from .upload import MAX_BYTES

STATIC = Path(__file__).parent / "static"
#: The largest message the page may send: a model file in base64, with room to spare.
MAX_MESSAGE = 24 << 20
#: The largest message read at all: one up to this size past MAX_MESSAGE is answered with an
#: error; a larger one ends the connection (WebSocket close code 1009, as the protocol has it),
#: since keeping the tab would mean reading it whole.
MAX_FRAME = 32 << 20
#: The JSON values a message may hold: parsed JSON costs up to 70 bytes a value beyond its
#: text (``[{},{},...]``), so that 24 MiB of it would take 600 MB. Counted from its commas,
#: colons and brackets (those inside strings too: an upload's CSV text stays far below).
MAX_VALUES = 100_000
#: Tabs open at once; one more is told so and closed (WebSocket close code 1013).
MAX_SESSIONS = 8
#: Uploaded digits models held by all tabs together, in bytes of their files (a model file is
#: stored uncompressed, so its size is about the memory its arrays take): four of the largest.
MAX_MODELS_HELD = 64 << 20
#: Connections (HTTP and WebSocket) at once; more are answered 503.
MAX_CONNECTIONS = 100
#: A gradient check every this many frames while playing (it costs about one epoch).
GRADCHECK_EVERY = 10


def _text(msg: dict, name: str, limit: int) -> str:
    value = msg.get(name)
    if not isinstance(value, str) or len(value) > limit:
        shown = f"{len(value)} characters" if isinstance(value, str) else _short(value)
        raise ConfigError(name, f"expected a string of at most {limit} characters; got {shown}")
    return value


def _int(msg: dict, name: str, choices) -> int:
    value = msg.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value not in choices:
        raise ConfigError(name, f"one of {', '.join(map(str, choices))}", value)
    return value


def _base64(msg: dict, name: str, limit: int) -> bytes:
    try:
        return base64.b64decode(_text(msg, name, limit * 4 // 3 + 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(name, "base64 data", "something else") from None


def _mib(n: int) -> str:
    """``n`` bytes in MiB, rounded up (a size just past a limit does not read as the limit)."""
    return f"{math.ceil(n / 2**20 * 10) / 10:.1f} MiB"


def decode(message: dict) -> dict:
    """The JSON object of one WebSocket message (``websocket.receive``), or ConfigError (field
    ``message``) saying what is wrong with it; its cost in time and memory is bounded by
    MAX_MESSAGE and MAX_VALUES."""
    text = message.get("text")
    if text is None:
        size = len(message.get("bytes") or b"")
        raise ConfigError("message", f"expected JSON text; got a binary message of {size} bytes")
    if len(text) > MAX_MESSAGE:
        raise ConfigError("message", f"expected at most {_mib(MAX_MESSAGE)} (a model file of at "
                          f"most {_mib(MAX_MODEL_BYTES)}); got {_mib(len(text))}")
    values = sum(map(text.count, ",:[{"))
    if values > MAX_VALUES:
        raise ConfigError("message", f"expected at most {MAX_VALUES} JSON values; got up to "
                          f"{values}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ConfigError("message", "expected a JSON object; got JSON nested too deeply to "
                          "read") from None
    except ValueError as exc:
        raise ConfigError("message", f"expected JSON text; got {_short(text)} ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError("message", f"expected a JSON object with a type; got "
                          f"{_short(value)}")
    if _lone_surrogate(value):
        raise ConfigError("message", "expected Unicode text; got a lone surrogate (an escape "
                          "such as \\ud800, half of a character)")
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _lone_surrogate(value: object) -> bool:
    """Whether a string in ``value`` (parsed JSON) holds half a UTF-16 pair, which no UTF-8
    text can carry: echoed back in a message, it would end the connection."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class Connection:
    """One tab: its session, its digits model, and a handler per message type."""

    def __init__(self, ws: WebSocket, registry: set, reading: asyncio.Lock) -> None:
        self.ws, self.registry, self.reading = ws, registry, reading
        self.session: Session | None = None
        self.digits = Digits()
        #: Bytes of the uploaded model this tab holds (or is reading), for MAX_MODELS_HELD.
        self.model_bytes = 0
        self.playing = False
        self.frames = 0
        self.handlers: dict[str, Callable[[dict], Any]] = {
            "hello": self.hello, "config": self.set_config, "play": self.play,
            "pause": self.pause, "tick": self.tick, "step": self.step, "reset": self.reset,
            "gradcheck": self.gradcheck, "upload": self.upload,
            "export_model": self.export_model, "export_code": self.export_code,
            "digits_train": self.digits_train, "digits_load": self.digits_load,
            "digits_predict": self.digits_predict, "lr_find": self.lr_find,
            "backprop": self.backprop, "backprop_net": self.backprop_net,
        }

    async def run(self) -> None:
        if len(self.registry) >= MAX_SESSIONS:
            await self.refuse()
            return
        self.registry.add(self)
        try:
            await self.ws.accept()
            while (message := await self.ws.receive())["type"] == "websocket.receive":
                try:
                    msg = decode(message)
                except ConfigError as exc:
                    await self.send({"type": "error", "where": "message", "message": str(exc),
                                     "field": exc.field})
                else:
                    await self.dispatch(msg)
        except WebSocketDisconnect:
            pass
        finally:
            self.registry.discard(self)
            self.session = self.digits = None  # free the tab's arrays now

    async def refuse(self) -> None:
        """One tab too many: say so, then close (1013: try again later)."""
        await self.ws.accept()
        text = (f"this server has {MAX_SESSIONS} tabs open, as many as it takes: close one, "
                "then reload this page")
        await self.send({"type": "error", "where": "connect", "message": text})
        await self.ws.close(1013, f"{MAX_SESSIONS} tabs open already")

    async def dispatch(self, msg: dict) -> None:
        kind = msg.get("type")
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        try:
            if handler is None:
                kind = None  # not echoed back: it may be anything
                raise ConfigError("type", "expected one of " + ", ".join(self.handlers) +
                                  f"; got {_short(msg.get('type'))}")
            if self.session is None and kind != "hello":
                raise ConfigError("type", "'hello' first", kind)
            await handler(msg)
        except DivergenceError as exc:
            self.playing = False
            await self.send({"type": "error", "where": kind, "message": str(exc),
                             "playing": False})
        except ValueError as exc:
            await self.send({"type": "error", "where": kind, "message": str(exc),
                             "field": getattr(exc, "field", None)})
        except (WebSocketDisconnect, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug here must not end the tab: say so, keep the session
            logging.getLogger("mlp.playground").exception("message %r failed", kind)
            await self.send({"type": "error", "where": kind, "message": f"{kind}: the server "
                             f"failed ({type(exc).__name__}: {exc}); the session goes on"})

    async def send(self, message: dict) -> None:
        # ensure_ascii: whatever a message echoes goes out as valid UTF-8.
        await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def send_config(self) -> None:
        s = self.session
        await self.send({"type": "config", "config": s.config.to_dict(),
                         "query": s.config.to_query(), "upload": s.upload is not None})
        await self.send_frame(full=True)

    async def send_frame(self, full: bool = False, gradcheck: bool = False) -> None:
        frame = await run_in_threadpool(self.session.frame, full)
        frame["playing"] = self.playing
        if gradcheck:
            frame["gradcheck"] = await run_in_threadpool(self.session.gradcheck)
        await self.send(frame)

    # -- the 2-D playground ----------------------------------------------------------------

    async def hello(self, msg: dict) -> None:
        query = _text(msg, "query", 4000)
        try:
            config = Config.from_query(query)
        except ConfigError as exc:
            self.session = await run_in_threadpool(Session)
            await self.send({"type": "error", "where": "link", "field": exc.field,
                             "message": f"the link's settings were not used: {exc}"})
        else:
            self.session = await run_in_threadpool(_session_or_default, config)
        await self.send_config()

    async def set_config(self, msg: dict) -> None:
        config = Config.from_dict(msg.get("config"))
        self.playing = False
        await run_in_threadpool(self.session.configure, config)
        await self.send_config()

    async def play(self, msg: dict) -> None:
        self.playing = True
        await self.tick(msg)

    async def pause(self, msg: dict) -> None:
        self.playing = False
        await self.send({"type": "paused", "epoch": self.session.epoch})

    async def tick(self, msg: dict) -> None:
        if not self.playing:
            return
        await run_in_threadpool(self.session.step)
        self.frames += 1
        await self.send_frame(gradcheck=self.frames % GRADCHECK_EVERY == 1)

    async def step(self, msg: dict) -> None:
        self.playing = False
        await run_in_threadpool(self.session.step)
        await self.send_frame(gradcheck=True)

    async def reset(self, msg: dict) -> None:
        self.playing = False
        self.session.reset()
        await self.send_frame(full=True, gradcheck=True)

    async def gradcheck(self, msg: dict) -> None:
        result = await run_in_threadpool(self.session.gradcheck)
        await self.send({"type": "gradcheck", "gradcheck": result})

    async def upload(self, msg: dict) -> None:
        name = _text(msg, "name", 200)
        text = _text(msg, "text", MAX_BYTES + 1)
        self.playing = False
        await run_in_threadpool(self.session.use_upload, text, name)
        await self.send_config()

    async def export_model(self, msg: dict) -> None:
        s = self.session
        extra = {"playground": {"config": s.config.to_query(), "epoch": s.epoch}}
        data = await run_in_threadpool(model_bytes, s.model, extra)
        await self.send({"type": "file", "name": "playground-model.npz",
                         "mime": "application/octet-stream",
                         "base64": base64.b64encode(data).decode("ascii")})

    async def export_code(self, msg: dict) -> None:
        s = self.session
        await self.send({"type": "file", "name": "playground_run.py", "mime": "text/x-python",
                         "text": script(s.config, s.epoch, "data.csv")})

    async def lr_find(self, msg: dict) -> None:
        result = await run_in_threadpool(self.session.find_learning_rate)
        await self.send({"type": "lr_find", **result})

    # -- the backprop tab ------------------------------------------------------------------

    async def backprop(self, msg: dict) -> None:
        await self.send(await run_in_threadpool(problem_one, msg))

    async def backprop_net(self, msg: dict) -> None:
        d = self.session.data
        await self.send(await run_in_threadpool(
            network_example, self.session.model, d.train_inputs, d.points.y_train, msg))

    # -- the digits tab --------------------------------------------------------------------

    async def digits_train(self, msg: dict) -> None:
        hidden = _int(msg, "hidden", WIDTHS)
        epochs = _int(msg, "epochs", range(1, MAX_EPOCHS + 1))
        steps = self.digits.train_bundled(hidden, epochs, seed=0)
        while (progress := await run_in_threadpool(next, steps, None)) is not None:
            await self.send(progress)
        self.model_bytes = 0  # trained here: a small model, no upload held
        await self.send(self.digits.info())

    async def digits_load(self, msg: dict) -> None:
        name = _text(msg, "name", 200)
        data = _base64(msg, "base64", MAX_MESSAGE)
        others = sum(c.model_bytes for c in self.registry if c is not self)
        # (A file past MAX_MODEL_BYTES is refused for its own size by load_bytes.)
        if len(data) <= MAX_MODEL_BYTES and others + len(data) > MAX_MODELS_HELD:
            raise ValueError(f"{name}: the other tabs hold {_mib(others)} of uploaded models, and "
                             f"the server holds at most {_mib(MAX_MODELS_HELD)}: close a tab "
                             "with a loaded model, or load a smaller file")
        held, self.model_bytes = self.model_bytes, self.model_bytes + len(data)
        try:
            async with self.reading:  # one model file read at a time in the whole server
                await run_in_threadpool(self.digits.load_bytes, data, name)
        except BaseException:
            self.model_bytes = held
            raise
        self.model_bytes = len(data)
        await self.send(self.digits.info())

    async def digits_predict(self, msg: dict) -> None:
        pixels = _text(msg, "pixels", 20_000)
        await self.send(await run_in_threadpool(self.digits.predict, pixels))


def _session_or_default(config: Config) -> Session:
    """A link naming the uploaded data cannot carry it: start from the defaults instead."""
    try:
        return Session(config)
    except ValueError:
        return Session(Config.from_dict({**config.to_dict(), "dataset": "circle"}))


class Guard:
    """The addresses the server answers to, so that only its own page can use it: a request's
    ``Host`` must name the server (a web site cannot point a name of its own at this machine
    and talk to it: DNS rebinding), and a WebSocket's or form's ``Origin``, where the browser
    sends one, must be the server's own page (another site's page cannot drive it). Clients that
    are not browsers send no ``Origin``; a page cannot leave it out.

    ``names``: the host the command was given and the address it bound (``url``, the address
    it prints, is named in the refusal); a loopback address
    adds ``localhost``, 127.0.0.1 and ::1, and every address (0.0.0.0, ::) adds the machine's
    names and any IP address (a name is needed for DNS rebinding, an address is not)."""

    def __init__(self, names: Iterable[str], port: int, url: str) -> None:
        found = {name.strip("[]").lower() for name in names}
        self.any_address = bool(found & {"0.0.0.0", "::", ""})
        if self.any_address or any(map(is_loopback, found)):
            found |= {"localhost", "127.0.0.1", "::1"}
        if self.any_address:
            found |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        self.names, self.port, self.url = frozenset(found - {""}), port, url

    def allows(self, netloc: str) -> bool:
        """Whether ``netloc`` (``host[:port]``, as in a Host header) is this server's."""
        try:
            parts = urlsplit("//" + netloc)
            host, port = (parts.hostname or "").rstrip("."), parts.port or 80
        except ValueError:
            return False
        return port == self.port and (host in self.names or self.any_address and _is_ip(host))

    def problem(self, host: str | None, origin: str | None) -> str | None:
        """Why a request with these headers is refused, or None."""
        if host is None or not self.allows(host):
            return (f"refused: the address {_short(host)} is not this server's; open "
                    f"{self.url}")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme != "http" or not self.allows(parts.netloc):
                return (f"refused: a page from {_short(origin)} may not use this server; only "
                        f"its own page may ({self.url})")
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Guarded:
    """ASGI middleware: requests that :class:`Guard` refuses get 403 and one line of text (a
    WebSocket is refused before its handshake ends)."""

    def __init__(self, app, guard: Guard) -> None:
        self.app, self.guard = app, guard

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            problem = self.guard.problem(headers.get("host"), headers.get("origin"))
            if problem:
                response = PlainTextResponse(f"mlp playground: {problem}\n", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(guard: Guard) -> Guarded:
    """The ASGI application: ``/`` the page, ``/static`` its files, ``/ws`` the stream, and
    ``/status`` the open sessions and the server's limits; answering only as ``guard`` allows."""
    registry: set[Connection] = set()
    reading = asyncio.Lock()

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def status(request):
        return JSONResponse({
            "sessions": len(registry), "max_sessions": MAX_SESSIONS,
            "models_held": sum(c.model_bytes for c in registry),
            "max_models_held": MAX_MODELS_HELD})

    async def stream(ws: WebSocket):
        await Connection(ws, registry, reading).run()

    return Guarded(Starlette(routes=[
        Route("/", index), Route("/status", status), WebSocketRoute("/ws", stream),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]), guard)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or OSError naming the address (``port`` 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY on each accepted connection only for
    # such a socket; without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _one_line(record: logging.LogRecord) -> bool:
    """uvicorn logs a client's text frame that is not UTF-8 (which no browser sends) with a
    traceback of its own code: the line says it all."""
    if record.getMessage().startswith("Invalid UTF-8"):
        record.exc_info, record.exc_text = None, None
    return True


def serve(sock: socket.socket, url: str, open_browser: bool,
          announce: Callable[[], None], names: Iterable[str] = ()) -> None:
    """Serve the app on ``sock`` until Ctrl-C (uvicorn stops cleanly on SIGINT/SIGTERM);
    ``announce`` runs once the server accepts connections, then the browser opens. ``names``:
    the host the server was asked to listen on, which the page may be opened at (besides the
    address bound)."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(create_app(Guard([*names, host], port, url)), log_level="warning",
                            ws_max_size=MAX_FRAME, ws_per_message_deflate=False,
                            limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=2,
                            lifespan="off")
    logging.getLogger("uvicorn.error").addFilter(_one_line)  # after uvicorn set its logging up
    server = uvicorn.Server(config)

    def started() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.02)
        if server.started:
            announce()
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=started, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down on Ctrl-C, then raises the signal again for its caller: here,
        # that is the clean end of the command.
        pass
