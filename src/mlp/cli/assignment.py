"""``mlp assignment``: write Problem Set 4's folder for students (or the teacher's solution)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "assignment", help="write the problem set's folder for students",
        description="Write Problem Set 4 as a folder that runs offline: the student's mlp.py "
                    "(TwoLayerMLP with the parts to implement raising NotImplementedError), "
                    "utils.py, the notebook, a README for students and the MNIST data. "
                    "Neither file imports this library: inside the folder, 'import mlp' finds "
                    "the student's mlp.py. Grade the returned mlp.py files with 'mlp grade'.")
    p.add_argument("folder", metavar="DIR", type=Path, help="the folder to write (created)")
    p.add_argument("--solution", action="store_true",
                   help="write the reference mlp.py instead of the starter (for the teacher)")
    p.add_argument("--full", action="store_true",
                   help="put the full MNIST in DIR/data (from MLP_DATA_DIR, the download "
                        "cache, or a download) instead of the bundled 6,000-image subset")
    p.add_argument("--force", action="store_true",
                   help="overwrite the files if DIR already holds them")
    p.add_argument("--gradescope", action="store_true",
                   help="also write DIR/autograder.zip, Gradescope's autograder, which grades "
                        "each upload with 'mlp grade' in Gradescope's container (it holds the "
                        "solution: keep it out of what students get)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..teaching.assignment import write_assignment

    written = write_assignment(args.folder, solution=args.solution, full=args.full,
                               force=args.force)
    kind = "the reference solution" if args.solution else "the starter"
    data = "the full MNIST" if args.full else "the bundled MNIST subset"
    print(f"wrote {args.folder}: mlp.py ({kind}), utils.py, problem_set_4.ipynb, README.md and "
          f"{data} in data/ ({len(written)} files)")
    print(f"students: cd {args.folder} && jupyter notebook problem_set_4.ipynb")
    if args.gradescope:
        from ..teaching.gradescope import write_autograder

        zip_path = write_autograder(args.folder / "autograder.zip")
        print(f"wrote {zip_path}: the autograder of a Gradescope programming assignment "
              "(see docs/teaching.md); it holds the solution, so keep it out of what "
              "students get")
    return 0
