"""The playground's web server: the page's static files, and a WebSocket per tab that carries
the tab's commands in and its training frames out.

Each connection owns one :class:`~mlp.playground.session.Session` (and one digits model), freed
when the tab closes; several tabs train side by side. Every message from the page is checked
like any user input; a bad one gets an ``error`` message naming what was wrong, and the
connection goes on. The page paces the stream: while playing, it asks for the next frame
(``tick``) once it has drawn the last one, so a slow tab is never flooded.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..training import DivergenceError
from .config import Config, ConfigError
from .digits import MAX_EPOCHS, WIDTHS, Digits
from .export import model_bytes, script
from .session import Session
from .upload import MAX_BYTES

STATIC = Path(__file__).parent / "static"
#: The largest message the page may send: a model file in base64, with room to spare.
MAX_MESSAGE = 24 << 20
#: A gradient check every this many frames while playing (it costs about one epoch).
GRADCHECK_EVERY = 10


def _text(msg: dict, name: str, limit: int) -> str:
    value = msg.get(name)
    if not isinstance(value, str) or len(value) > limit:
        shown = f"{len(value)} characters" if isinstance(value, str) else repr(value)[:60]
        raise ConfigError(name, f"a string of at most {limit} characters", shown)
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


class Connection:
    """One tab: its session, its digits model, and a handler per message type."""

    def __init__(self, ws: WebSocket, registry: set) -> None:
        self.ws, self.registry = ws, registry
        self.session: Session | None = None
        self.digits = Digits()
        self.playing = False
        self.frames = 0
        self.handlers: dict[str, Callable[[dict], Any]] = {
            "hello": self.hello, "config": self.set_config, "play": self.play,
            "pause": self.pause, "tick": self.tick, "step": self.step, "reset": self.reset,
            "gradcheck": self.gradcheck, "upload": self.upload,
            "export_model": self.export_model, "export_code": self.export_code,
            "digits_train": self.digits_train, "digits_load": self.digits_load,
            "digits_predict": self.digits_predict,
        }

    async def run(self) -> None:
        await self.ws.accept()
        self.registry.add(self)
        try:
            while True:
                msg = await self.ws.receive_json()
                await self.dispatch(msg)
        except WebSocketDisconnect:
            pass
        finally:
            self.registry.discard(self)
            self.session = self.digits = None  # free the tab's arrays now

    async def dispatch(self, msg: object) -> None:
        kind = msg.get("type") if isinstance(msg, dict) else None
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        try:
            if handler is None:
                raise ConfigError("type", "one of " + ", ".join(self.handlers), kind)
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

    async def send(self, message: dict) -> None:
        await self.ws.send_json(message)

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

    # -- the digits tab --------------------------------------------------------------------

    async def digits_train(self, msg: dict) -> None:
        hidden = _int(msg, "hidden", WIDTHS)
        epochs = _int(msg, "epochs", range(1, MAX_EPOCHS + 1))
        steps = self.digits.train_bundled(hidden, epochs, seed=0)
        while (progress := await run_in_threadpool(next, steps, None)) is not None:
            await self.send(progress)
        await self.send(self.digits.info())

    async def digits_load(self, msg: dict) -> None:
        name = _text(msg, "name", 200)
        data = _base64(msg, "base64", MAX_MESSAGE)
        await run_in_threadpool(self.digits.load_bytes, data, name)
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


def create_app() -> Starlette:
    """The ASGI application: ``/`` the page, ``/static`` its files, ``/ws`` the stream, and
    ``/status`` the number of open sessions."""
    registry: set[Connection] = set()

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def status(request):
        return JSONResponse({"sessions": len(registry)})

    async def stream(ws: WebSocket):
        await Connection(ws, registry).run()

    return Starlette(routes=[
        Route("/", index), Route("/status", status), WebSocketRoute("/ws", stream),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])


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


def serve(sock: socket.socket, url: str, open_browser: bool,
          announce: Callable[[], None]) -> None:
    """Serve the app on ``sock`` until Ctrl-C (uvicorn stops cleanly on SIGINT/SIGTERM);
    ``announce`` runs once the server accepts connections, then the browser opens."""
    import uvicorn

    config = uvicorn.Config(create_app(), log_level="warning", ws_max_size=MAX_MESSAGE,
                            timeout_graceful_shutdown=2, lifespan="off")
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
