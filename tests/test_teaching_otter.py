"""``mlp grade --export-otter``: the checks as otter-grader test files. Otter itself is not
installed here: a stand-in for its ``test_case`` decorator loads the files the way otter's
exception-based test files are loaded (run the file, collect the decorated functions, call each
with the notebook's environment; an exception fails the case)."""

import importlib.util
import subprocess
import sys
import types

import pytest
from teaching_submissions import submission_sources

from mlp.teaching.assignment import write_assignment


class test_case:  # noqa: N801 (otter's name)
    __test__ = False  # not a pytest test

    def __init__(self, name=None, points=None, hidden=False):
        self.name, self.points, self.hidden = name, points, hidden

    def __call__(self, func):
        self.func = func
        return self


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("otter")
    result = subprocess.run([sys.executable, "-m", "mlp", "grade", "--export-otter", out],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "wrote 6 otter-grader test files" in result.stdout
    return out


@pytest.fixture
def otter(monkeypatch, tmp_path):
    """The stand-in for otter, and an assignment folder whose utils.py and data/ the MNIST
    cases read."""
    package = types.ModuleType("otter")
    package.test_files = types.ModuleType("otter.test_files")
    package.test_files.test_case = test_case
    monkeypatch.setitem(sys.modules, "otter", package)
    monkeypatch.setitem(sys.modules, "otter.test_files", package.test_files)
    write_assignment(tmp_path / "assignment")
    monkeypatch.syspath_prepend(str(tmp_path / "assignment"))
    yield tmp_path
    sys.modules.pop("utils", None)


def student_class(tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(submission_sources()[name])
    spec = importlib.util.spec_from_file_location(f"student_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TwoLayerMLP


def run_otter(folder, TwoLayerMLP):
    """{file: (score, possible, [(case name, hidden, passed)])}."""
    results = {}
    for path in sorted(folder.glob("*.py")):
        env = {}
        exec(compile(path.read_text(), str(path), "exec"), env)
        assert env["OK_FORMAT"] is False
        cases = [v for v in env.values() if isinstance(v, test_case)]
        outcomes = []
        for case in cases:
            try:
                case.func({"TwoLayerMLP": TwoLayerMLP})
                passed = True
            except Exception:
                passed = False
            outcomes.append((case.name, case.hidden, passed, case.points))
        results[path.stem] = (sum(p for *_, ok, p in outcomes if ok),
                              sum(p for *_, p in outcomes), outcomes)
    return results


def test_one_file_per_question(exported):
    assert sorted(p.name for p in exported.iterdir()) == [
        "q2_1.py", "q2_2.py", "q2_3.py", "q2_4.py", "q2_5_1.py", "q2_5_2.py"]
    text = (exported / "q2_1.py").read_text()
    assert "from otter.test_files import test_case" in text
    assert "hidden=True" in text and "hidden=False" in text


def test_the_solution_passes_every_case(exported, otter):
    results = run_otter(exported, student_class(otter, "solution"))
    assert {k: round(v[1], 6) for k, v in results.items()} == {
        "q2_1": 5, "q2_2": 10, "q2_3": 5, "q2_4": 5, "q2_5_1": 10, "q2_5_2": 10}
    failed = [name for _, _, outcomes in results.values()
              for name, _, passed, _ in outcomes if not passed]
    assert failed == []


def test_the_starter_and_hard_coded_numbers(exported, otter):
    assert sum(v[0] for v in run_otter(exported, student_class(otter, "starter")).values()) == 0
    results = run_otter(exported, student_class(otter, "hardcoded"))
    hidden_passed = [name for _, _, outcomes in results.values()
                     for name, hidden, passed, _ in outcomes if hidden and passed]
    assert hidden_passed == []
    assert results["q2_1"][0] == pytest.approx(0.75)
