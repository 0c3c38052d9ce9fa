"""What ``mlp grade`` writes: a report a student can act on, Gradescope's ``results.json``, and
a class's gradebook (CSV).

The report lists, per question, each item's score and, for an item that lost points, each case
that failed: what was found, what was expected (for the notebook's cases only: the hidden
cases' reference values are not shown, so that they cannot be copied into the code), the reason
if the code did not run to the end, and a hint for the likely mistake.

Text a student controls (exception messages, printed output, folder names) is cleaned of
control characters and escape sequences and cut to a length (:func:`clean`) wherever it is
shown, and CSV cells cannot start a spreadsheet formula (:func:`csv_cell`).
"""

from __future__ import annotations

from .grader import ItemResult, QuestionResult, SubmissionResult
from .text import clean, csv_cell


def points(value: float) -> str:
    """A score as reported: at most 2 decimals, no trailing zeros."""
    return f"{round(value, 2):g}"


def item_lines(item: ItemResult) -> list[str]:
    """An item's line, and for each failing case (cases that failed for one same reason
    together) what was found, expected or went wrong, then the hints."""
    passed = sum(c.credit == 1 for c in item.cases)
    ok = bool(item.cases) and item.credit == 1
    lines = [f"  [{'ok' if ok else '--'}] {item.name:<22} {points(item.score):>5} / "
             f"{points(item.points):<4} ({passed} of {len(item.cases)} cases)"]
    if ok:
        return lines
    failed = [c for c in item.cases if c.credit < 1]
    problems: dict[str, list[str]] = {}
    for case in failed:
        if case.problem:
            problems.setdefault(case.problem, []).append(case.label)
    for problem, labels in problems.items():
        lines.append(f"        {_cases(labels, len(item.cases))}: {clean(problem)}")
    for case in failed:
        if case.problem:
            continue
        what = f"found {case.found}"
        if case.expected and not (case.hidden and case.reveals):
            what += f", expected {case.expected}"
        share = f" ({case.credit:.0%} credit)" if case.credit else ""
        lines.append(f"        {case.label}: {what}{share}")
    hints = [item.hint] if item.hint else []
    for case in failed:
        if case.hint and case.hint not in hints:
            hints.append(case.hint)
    return lines + [f"        hint: {hint}" for hint in hints]


def _cases(labels: list[str], total: int) -> str:
    if len(labels) == 1:
        return labels[0]
    return "all cases" if len(labels) == total else f"{len(labels)} cases"


def question_text(q: QuestionResult, result: SubmissionResult) -> str:
    """One question's part of the report."""
    lines = [f"{q.label} {q.title}: {points(q.score)} / {points(q.points)}"]
    if result.problem:
        return "\n".join([*lines, f"  not graded: {result.problem}"])
    for item in q.items:
        lines += item_lines(item)
    notes = list(q.notes)
    scores = {other.label: other for other in result.questions}
    lost = [label for label in q.depends
            if label in scores and scores[label].score < scores[label].points]
    if lost and q.score < q.points:
        notes.append(f"this question runs your code of {' and '.join(lost)} too, which lost "
                     "points: fix that first")
    lines += [f"  note: {clean(note)}" for note in notes]
    return "\n".join(lines)


def text_report(result: SubmissionResult) -> str:
    """The readable report of one submission."""
    where = f" ({clean(str(result.path), 200)})" if result.path else ""
    lines = [f"{clean(result.name, 100)}{where}: {points(result.score)} / "
             f"{points(result.max_score)} points, graded in {result.seconds:.1f} s"]
    if not result.jailed:
        lines.append(NO_JAIL)
    if result.problem:
        lines.append(f"Not graded: {clean(result.problem)}")
        return "\n".join(lines) + "\n"
    for q in result.questions:
        lines.append("")
        lines.append(question_text(q, result))
    return "\n".join(lines) + "\n"


#: Gradescope's autograder specification: https://gradescope-autograders.readthedocs.io
GRADESCOPE_VISIBILITY = "visible"
NO_JAIL = ("Graded without a jail (--no-jail): the code ran with the grader's access to this "
           "machine, so this grade is for checking your own work only.")


def gradescope_results(result: SubmissionResult) -> dict:
    """Gradescope's results.json: the total and one test per question."""
    tests = []
    for q in result.questions:
        output = question_text(q, result)
        tests.append({"name": f"{q.label} {q.title}", "score": q.score, "max_score": q.points,
                      "output": output, "visibility": GRADESCOPE_VISIBILITY})
    output = (f"Not graded: {clean(result.problem)}" if result.problem else
              f"{points(result.score)} / {points(result.max_score)} points for the code of "
              "Problem 2; the written answers are graded separately.")
    out = {"score": result.score, "execution_time": round(result.seconds, 1),
           "output": output if result.jailed else f"{NO_JAIL} {output}",
           "visibility": GRADESCOPE_VISIBILITY, "stdout_visibility": "hidden", "tests": tests}
    return out


def gradebook_rows(results: list[SubmissionResult]) -> tuple[list[str], list[dict]]:
    """One row per student: the total, each question's score, and what stopped the grading."""
    labels = [q.label for q in results[0].questions] if results else []
    fields = ["student", "score", "max_score", *labels, "problem", "seconds"]
    rows = []
    for r in results:
        row = {"student": csv_cell(clean(r.name, 200)), "score": points(r.score),
               "max_score": points(r.max_score),
               "problem": csv_cell(clean(r.problem or "")), "seconds": f"{r.seconds:.1f}"}
        row.update({q.label: points(q.score) for q in r.questions})
        rows.append(row)
    return fields, rows
