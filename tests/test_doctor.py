"""``mlp doctor``: deliberately broken runs of the real ``mlp train`` on the bundled subset, each
diagnosed as what broke it; a healthy run as healthy alone; the line ``mlp train`` prints; run
folders that are not runs, or older ones; and the questions the grader shares with the doctor."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shlex
import shutil

import numpy as np
import pytest
from test_cli import assert_one_line_error, mlp

from mlp.cli import main
from mlp.cli.command import build_parser
from mlp.run.diagnosis import (
    KINDS,
    SEVERITIES,
    Record,
    diagnose,
    fall,
    growth,
    non_finite,
    weight_change,
)
from mlp.teaching.checks import Task, judge_mnist_training

#: Small runs: 1000 training images, 500 for validation, 3 epochs (a few seconds each).
FAST = ["--train-size", "1000", "--val-size", "500", "--epochs", "3", "--no-plots",
        "--no-checkpoint"]

BROKEN = {  # name: (mlp train options, the kinds the doctor must find)
    # 100 times the default rate of 0.05: the loss grows to thousands.
    "lr-100x": (["--lr", "5"], {"diverging"}),
    # a thousandth of the default: the loss falls by less than 1%.
    "lr-1000x-small": (["--lr", "5e-5"], {"learning_rate_too_small"}),
    # ... and over 15 epochs of 5000 images: the loss falls by 15%, the weights barely move.
    "lr-1000x-small-longer": (["--lr", "5e-5", "--train-size", "5000", "--epochs", "15"],
                              {"learning_rate_too_small"}),
    # 100 times the default on sigmoid units: the loss rises over whole epochs, stays finite.
    "sigmoid-lr-100x": (["--activation", "sigmoid", "--lr", "5"], {"diverging"}),
    # 20 times the default: most ReLU units are pushed below 0 for good.
    "dying-relu": (["--lr", "1"], {"dead_units"}),
    # raw 0-255 pixels into sigmoid units.
    "raw-pixels-sigmoid": (["--activation", "sigmoid", "--no-scale"],
                           {"saturated_units", "unscaled_inputs"}),
    # 100 training images, 20 epochs: learnt by heart.
    "memorised": (["--train-size", "100", "--epochs", "20"], {"overfitting"}),
    # one hidden unit for ten classes.
    "one-unit": (["--hidden", "1", "--epochs", "10", "--train-size", "2000"], {"underfitting"}),
    # ... whose unit dies: too small to fit is said beside it.
    "one-unit-dies": (["--hidden", "1"], {"dead_units", "underfitting"}),
    # two tanh units, saturated.
    "two-tanh-units": (["--hidden", "2", "--activation", "tanh", "--epochs", "10"],
                       {"underfitting"}),
}


HEALTHY = ["--train-size", "2000", "--epochs", "5"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``trained(name)``: the folder and printed output of ``mlp train`` (in process) with
    BROKEN[name]'s options, or HEALTHY's for ``healthy``; each run once per module."""
    runs: dict[str, tuple] = {}

    def get(name: str):
        if name not in runs:
            folder = tmp_path_factory.mktemp(name) / "run"
            options = HEALTHY if name == "healthy" else BROKEN[name][0]
            with contextlib.redirect_stdout(io.StringIO()) as out:
                assert main(["train", *FAST, *options, "--out", str(folder)]) == 0
            runs[name] = folder, out.getvalue()
        return runs[name]

    return get


