"""``mlp grade``: grade students' ``mlp.py`` files (one, or a class's folders)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..run.errors import UsageError
from .options import positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "grade", help="grade students' mlp.py for Problem Set 4",
        description="Grade the code of Problem Set 4 (Q2.1-Q2.5.2, 45 points): each question "
                    "runs the student's mlp.py in a jail of its own (bubblewrap: no network, "
                    "no files but its own, limits on time, memory, processes and output), on "
                    "the notebook's cases and hidden ones whose reference values this library "
                    "computes while grading. SUBMISSION is an mlp.py, a folder holding one (or "
                    "holding a folder that holds one, as a zip unpacks), or a folder of "
                    "students' folders (then a gradebook, a report and a results.json per "
                    "student go to --out).")
    p.add_argument("submission", metavar="SUBMISSION", type=Path, nargs="?",
                   help="an mlp.py, a folder holding one, or a folder of students' folders")
    p.add_argument("--no-jail", action="store_true",
                   help="run the code without the jail, for a student checking their own work "
                        "where bubblewrap cannot run: it does not stop cheating, and the "
                        "report says so")
    p.add_argument("--secret", type=int, metavar="N",
                   help="draws the hidden cases; the same N regrades with the same cases "
                        "(default: a new random one; keep it from the students)")
    p.add_argument("--json", type=Path, metavar="FILE",
                   help="also write Gradescope's results.json for the submission to FILE")
    p.add_argument("--full", action="store_true",
                   help="grade the MNIST questions on the full MNIST (MLP_DATA_DIR, the cache, "
                        "or a download) against the problem set's figures")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="students graded at once, for a class (default: 1)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="for a class: where the gradebook and the reports go (default: "
                        "SUBMISSION-grades beside it)")
    p.add_argument("--export-otter", type=Path, metavar="DIR",
                   help="write the checks as otter-grader test files into DIR (SUBMISSION is "
                        "then optional)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.submission is None and args.export_otter is None:
        raise UsageError("give a SUBMISSION to grade, or --export-otter DIR")
    if args.export_otter is not None:
        from ..teaching.otter import export_otter

        written = export_otter(args.export_otter, full=args.full)
        print(f"wrote {len(written)} otter-grader test files to {args.export_otter}")
    if args.submission is None:
        return 0
    from ..teaching.grader import Grader, is_class_folder

    if not args.submission.exists():
        raise FileNotFoundError(2, "No such file or folder", str(args.submission))
    class_options = args.out is not None or args.workers is not None
    if args.json is not None and class_options:
        raise UsageError("--json is for one submission; --out and --workers for a class")
    # --json grades one submission, however its folder is laid out (Gradescope's uploads).
    is_class = class_options or (args.json is None and is_class_folder(args.submission))
    if is_class and not args.submission.is_dir():
        raise UsageError("--out and --workers are for a folder of students' folders")
    with Grader(full=args.full, jail=not args.no_jail, secret=args.secret) as grader:
        if is_class:
            return _grade_class(grader, args)
        return _grade_one(grader, args)


def _grade_one(grader, args: argparse.Namespace) -> int:
    from ..run.files import write_json
    from ..teaching.report import gradescope_results, text_report

    result = grader.grade(args.submission)
    sys.stdout.write(text_report(result))
    if args.json is not None:
        write_json(args.json, gradescope_results(result))
    return 0


def _grade_class(grader, args: argparse.Namespace) -> int:
    from ..atomic import write_text_atomic
    from ..run.files import write_csv, write_json
    from ..teaching.grader import grade_class
    from ..teaching.report import gradebook_rows, gradescope_results, text_report
    from ..teaching.text import clean, file_stem

    folder = args.submission.resolve()
    out = args.out if args.out is not None else folder.with_name(folder.name + "-grades")
    out.mkdir(parents=True, exist_ok=True)
    total = grader.max_score

    def done(result) -> None:
        name, problem = clean(result.name, 30), clean(result.problem or "", 200)
        print(f"{name:<30} {result.score:>5g} / {total:g}  ({result.seconds:.1f} s)"
              + (f"  {problem}" if problem else ""), flush=True)
        stem = file_stem(result.name)
        write_text_atomic(out / f"{stem}.txt", text_report(result))
        write_json(out / f"{stem}.json", gradescope_results(result))

    results = grade_class(grader, folder, workers=args.workers or 1, on_result=done)
    fields, rows = gradebook_rows(results)
    write_csv(out / "gradebook.csv", fields, rows)
    mean = sum(r.score for r in results) / len(results) if results else 0.0
    print(f"{len(results)} students, mean {mean:.1f} / {total:g}: gradebook, reports and "
          f"results.json files in {out}")
    return 0
