"""``mlp doctor``: why a run did not learn, read from the folder ``mlp train`` wrote."""

from __future__ import annotations

import argparse
import textwrap

from ..run.diagnosis import KINDS, Finding
from ..run.doctor import examine
from ..run.files import json_text

DESCRIPTION = (
    "Read a run folder written by 'mlp train' (its history, unit activity and input sizes) and "
    "say what went wrong, in plain words: what the run shows, with the numbers, why it matters, "
    "and the 'mlp train' options to change. Findings: " + ", ".join(KINDS) + " (docs/doctor.md "
    "gives their thresholds). Exit status 0 whatever it finds; 2 if the folder is not a "
    "readable run.")


def register(sub) -> None:
    p = sub.add_parser("doctor", help="diagnose a run that does not learn", description=DESCRIPTION)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by 'mlp train' (its --out)")
    p.add_argument("--json", action="store_true",
                   help="print the findings as a JSON list of objects with a 'kind'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    findings = examine(args.run_dir)
    if args.json:
        print(json_text([f.to_dict() for f in findings]), end="")
        return 0
    print(f"mlp doctor: {args.run_dir}")
    for finding in findings:
        print(_text(finding))
    return 0


def _text(f: Finding) -> str:
    """A finding as a few wrapped lines: the kind and what it sees, why, and what to try."""
    lines = [f"{f.kind} ({f.severity}): {f.message}"]
    if f.kind != "healthy":
        lines += [f"  why: {f.why}", *([f"  try: {f.suggestion}"] if f.suggestion else [])]
    return "\n".join(textwrap.fill(line, width=100, subsequent_indent="       ",
                                   break_on_hyphens=False, break_long_words=False)
                     for line in lines)