def findings(folder, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["doctor", str(folder), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def train_options() -> set[str]:
    parser = build_parser()
    return set(parser.commands["train"]._option_string_actions)


def check_finding(finding: dict) -> None:
    assert finding["kind"] in KINDS and finding["severity"] in SEVERITIES
    assert finding["message"] and finding["why"]
    assert set(finding["options"]) <= train_options(), finding["options"]
    for option in finding["options"]:
        assert option in finding["suggestion"]


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_run_is_diagnosed(trained, capsys, name):
    folder, out = trained(name)
    found = findings(folder, capsys)
    kinds = [f["kind"] for f in found]
    assert BROKEN[name][1] <= set(kinds) and "healthy" not in kinds, kinds
    for finding in found:
        check_finding(finding)
    # mlp train named them in its last line, with the command that explains them.
    assert out.splitlines()[-1] == (f"doctor: {', '.join(kinds)}; for the numbers and what to "
                                    f"try: mlp doctor {shlex.quote(str(folder))}")


def test_a_rate_too_small_is_told_from_a_network_too_small(trained, capsys):
    """Both end with a low training accuracy and a loss that fell: the rate too small left the
    first layer's weights where they started, the network too small moved them far."""
    found = findings(trained("lr-1000x-small-longer")[0], capsys)
    (finding,) = found
    assert finding["evidence"]["fall"] >= 0.1 and finding["evidence"]["weight_change"] < 0.1
    assert finding["message"].startswith("the first layer's weights moved only ")
    assert finding["suggestion"] == "--lr 0.0005, ten times this run's rate"
    small = findings(trained("one-unit")[0], capsys)
    assert [f["kind"] for f in small] == ["underfitting"]
    metrics = json.loads((trained("one-unit")[0] / "metrics.json").read_text())
    assert metrics["diagnostics"]["weight_change"]["W1"] > 0.1


def test_a_healthy_run_is_healthy_and_nothing_else(trained, capsys):
    healthy, out = trained("healthy")
    (finding,) = findings(healthy, capsys)
    assert finding["kind"] == "healthy" and finding["severity"] == "info"
    assert finding["options"] == [] and finding["evidence"]["train_score"] > 0.9
    assert main(["doctor", str(healthy)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"mlp doctor: {healthy}"
    assert text[1].startswith("healthy (info): no problem found: the loss fell from 2.")
    # mlp train adds no line for it.
    assert out.splitlines()[-1].startswith("wrote ") and "doctor" not in out


def test_the_text_says_what_why_and_what_to_try(trained, capsys):
    folder, _ = trained("lr-1000x-small")
    assert main(["doctor", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "learning_rate_too_small (warning): the loss fell only 0." in text
    assert "\n  why: each step moves the weights too little" in text
    assert "\n  try: --lr 0.0005, ten times this run's rate" in text


def test_a_run_that_diverges_keeps_its_folder_for_the_doctor(tmp_path):
    """mlp train stops a run whose loss explodes (exit 2, one error line); what it recorded
    until then stays in its folder, and the doctor calls it diverging."""
    result = mlp("train", "--lr", "50", "--epochs", "2", "--train-size", "500", "--no-plots",
                 "--out", "o", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mlp train: error: training diverged at epoch 1, iteration" in result.stderr
    assert result.stdout.splitlines()[-1] == (
        "doctor: diverging; for the numbers and what to try: mlp doctor o")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "history.csv", "iterations.csv", "metrics.json"]  # no model: it never trained
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["diverged"]["epoch"] == 1 and metrics["epochs"] == 0
    result = mlp("doctor", "o", "--json", cwd=tmp_path)
    (finding,) = json.loads(result.stdout)
    assert finding["kind"] == "diverging" and finding["severity"] == "error"
    assert finding["suggestion"] == "--lr 5, a tenth of this run's rate"
    assert "training diverged at epoch 1, iteration" in finding["message"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A regression table with a target no straight line fits: y = sin(2a) + b^2 - a c."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (600, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 - X[:, 0] * X[:, 2] + 0.1 * rng.standard_normal(600)
    path = tmp_path_factory.mktemp("table") / "t.csv"
    rows = [",".join(f"{v:.5f}" for v in (*x, t)) for x, t in zip(X, y, strict=True)]
    path.write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("options, kinds", [
    ([], ["healthy"]),
    (["--hidden", "0"], ["underfitting"]),  # a straight line
], ids=["healthy", "linear"])
def test_a_regression_on_a_table(table, tmp_path, capsys, options, kinds):
    capsys.readouterr()
    assert main(["train", "--data", str(table), "--target", "y", "--epochs", "20", "-q",
                 "--no-plots", "--no-checkpoint", *options, "--out", str(tmp_path / "o")]) == 0
    found = findings(tmp_path / "o", capsys)
    assert [f["kind"] for f in found] == kinds
    for finding in found:
        check_finding(finding)


def test_a_run_folder_without_the_diagnostics_gets_fewer_findings(trained, tmp_path, capsys):
    """A run written before metrics.json held the diagnostics (and without iterations.csv)."""
    folder = tmp_path / "raw"
    shutil.copytree(trained("raw-pixels-sigmoid")[0], folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    del metrics["diagnostics"]
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "iterations.csv").unlink()
    kinds = {f["kind"] for f in findings(folder, capsys)}
    assert not kinds & {"saturated_units", "unscaled_inputs", "dead_units"}


@pytest.mark.parametrize("make, message", [
    (None, "missing: no such folder; give the folder a run of mlp train wrote"),
    (lambda p: p.mkdir(), "empty: not a run folder (no metrics.json)"),
    (lambda p: p.write_text("x"), "afile: not a folder"),
], ids=["missing", "not-a-run", "a-file"])
def test_what_is_not_a_run_folder_is_one_error_line(tmp_path, make, message):
    name = message.split(":")[0]
    if make:
        make(tmp_path / name)
    assert_one_line_error(mlp("doctor", name, cwd=tmp_path), f"mlp doctor: error: {message}")


@pytest.mark.parametrize("damage, message", [
    (("metrics.json", "{not json"), "metrics.json: not the JSON mlp train writes"),
    (("metrics.json", "[1, 2]"), "metrics.json: not the JSON mlp train writes (not an object)"),
    (("metrics.json", '{"diagnostics": {"unit_activity": {"dead": [[0.5]], "saturated": []}}}'),
     "metrics.json: not the JSON mlp train writes (diagnostics.unit_activity)"),
    (("metrics.json", '{"diagnostics": {"weight_change": {"W1": "far"}}}'),
     "metrics.json: not the JSON mlp train writes (diagnostics.weight_change)"),
    (("metrics.json", '{"architecture": {"layer_sizes": [784, "8", 10]}}'),
     "metrics.json: not the JSON mlp train writes (architecture.layer_sizes)"),
    (("history.csv", "epoch,loss\n1,lots\n"), "history.csv: not the CSV mlp train writes"),
    (("history.csv", "a,b\n1,2\n"), "history.csv: not the CSV mlp train writes (no column "
                                    "epoch, loss)"),
    (("history.csv", None), "o: not a run folder (no history.csv)"),
], ids=["json", "json-list", "activity", "moved", "sizes", "csv-value", "csv-columns",
        "no-history"])
def test_a_damaged_run_folder_is_one_error_line(trained, tmp_path, damage, message):
    shutil.copytree(trained("healthy")[0], tmp_path / "o")
    name, text = damage
    if text is None:
        (tmp_path / "o" / name).unlink()
    else:
        (tmp_path / "o" / name).write_text(text)
    assert_one_line_error(mlp("doctor", "o", cwd=tmp_path), message)


# -- the diagnosis itself -----------------------------------------------------------------------


def test_the_diagnosis_of_records():
    """The rules on hand-made records: a NaN loss, a validation loss that turned back up."""
    nan = Record(losses=[2.3, 1.0, math.nan], epoch_losses=[1.6], settings={"lr": 0.1})
    (finding,) = diagnose(nan)
    assert finding.kind == "diverging" and finding.evidence["iteration"] == 3
    assert finding.suggestion == "--lr 0.01, a tenth of this run's rate"
    rising = Record(losses=[2.3], epoch_losses=[1.0, 0.5, 0.3, 0.2], val_losses=[1.0, 0.8, 1.1, 1.3],
                    train_score=0.95, val_score=0.9, settings={"reg": 1e-4, "early_stopping": True})
    (finding,) = diagnose(rising)
    assert finding.kind == "overfitting" and finding.evidence["best_val_epoch"] == 2
    assert finding.suggestion == "--reg 0.001 or --dropout 0.2"
    assert [f.kind for f in diagnose(Record())] == ["healthy"]  # nothing recorded, nothing found
    # A loss that rose over a whole epoch: diverging, though finite and lower again at the end.
    (finding,) = diagnose(Record(losses=[2.0, 2.5], epoch_losses=[2.5, 3.2, 1.9],
                                 train_score=0.8, settings={"lr": 5.0}))
    assert finding.kind == "diverging" and finding.evidence["epoch"] == 2
    assert finding.message == "epoch 2's mean loss, 3.2, is 1.6 times the first batch's (2)"
    # A low score: the rate is blamed when the weights barely moved, else the network's size.
    low = dict(losses=[2.3], epoch_losses=[2.0, 1.9], train_score=0.4, settings={"lr": 0.01})
    assert [f.kind for f in diagnose(Record(**low, moved={"W1": 0.05}))] == [
        "learning_rate_too_small"]
    assert [f.kind for f in diagnose(Record(**low, moved={"W1": 0.5}))] == ["underfitting"]
    assert [f.kind for f in diagnose(Record(**low))] == ["underfitting"]  # an older run
    # Dead units explain a low score, unless a layer is narrower than the output.
    dead = dict(low, activations=["relu"], activity={"dead": [[0.5]], "saturated": [[None]]})
    assert [f.kind for f in diagnose(Record(**dead, units=[64], outputs=10))] == ["dead_units"]
    assert [f.kind for f in diagnose(Record(**dead, units=[2], outputs=10))] == [
        "dead_units", "underfitting"]


def test_weight_change_is_the_relative_distance_moved():
    start = {"W1": np.array([[3.0, 0.0], [0.0, 4.0]]), "W2": np.zeros((2, 1))}
    end = {"W1": np.array([[3.0, 1.0], [0.0, 4.0]]), "W2": np.ones((2, 1))}
    assert weight_change(start, end) == {"W1": 0.2}  # |(0,1,0,0)| / 5; W2 started at 0


def test_the_questions_the_grader_shares():
    assert non_finite([1.0, math.inf]) and not non_finite(np.array([3.0, 2.0]))
    assert growth([2.0, 30.0, math.nan]) == 15.0 and growth([2.0]) == 1.0
    assert fall(2.0, 1.5) == 0.25 and fall(2.0, 3.0) == -0.5
    # The grader's MNIST training check: a loss that grew far beyond its start is called so.
    task = Task("mnist/relu/x", "train", {}, {}, "run", True, (), dict)
    ref = {"history": {"loss_history": np.ones(4), "val_acc_history": np.ones(2)}}
    verdict = judge_mnist_training({"history": {"loss_history": np.array(
        [2.0, 50.0, 80.0, 90.0])}}, ref, task)
    assert verdict.credit == 0 and verdict.hint.startswith("the loss grew to 45 times its first")
    verdict = judge_mnist_training({"history": {"loss_history": np.array(
        [2.0, 2.1, 2.2, 2.1])}}, ref, task)
    assert verdict.hint == "the loss does not go down: check the gradients (Q2.2, Q2.4)"
