"""The problem set's notebook: executed here with a real Jupyter kernel in its fast mode (the
bundled MNIST subset, a few epochs), and the committed copy checked for a full run's outputs."""

import importlib.util
import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "problem_set_4.ipynb"


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebook",
                                                  ROOT / "notebooks" / "make_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o["output_type"] == "stream")


def _cell(nb, fragment: str):
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and fragment in c.source]
    return cell


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return float(match.group(1))


def _errors(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"max relative error: (\S+)", text)]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    work = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(work)}})
    client.execute(env={**os.environ, "MLP_NOTEBOOK_FAST": "1"})
    nbformat.write(nb, work / "problem_set_4.ipynb")  # never over the committed copy
    return nb


def test_no_cell_fails(executed):
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None
            assert not [o for o in cell.outputs if o["output_type"] == "error"], cell.source


def test_problem_1_derivations_match_backprop(executed):
    text = _text(_cell(executed, "derivation vs backprop"))
    errors = [float(v) for v in re.findall(r"max rel\. error (\S+)", text)]
    assert len(errors) == 4 and max(errors) < 1e-12
    numeric = [float(v) for v in re.findall(r"'(\d\.\de[-+]\d+)'", text)]
    assert len(numeric) == 4 and max(numeric) < 1e-7


def test_problem_2_toy_figures(executed):
    assert _text(_cell(executed, "correct_loss = 1.182248")).startswith("1.1822479803941373")
    assert max(_errors(_text(_cell(executed, "analytic gradients should be less")))) < 1e-6
    sigmoid = _number(r"Final training loss:\s+(\S+)",
                      _text(_cell(executed, "learning_rate=0.5, reg=1e-5")))
    assert sigmoid == pytest.approx(0.10926794610680679, abs=1e-9)
    relu_check = _text(_cell(executed, "correct_loss = 1.320973"))
    assert _number(r"loss =\s+(\S+)", relu_check) == pytest.approx(1.3037878913298206, abs=1e-12)
    assert max(_errors(relu_check)) < 1e-6
    relu = _number(r"Final training loss:\s+(\S+)",
                   _text(_cell(executed, "learning_rate=0.1, reg=1e-5")))
    assert relu == pytest.approx(0.0178562204869839, abs=1e-9)


def test_problem_2_mnist_in_fast_mode(executed):
    assert "Train data shape:  (5000, 784)" in _text(_cell(executed, "# load MNIST"))
    sigmoid = _text(_cell(executed, "sigmoid_net = TwoLayerMLP"))
    relu = _text(_cell(executed, "relu_net = TwoLayerMLP"))
    assert sigmoid.count("Epoch ") == 3
    assert (_number(r"ReLU test accuracy:\s+(\S+)", relu)
            > _number(r"Sigmoid test accuracy:\s+(\S+)", sigmoid))
    activity = _text(_cell(executed, "plot_unit_activity("))
    assert "sigmoid  saturated activations" in activity


def test_problem_3_update_rules(executed):
    text = _text(_cell(executed, "differs from the update rule"))
    gaps = [float(v) for v in re.findall(r"update rule by (\S+)", text)]
    assert len(gaps) == 3 and max(gaps) < 1e-12


def test_figures_are_displayed(executed):
    images = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert len(images) >= 9


# -- the committed notebook -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_committed_notebook_matches_its_generator(committed):
    built = _generator().build()
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], "notebooks/problem_set_4.ipynb is stale: run python notebooks/make_notebook.py --execute"


def test_committed_notebook_holds_a_full_mnist_run(committed):
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, cell.source
            assert not [o for o in cell.outputs if o["output_type"] == "error"]
    assert "Train data shape:  (50000, 784)" in _text(_cell(committed, "# load MNIST"))
    sigmoid = _text(_cell(committed, "sigmoid_net = TwoLayerMLP"))
    relu = _text(_cell(committed, "relu_net = TwoLayerMLP"))
    assert sigmoid.count("Epoch ") == 20
    assert _number(r"Sigmoid test accuracy:\s+(\S+)", sigmoid) >= 0.86  # the problem set: 0.8739
    assert _number(r"ReLU test accuracy:\s+(\S+)", relu) >= 0.96  # the problem set: 0.9635
