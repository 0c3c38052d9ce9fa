"""Gradescope's autograder zip for Problem Set 4: ``mlp assignment DIR --gradescope``.

Gradescope unzips it into ``/autograder/source``, runs ``setup.sh`` once as root when it builds
the image, then ``run_autograder`` for each upload (in ``/autograder/submission``), which must
leave ``/autograder/results/results.json``. The zip holds

- ``setup.sh``: Python (3.11 or later), bubblewrap, and a virtual environment at ``VENV`` with
  this package's dependencies (NumPy) from PyPI;
- ``mlp_pkg/mlp/``: a copy of this package (its modules, templates and bundled MNIST subset),
  put on ``PYTHONPATH`` by ``run_autograder``: nothing of it needs the network, and it stays
  out of the virtual environment, which the student's code must be able to read;
- ``run_autograder``: makes the grader's files unreadable to other users, checks the jail
  (``python -m mlp.teaching.jail``), grades with ``mlp grade`` (``--no-jail`` only when there
  is no jail), and writes a results.json of score 0 if the grading itself failed.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import zipfile
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ..atomic import atomic_writer

#: Where ``setup.sh`` makes the virtual environment: outside ``/autograder/source``, which is
#: made unreadable to the student's code, and readable itself since that code imports NumPy.
VENV = "/opt/mlp-autograder/venv"
#: Where the package goes in the zip (and so under ``/autograder/source``).
PACKAGE_DIR = "mlp_pkg/mlp"
#: The package's files besides its modules (its package data, less the playground's page).
DATA_PATTERNS = ("datasets/*.md", "datasets/mnist-small/*.gz", "teaching/templates/*")
#: The dependencies if this package's metadata cannot be read (a source tree not installed).
DEPENDENCIES = ("numpy>=1.24",)
#: A fixed time stamp, so that the same package makes the same zip.
STAMP = (2024, 1, 1, 0, 0, 0)

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root and online, when it builds the autograder's image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
PYTHON=python3
# The package needs Python 3.11 or later (Ubuntu 22.04 has 3.10; 24.04 has 3.12).
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
mkdir -p "$(dirname {venv})"
"$PYTHON" -m venv {venv}
{venv}/bin/pip install --no-cache-dir {requirements}
# The student's code imports NumPy from here, as another user when there is no jail.
chmod -R a+rX "$(dirname {venv})"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this as root for each upload: grade $ROOT/submission with `mlp grade` and
# leave Gradescope's results.json in $ROOT/results.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{MLP_AUTOGRADER_PYTHON:-{venv}/bin/python}}"
RESULTS="$ROOT/results/results.json"

# Without a jail the student's code runs as the user nobody: the package (which holds the
# reference solution), the results and the upload's metadata (names, e-mails) must then be
# unreadable to others. The virtual environment stays readable: that code imports NumPy.
protect() {{
    mkdir -p "$ROOT/results" &&
    chmod -R go-rwx "$ROOT/source" "$ROOT/results" &&
    if [ -e "$ROOT/submission_metadata.json" ]; then
        chmod go-rwx "$ROOT/submission_metadata.json"
    fi
}}

# A results.json of score 0, written without Python (which may be what failed) and holding
# nothing of the student's: Gradescope shows its output to the student.
failed() {{
    local why="The autograder failed (exit status $1) and could not grade this upload."
    local ask="Please tell the course staff; your upload is kept."
    mkdir -p "$ROOT/results"
    cat > "$RESULTS.tmp" <<EOF
{{"score": 0, "tests": [], "output": "$why $ask",
 "visibility": "visible", "stdout_visibility": "hidden"}}
EOF
    mv -f "$RESULTS.tmp" "$RESULTS"
}}

grade() {{
    protect || return
    # Not the upload's folder: a student's mlp.py there must not stand in for the package.
    cd "$ROOT/source" || return
    export PYTHONPATH="$ROOT/source/{package_parent}"
    local jail=()
    if ! "$PYTHON" -P -m mlp.teaching.jail; then
        echo "run_autograder: no jail here; grading with --no-jail"
        jail=(--no-jail)
    fi
    rm -f "$RESULTS"
    "$PYTHON" -P -m mlp grade "$ROOT/submission" --json "$RESULTS" "${{jail[@]}}"
}}

grade
status=$?
if [ "$status" -ne 0 ]; then
    echo "run_autograder: the grading failed (exit status $status)"
    failed "$status"
fi
exit 0
"""


def write_autograder(path: os.PathLike | str) -> Path:
    """Write Gradescope's autograder zip to ``path`` atomically; returns the path."""
    path = Path(path).expanduser()
    with atomic_writer(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        _add(zf, "setup.sh", setup_script().encode(), executable=True)
        _add(zf, "run_autograder", run_script().encode(), executable=True)
        for name, entry in package_files():
            _add(zf, f"{PACKAGE_DIR}/{name}", entry.read_bytes())
    return path


def setup_script() -> str:
    """``setup.sh``: what Gradescope's image needs, with this package's dependencies."""
    requirements = " ".join(f"'{r}'" for r in dependencies())
    return SETUP_SH.format(venv=VENV, requirements=requirements)


def run_script() -> str:
    """``run_autograder``: grade ``$ROOT/submission`` into ``$ROOT/results/results.json``."""
    return RUN_AUTOGRADER.format(venv=VENV, package_parent=PACKAGE_DIR.rsplit("/", 1)[0])


def dependencies() -> list[str]:
    """This package's required dependencies (not its extras), as pip takes them."""
    try:
        required = importlib.metadata.requires("mlp") or []
    except importlib.metadata.PackageNotFoundError:
        return list(DEPENDENCIES)
    return [r.replace(" ", "") for r in required if ";" not in r]


def package_files() -> Iterator[tuple[str, Traversable]]:
    """The package's modules and data as (path inside the package, file), in order."""
    for name, entry in _walk(resources.files("mlp"), ""):
        if name.endswith(".py") or any(fnmatch.fnmatch(name, p) for p in DATA_PATTERNS):
            yield name, entry


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        name = prefix + entry.name
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _walk(entry, name + "/")
        else:
            yield name, entry


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    # The Unix mode in the upper bits, which unzip restores.
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    zf.writestr(info, data)
