"""The teaching kit for Problem Set 4: the folder students get, and the grader of their
``mlp.py`` (see docs/teaching.md).

- :mod:`~mlp.teaching.assignment`: ``mlp assignment``, the folder (``templates/``: the
  student's ``mlp.py`` with its solution, ``utils.py``, the notebook, the README);
- :mod:`~mlp.teaching.checks`: the questions, their cases and reference values, and how a
  student's values are judged;
- :mod:`~mlp.teaching.grader`: ``mlp grade``, each question in a sandboxed process
  (:mod:`~mlp.teaching.sandbox`, running :mod:`~mlp.teaching.probe`), the reference values in
  a process of their own (:mod:`~mlp.teaching.reference`);
- :mod:`~mlp.teaching.report`: the report, Gradescope's results.json, the gradebook;
- :mod:`~mlp.teaching.otter`: the checks as otter-grader test files.
"""

from .assignment import solution_source, starter_source, write_assignment
from .grader import Grader, SubmissionResult, grade_class
from .otter import export_otter

__all__ = ["Grader", "SubmissionResult", "export_otter", "grade_class", "solution_source",
           "starter_source", "write_assignment"]
