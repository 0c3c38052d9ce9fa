"""The teaching kit for Problem Set 4: the folder students get, and the grader of their
``mlp.py`` (see docs/teaching.md).

- :mod:`~mlp.teaching.assignment`: ``mlp assignment``, the folder (``templates/``: the
  student's ``mlp.py`` with its solution, ``utils.py``, the notebook, the README);
- :mod:`~mlp.teaching.checks`: the questions, their cases and reference values, and how a
  student's values are judged;
- :mod:`~mlp.teaching.grader`: ``mlp grade``, each question in a jail
  (:mod:`~mlp.teaching.jail`, run by :mod:`~mlp.teaching.sandbox`, running
  :mod:`~mlp.teaching.probe`), the reference values in a process of their own
  (:mod:`~mlp.teaching.reference`);
- :mod:`~mlp.teaching.report`: the report, Gradescope's results.json, the gradebook
  (students' text made safe by :mod:`~mlp.teaching.text`);
- :mod:`~mlp.teaching.gradescope`: the autograder zip for Gradescope;
- :mod:`~mlp.teaching.otter`: the checks as otter-grader test files.
"""

import importlib

#: The public names, each from its module; imported on first use, so that running one module
#: (``python -m mlp.teaching.jail``) does not import it twice.
_NAMES = {"solution_source": "assignment", "starter_source": "assignment",
          "write_assignment": "assignment", "Grader": "grader", "SubmissionResult": "grader",
          "grade_class": "grader", "export_otter": "otter"}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
