"""``mlp playground``: watch a network learn in the browser, trained by the library itself."""

from __future__ import annotations

import argparse
import sys

from ..run.errors import fail

#: What the playground needs beyond NumPy (``pip install "mlp[playground]"``).
PACKAGES = ("starlette", "uvicorn", "websockets", "multipart", "PIL")
DEFAULT_PORT = 8765


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0: any free "
                                         f"port); got {text!r}")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "playground", help="train networks on 2-D data and digits in the browser",
        description="Start a local web server with a playground page: 2-D data sets, a network "
                    "you shape with buttons, live heatmaps of every neuron, loss curves, a "
                    "gradient check, a digits tab, and model/code export. The training runs in "
                    "this library. Ctrl-C stops the server.")
    p.add_argument("--port", type=port, default=DEFAULT_PORT,
                   help=f"the port to listen on (default: {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..playground.server import bind, is_loopback, serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in PACKAGES:
            raise
        return fail("mlp playground", ImportError(
            f"the playground needs the package {exc.name!r}: pip install \"mlp[playground]\""))
    if not is_loopback(args.host):
        print(f"mlp playground: warning: --host {args.host} is not a loopback address: anyone "
              "who can reach this machine on the network can use the page and its CPU",
              file=sys.stderr)
    sock = bind(args.host, args.port)
    host, bound = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    serve(sock, url, open_browser=not args.no_browser, names=[args.host],
          announce=lambda: print(f"mlp playground: serving on {url} (Ctrl-C stops)", flush=True))
    print("mlp playground: stopped", flush=True)
    return 0
