"""How long ``mlp grade`` takes, and what the jail costs: prints each figure with its target.

    python bench/grading.py                 # the figures in docs/teaching.md
    python bench/grading.py --class-size 30 --workers 2 --repeats 20

- one submission (the reference solution), a fresh grading session, reference values included,
  on the bundled subset: target at most 15 s;
- a class of ``--class-size`` students (every fixture of tests/fixtures/submissions, the
  reference solution filling the rest) with ``--workers``: target at most 90 s for 30 with 2;
- the jail's cost per question: the same trivial run (start Python, import NumPy, write one
  result) in the jail and without it, alternating, medians of ``--repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from teaching_submissions import submission_sources  # noqa: E402

from mlp.teaching.grader import Grader, grade_class  # noqa: E402
from mlp.teaching.sandbox import Limits, run  # noqa: E402

TRIVIAL = """\
import os, sys
import numpy
os.write(int(sys.argv[2]), b'{"done": true}\\n')
"""


def one_submission(folder: Path) -> tuple[float, float]:
    (folder / "mlp.py").write_text(submission_sources()["solution"])
    start = time.perf_counter()
    with Grader() as grader:
        result = grader.grade(folder)
    return time.perf_counter() - start, result.score


def a_class(folder: Path, size: int, workers: int) -> tuple[float, int]:
    sources = submission_sources()
    names = list(sources)[:size]
    names += [f"solution-{i}" for i in range(size - len(names))]
    for name in names:
        (folder / name).mkdir()
        (folder / name / "mlp.py").write_text(sources.get(name, sources["solution"]))
    start = time.perf_counter()
    with Grader() as grader:
        results = grade_class(grader, folder, workers=workers)
    return time.perf_counter() - start, len(results)


def jail_cost(folder: Path, repeats: int) -> dict[bool, float]:
    (folder / "probe.py").write_text(TRIVIAL)
    limits = Limits(cpu_seconds=10, wall_seconds=20, memory_bytes=1 << 30,
                    output_bytes=1 << 20)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for jail in (True, False):
            start = time.perf_counter()
            outcome = run("probe.py", folder, limits, jail=jail)
            times[jail].append(time.perf_counter() - start)
            assert outcome.done, outcome
    return {jail: statistics.median(values) for jail, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--class-size", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("one", "class", "cost"):
            (root / name).mkdir()
        cost = jail_cost(root / "cost", args.repeats)
        print(f"a run in the jail: {cost[True] * 1000:.0f} ms, without: "
              f"{cost[False] * 1000:.0f} ms (start Python, import NumPy, one result; medians "
              f"of {args.repeats}); the jail costs {(cost[True] - cost[False]) * 1000:.0f} ms "
              "per question")
        seconds, score = one_submission(root / "one")
        print(f"one submission: {seconds:.1f} s (score {score:g}); target <= 15 s: "
              f"{'met' if seconds <= 15 else 'NOT met'}")
        seconds, n = a_class(root / "class", args.class_size, args.workers)
        target = 90 * args.class_size / 30
        print(f"a class of {n} with {args.workers} workers: {seconds:.1f} s; target <= "
              f"{target:g} s: {'met' if seconds <= target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
