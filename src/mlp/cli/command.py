"""The ``mlp`` command's parser, made of one module per subcommand, and its entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..run.errors import EXPECTED, UsageError, fail, missing_optional
from .assignment import register as assignment
from .doctor import register as doctor
from .evaluate import register as evaluate
from .export import register as export
from .gradcheck import register as gradcheck
from .grade import register as grade
from .info import register as info
from .lr_find import register as lr_find
from .options import Parser
from .playground import register as playground
from .predict import register as predict
from .train import register as train
from .tune import register as tune

#: Each subcommand's module adds its parser (and the function that runs it).
SUBCOMMANDS = (train, evaluate, predict, export, gradcheck, info, playground, tune, assignment,
               grade, doctor, lr_find)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mlp",
        description="Multi-layer perceptrons from scratch in NumPy: train, evaluate and inspect "
                    "networks on MNIST-style digits or on CSV tables of your own.",
        epilog="Run 'mlp COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"mlp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS:
        register(sub)
    parser.commands = sub.choices  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mlp`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    command = parser.commands[args.command]
    if unknown:
        # Reported by the command's own parser, so the hint points to its --help.
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        command.error(str(exc))
    except KeyboardInterrupt:
        print("mlp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: nothing more to say.
        sys.stderr.close()
        return 0
    except EXPECTED as exc:
        return fail(command.prog, exc)
    except ImportError as exc:
        if not missing_optional(exc):
            raise  # a bug of ours, not the user's
        return fail(command.prog, exc)
