"""The notebook that ``mlp assignment`` writes, run top to bottom in a real Jupyter kernel with
the reference ``mlp.py`` in place: inside the folder, ``import mlp`` is the student's file."""

import re

import pytest

from mlp.demo import REFERENCE_FIGURES
from mlp.teaching.assignment import NOTEBOOK, write_assignment

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

WHERE = "import mlp, utils; print('modules:', mlp.__file__, utils.__file__)"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("assignment")
    write_assignment(folder, solution=True)
    nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(WHERE))
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    return folder, nb


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def _cell(nb, fragment: str):
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and fragment in c.source]
    return _text(cell)


def test_every_cell_runs(executed):
    _, nb = executed
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None
            assert not [o for o in cell.outputs if o["output_type"] == "error"], cell.source


def test_the_notebook_imports_the_folders_files(executed):
    folder, nb = executed
    line = _cell(nb, WHERE).strip()
    assert line == f"modules: {folder / 'mlp.py'} {folder / 'utils.py'}"


def test_the_toy_checks_print_the_problem_sets_figures(executed):
    _, nb = executed
    assert _cell(nb, "correct_loss = 1.182248").startswith("1.1822479803941373")
    errors = [float(v) for v in re.findall(r"max relative error: (\S+)",
                                           _cell(nb, "analytic gradients should be less"))]
    assert len(errors) == 4 and max(errors) < 1e-6
    final = float(re.search(r"Final training loss:\s+(\S+)",
                            _cell(nb, "learning_rate=0.5, reg=1e-5")).group(1))
    assert final == pytest.approx(REFERENCE_FIGURES["sigmoid_final_training_loss"], abs=1e-9)
    relu = _cell(nb, "correct_loss = 1.303788")
    assert float(re.search(r"loss =\s+(\S+)", relu).group(1)) == pytest.approx(
        REFERENCE_FIGURES["relu_loss"], abs=1e-12)


def test_mnist_runs_on_the_bundled_subset(executed):
    _, nb = executed
    assert "Train data shape:  (5000, 784)" in _cell(nb, "# load MNIST")
    sigmoid, relu = _cell(nb, "sigmoid_net = TwoLayerMLP"), _cell(nb, "relu_net = TwoLayerMLP")
    assert sigmoid.count("Epoch ") == relu.count("Epoch ") == 20
    accuracy = float(re.search(r"ReLU test accuracy:\s+(\S+)", relu).group(1))
    assert accuracy > 0.7


def test_figures_are_drawn(executed):
    _, nb = executed
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert len(images) == 6  # two toy trainings, then stats and weights of each MNIST network
