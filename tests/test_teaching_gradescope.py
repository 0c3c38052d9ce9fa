"""``mlp assignment --gradescope``: Gradescope's autograder zip, unzipped and run as Gradescope
runs it (the root in a temporary folder, the python of this test)."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mlp
from mlp.teaching.assignment import solution_source, starter_source
from mlp.teaching.gradescope import PACKAGE_DIR, package_files

SCRIPTS = ("setup.sh", "run_autograder")
PACKAGE = Path(mlp.__file__).parent
FAILED = "The autograder failed"


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    """The zip, as the command writes it."""
    folder = tmp_path_factory.mktemp("gradescope") / "ps4"
    result = subprocess.run([sys.executable, "-m", "mlp", "assignment", str(folder),
                             "--gradescope"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"wrote {folder / 'autograder.zip'}" in result.stdout
    return folder / "autograder.zip"


def unzip(archive: Path, folder: Path) -> None:
    """As unzip does: each file with the Unix mode the zip records."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            Path(zf.extract(info, folder)).chmod((info.external_attr >> 16) & 0o777)


def gradescope_root(tmp_path: Path, autograder: Path, upload: dict[str, str]) -> Path:
    """Gradescope's folders: source/ (the zip), submission/ (the upload), results/."""
    root = tmp_path / "autograder"
    unzip(autograder, root / "source")
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    for name, text in upload.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "submission_metadata.json").write_text('{"users": [{"email": "a@b.c"}]}')
    return root


def run_autograder(root: Path, python: str = sys.executable) -> dict:
    """Run ``run_autograder`` as Gradescope does (copied to the root), from the upload's folder
    (where a student's mlp.py must not stand in for the package); returns results.json."""
    script = shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "MLP_AUTOGRADER_PYTHON": python}
    result = subprocess.run([script], cwd=root / "submission", env=env, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_the_zip_holds_the_scripts_and_a_copy_of_the_package(autograder):
    with zipfile.ZipFile(autograder) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        bundled = {name: zf.read(f"{PACKAGE_DIR}/{name}") for name, _ in package_files()}
    assert set(infos) == {*SCRIPTS, *(f"{PACKAGE_DIR}/{name}" for name in bundled)}
    assert {"teaching/templates/mlp.py", "teaching/probe.py", "datasets/README.md",
            "datasets/mnist-small/train-images-idx3-ubyte.gz", "__main__.py"} <= set(bundled)
    assert not [n for n in bundled if "__pycache__" in n or n.startswith("playground/static")]
    assert all(data == (PACKAGE / name).read_bytes() for name, data in bundled.items())
    modes = {name: info.external_attr >> 16 for name, info in infos.items()}
    assert {modes[name] for name in SCRIPTS} == {stat.S_IFREG | 0o755}
    assert {modes[name] for name in infos if name not in SCRIPTS} == {stat.S_IFREG | 0o644}


def test_setup_installs_python_bubblewrap_and_numpy(autograder):
    with zipfile.ZipFile(autograder) as zf:
        setup = zf.read("setup.sh").decode()
    assert "python3-venv python3-pip bubblewrap" in setup
    assert "pip install --no-cache-dir 'numpy>=1.24'" in setup


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_scripts_are_bash(autograder, tmp_path, name):
    unzip(autograder, tmp_path)
    assert os.access(tmp_path / name, os.X_OK)
    result = subprocess.run(["bash", "-n", tmp_path / name], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_bundled_package_is_the_one_imported(autograder, tmp_path):
    root = gradescope_root(tmp_path, autograder, {"mlp.py": "raise SystemExit('student')\n"})
    bundle = root / "source" / PACKAGE_DIR.rsplit("/", 1)[0]
    env = {**os.environ, "PYTHONPATH": str(bundle)}
    result = subprocess.run([sys.executable, "-P", "-c", "import mlp; print(mlp.__file__)"],
                            cwd=root / "submission", env=env, capture_output=True, text=True)
    assert result.stdout.strip() == str(bundle / "mlp" / "__init__.py"), result.stderr


@pytest.mark.parametrize("source, upload, score", [
    (solution_source, "mlp.py", 45),
    (solution_source, "ps4/mlp.py", 45),  # a zipped folder, as Gradescope unpacks it
    (starter_source, "mlp.py", 0),
])
def test_an_upload_is_graded(autograder, tmp_path, source, upload, score):
    root = gradescope_root(tmp_path, autograder, {upload: source()})
    results = run_autograder(root)
    assert FAILED not in results["output"]
    assert results["score"] == score
    assert len(results["tests"]) > 1
    assert sum(t["max_score"] for t in results["tests"]) == 45
    assert sum(t["score"] for t in results["tests"]) == score
    assert_unreadable_to_others(root)


def assert_unreadable_to_others(root: Path) -> None:
    """The grader's files, the results' folder and the upload's metadata: no bits for group or
    others."""
    paths = [root / "source", *(root / "source").rglob("*"), root / "results",
             root / "submission_metadata.json"]
    assert [p for p in paths if p.stat().st_mode & 0o077] == []


def test_a_grader_that_cannot_start_leaves_a_score_of_0(autograder, tmp_path):
    root = gradescope_root(tmp_path, autograder, {"mlp.py": solution_source()})
    # The bundled package comes first on the path, so this python cannot import mlp.
    (root / "source" / PACKAGE_DIR / "__init__.py").write_text("raise ImportError('broken')\n")
    results = run_autograder(root)
    assert results["score"] == 0 and results["tests"] == []
    assert results["output"].startswith(FAILED)
    assert "broken" not in results["output"]
    assert results["stdout_visibility"] == "hidden"
    assert_unreadable_to_others(root)


def test_a_missing_python_leaves_a_score_of_0(autograder, tmp_path):
    root = gradescope_root(tmp_path, autograder, {"mlp.py": solution_source()})
    results = run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert results == {"score": 0, "tests": [], "output": results["output"],
                       "visibility": "visible", "stdout_visibility": "hidden"}
    assert results["output"].startswith(FAILED + " (exit status 127)")


def test_an_empty_upload_scores_0_without_a_traceback(autograder, tmp_path):
    root = gradescope_root(tmp_path, autograder, {})
    results = run_autograder(root)
    assert results["score"] == 0
    assert "Traceback" not in json.dumps(results)
