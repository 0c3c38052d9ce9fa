"""How the command (and a search's worker processes) fail: one line ``mlp <command>: error: ...``
and exit status 2 for bad input, a bad file or a run that cannot go on; a traceback for anything
else, which is a bug to fix.

What counts as bad input is what the library raises for it: ValueError (with ModelFileError and
DataFileError), OSError on the user's paths (a missing file, a full disk, a network that fails),
DivergenceError, and MemoryError. TypeError, KeyError, AttributeError and ImportError are not
caught: the command checks every option before calling the library, so from there they are
programming errors, and hiding them once turned ``No module named 'mlp.io'`` into an innocent
looking one-liner. The one ImportError reported on one line is a missing optional package.
"""

from __future__ import annotations

import sys

from ..training import DivergenceError
from .values import SettingsError

#: Optional packages (the extras in pyproject.toml); without them some commands cannot run.
OPTIONAL_PACKAGES = ("matplotlib", "PIL", "pooch", "tqdm", "requests", "sklearn", "optuna",
                     "psycopg", "sqlalchemy", "starlette", "uvicorn", "websockets", "multipart",
                     "onnx")

EXPECTED = (ValueError, OSError, DivergenceError, MemoryError)


#: Options that parse one by one but do not fit together (three dropout rates for two hidden
#: layers): reported like argparse's errors, with a pointer to the command's --help. The run
#: layer's own error, whichever door set the settings.
UsageError = SettingsError


def missing_optional(exc: ImportError) -> bool:
    """Whether ``exc`` is an optional package that is not installed (not a bug of ours)."""
    for error in (exc, exc.__cause__):
        name = getattr(error, "name", None) or ""
        if isinstance(error, ImportError) and name.split(".")[0] in OPTIONAL_PACKAGES:
            return True
    return False


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (some list details line by line)."""
    if isinstance(exc, MemoryError):
        return "out of memory" + (f" ({exc})" if str(exc) else "") + ": try smaller sizes"
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        # OSError's own text repeats the errno: "[Errno 2] No such file or directory: 'x'".
        text = f"{exc.filename}: {exc.strerror[0].lower()}{exc.strerror[1:]}"
    return text or type(exc).__name__


def fail(prog: str, exc: BaseException) -> int:
    """Report ``exc`` as the command's one-line error; returns the exit status, 2."""
    message = one_line(exc)
    if isinstance(exc, ImportError) and "pip install" not in message:
        message += ' (pip install "mlp[all]" installs the optional packages)'
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2
