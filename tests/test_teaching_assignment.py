"""``mlp assignment``: the folder for students, which never imports this library."""

import ast
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from mlp.data import load_mnist_small
from mlp.demo import REFERENCE_FIGURES, toy_data
from mlp.gradcheck import eval_numerical_gradient, rel_error
from mlp.teaching.assignment import (
    FILES,
    solution_source,
    starter_source,
    template_text,
    write_assignment,
)
from mlp.viz import visualize_grid


def mlp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mlp", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def load(path, name):
    """A file of the folder as a module of its own name (never ``mlp``)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignment") / "ps4"
    result = mlp("assignment", out)
    assert result.returncode == 0, result.stderr
    return out


def test_the_folder_holds_the_files_and_the_bundled_subset(folder):
    assert {p.name for p in folder.iterdir()} == {*FILES, "data"}
    assert sorted(p.name for p in (folder / "data").iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert (folder / "mlp.py").read_text() == starter_source()


def test_the_starter_raises_for_each_part_to_implement():
    source = starter_source()
    for label in ("Q2.1", "Q2.2", "Q2.3", "Q2.4"):
        assert f"raise NotImplementedError('{label}" in source or (
            f'raise NotImplementedError("{label}' in source)
    assert "BEGIN SOLUTION" not in source and "np.argmax" not in source
    ast.parse(source)


def test_the_solution_is_the_template_without_markers():
    source = solution_source()
    assert "SOLUTION" not in source and "NotImplementedError" not in source
    template = template_text("mlp.py")
    assert template.count("# BEGIN SOLUTION") == template.count("# END SOLUTION") == 8


def test_student_files_import_numpy_and_the_standard_library_only(folder):
    assert imports((folder / "mlp.py").read_text()) == {"numpy"}
    assert imports(solution_source()) == {"numpy"}
    assert imports((folder / "utils.py").read_text()) <= {"numpy", "gzip", "os"}
    notebook = json.loads((folder / "problem_set_4.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert "from mlp import TwoLayerMLP" in code
    for name in ("eval_numerical_gradient", "get_MNIST_data", "visualize_grid"):
        assert f"from utils import {name}" in code
    assert "mlp." not in code.replace("net.", "")  # no mlp.<anything> of this library


def test_the_solution_reproduces_the_problem_sets_toy_figures(tmp_path):
    solution = tmp_path / "mlp.py"
    solution.write_text(solution_source())
    student = load(solution, "student_solution")
    X, y = toy_data()
    for activation, lr, epochs in (("sigmoid", 0.5, 100), ("relu", 0.1, 50)):
        np.random.seed(0)
        net = student.TwoLayerMLP(4, 10, 3, std=0.1, activation=activation)
        assert net.loss(X, y, reg=0.1)[0] == pytest.approx(
            REFERENCE_FIGURES[f"{activation}_loss"], abs=1e-12)
        stats = net.train(X, y, X, y, learning_rate=lr, reg=1e-5, num_epochs=epochs)
        assert stats["loss_history"][-1] == pytest.approx(
            REFERENCE_FIGURES[f"{activation}_final_training_loss"], abs=1e-9)


def test_utils_agrees_with_the_library(folder):
    utils = load(folder / "utils.py", "student_utils")
    ours = utils.get_MNIST_data()
    for a, b in zip(ours, load_mnist_small(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    rng = np.random.default_rng(0)
    tiles = rng.standard_normal((10, 5, 6))
    tiles[3] = 2.0  # a constant tile
    assert np.allclose(utils.visualize_grid(tiles, padding=2), visualize_grid(tiles, padding=2),
                       rtol=0, atol=1e-9)
    x = rng.standard_normal((3, 4))

    def f(_):
        return float(np.sum(np.sin(x) * x))

    assert np.allclose(utils.eval_numerical_gradient(f, x, verbose=False),
                       eval_numerical_gradient(f, x, verbose=False), rtol=0, atol=1e-12)
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    assert utils.rel_error(a, b) == rel_error(a, b)


def test_an_existing_assignment_is_not_overwritten(folder):
    before = (folder / "mlp.py").read_text()
    result = mlp("assignment", folder, "--solution")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "already holds mlp.py" in result.stderr and "--force" in result.stderr
    assert (folder / "mlp.py").read_text() == before


def test_force_and_solution(tmp_path):
    write_assignment(tmp_path)
    write_assignment(tmp_path, solution=True, force=True)
    assert (tmp_path / "mlp.py").read_text() == solution_source()


def test_full_mnist(tmp_path, mnist_dir):
    write_assignment(tmp_path, full=True)
    utils = load(tmp_path / "utils.py", "student_utils_full")
    X_train, y_train, X_val, y_val, X_test, y_test = utils.get_MNIST_data()
    assert X_train.shape == (50000, 784) and X_val.shape == (10000, 784)
    assert X_test.shape == (10000, 784) and y_test.dtype == np.int64
