"""``mlp assignment``: the folder a teacher hands out for Problem Set 4.

The folder runs offline and never imports this library: inside it ``import mlp`` finds the
student's own ``mlp.py``. It holds

- ``mlp.py``: the ``TwoLayerMLP`` class with the problem set's API, the parts to implement
  raising ``NotImplementedError`` (or, with ``solution=True``, the reference implementation);
- ``utils.py``: ``eval_numerical_gradient``, ``rel_error``, ``get_MNIST_data`` and
  ``visualize_grid``, complete, NumPy only;
- ``problem_set_4.ipynb``: the problem set's text and cells;
- ``README.md``: a short guide for students;
- ``data/``: the four MNIST files, the bundled 6,000-image subset or (``full=True``) the full
  set.

The starter and the solution come from one template, ``templates/mlp.py``, whose parts to
implement sit between ``# BEGIN SOLUTION <question>: <what>`` and ``# END SOLUTION`` lines: the
solution drops the marker lines, the starter replaces each block with a ``TODO`` comment and a
``raise NotImplementedError``.
"""

from __future__ import annotations

import os
import re
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from ..atomic import write_text_atomic
from ..data import FILES as MNIST_FILES
from ..data import load_dataset, write_idx

#: What the folder holds besides ``data/``, in the order it is written.
FILES = ("mlp.py", "utils.py", "problem_set_4.ipynb", "README.md")
NOTEBOOK = "problem_set_4.ipynb"

_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)# BEGIN SOLUTION (?P<label>Q[\d.]+): (?P<what>[^\n]+)\n"
    r"(?P<body>.*?)"
    r"^[ \t]*# END SOLUTION\n",
    re.MULTILINE | re.DOTALL,
)


def template_text(name: str) -> str:
    """The text of ``templates/<name>`` as shipped with the package."""
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def solution_source() -> str:
    """The reference ``mlp.py``: the template without its solution markers."""
    return _BLOCK.sub(lambda m: m["body"], template_text("mlp.py"))


def starter_source() -> str:
    """The student's ``mlp.py``: each solution block replaced by a TODO and a
    ``NotImplementedError`` naming the question."""

    def todo(m: re.Match) -> str:
        indent, label, what = m["indent"], m["label"], m["what"]
        return (f"{indent}# TODO {label}: {what}\n"
                f"{indent}raise NotImplementedError({f'{label}: {what}'!r})\n")

    return _BLOCK.sub(todo, template_text("mlp.py"))


def write_assignment(folder: os.PathLike | str, *, solution: bool = False, full: bool = False,
                     force: bool = False) -> list[Path]:
    """Write the problem set's folder for students into ``folder``; returns the files written.

    solution: the reference ``mlp.py`` instead of the starter (for the teacher). full: the full
    MNIST in ``data/`` (from ``MLP_DATA_DIR``, the download cache, or a download) instead of
    the bundled subset. force: overwrite files that are already there; without it a folder
    that already holds one of them is refused, so that no student's work is overwritten.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    data = folder / "data"
    if not force:
        there = [name for name in FILES if (folder / name).exists()]
        if data.exists():
            there.append("data/")
        if there:
            raise FileExistsError(f"{folder} already holds {', '.join(there)}: choose a new "
                                  "folder, or --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    sources = {"mlp.py": solution_source() if solution else starter_source()}
    for name in FILES:
        text = sources.get(name) or template_text(name)
        written.append(write_text_atomic(folder / name, text))
    data.mkdir(exist_ok=True)
    written += _write_full_mnist(data) if full else _copy_bundled_subset(data)
    return written


def _copy_bundled_subset(data: Path) -> list[Path]:
    bundled = resources.files("mlp").joinpath("datasets", "mnist-small")
    written = []
    for name in MNIST_FILES:
        with resources.as_file(bundled.joinpath(name)) as source:
            written.append(Path(shutil.copyfile(source, data / name)))
    return written


def _write_full_mnist(data: Path) -> list[Path]:
    """The full MNIST as the four standard files, from wherever the library finds it."""
    train_x, train_y, _, _, test_x, test_y = load_dataset("mnist", dtype=np.uint8,
                                                          flatten=False, n_val=0)
    arrays = (train_x, train_y.astype(np.uint8), test_x, test_y.astype(np.uint8))
    return [write_idx(data / name, array, compresslevel=6)
            for name, array in zip(MNIST_FILES, arrays, strict=True)]
