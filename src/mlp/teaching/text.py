"""Text a student controls (exception messages, printed output, folder names), made safe to
show in a terminal, a report, a spreadsheet or a file name."""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: Terminal escape sequences: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \\), and
#: other two-byte escapes; C1 controls are removed one by one below.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\\\)?|\x1b[@-_]?|"
                      r"\x9b[0-?]*[ -/]*[@-~]")
#: What a CSV cell may not start with: spreadsheets read it as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def clean(text: str, limit: int = 500) -> str:
    """``text`` on one line, without escape sequences, control or format characters (bidi
    overrides included), at most ``limit`` characters."""
    text = _ESCAPES.sub("", str(text))
    text = "".join(" " if c in "\n\r\t" else c for c in text
                   if c in "\n\r\t" or unicodedata.category(c)[0] != "C")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def csv_cell(text: str) -> str:
    """A cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA) else text


def file_stem(name: str) -> str:
    """A file name for a student's reports: ``name`` if it is plain, else its plain characters
    and a short hash of it (two students never share one)."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:60].lstrip(".") or "student"
    if plain == name:
        return plain
    return f"{plain}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"

