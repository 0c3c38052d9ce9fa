"""``mlp train/predict/evaluate`` on CSV tables of your own, run for real on files in tmp_path."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from test_cli import assert_one_line_error, mlp

from mlp import serialization as mio
from mlp.data import shuffle_split

N = 240


def write_table(path, columns: dict[str, list]):
    names = list(columns)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(zip(*columns.values(), strict=True))
    return path


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Flowers (three named species, learnable from two measures on very different scales) and
    houses (a price that is a linear function of two features plus noise)."""
    folder = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    width, height = rng.uniform(0, 1, N), rng.uniform(0, 1000, N)
    species = np.where(width > 0.66, "virginica", np.where(height > 500, "versicolor", "setosa"))
    flowers = write_table(folder / "flowers.csv", {
        "width": np.round(width, 4), "height": np.round(height, 2), "species": species})
    rooms, area = rng.integers(1, 6, N), rng.uniform(30, 200, N)
    price = 50_000 + 10_000 * rooms + 2_000 * area + rng.normal(0, 1_000, N)
    houses = write_table(folder / "houses.csv", {
        "rooms": rooms, "area": np.round(area, 1), "town": ["x"] * N, "price": np.round(price)})
    return {"folder": folder, "flowers": flowers, "houses": houses, "species": species,
            "width": width, "height": height, "price": price, "rooms": rooms, "area": area}


@pytest.fixture(scope="module")
def classifier(tables):
    cwd = tables["folder"]
    result = mlp("train", "--data", "flowers.csv", "--target", "species", "--hidden", "16",
                 "--epochs", "40", "--seed", "3", "--out", "cls", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return {"result": result, "out": cwd / "cls", "model": cwd / "cls" / "model.npz"}


def test_classifier_keeps_names_and_the_training_split_statistics(tables, classifier):
    assert ("2-16-3 relu on flowers.csv (target 'species', classification; 168 train, 36 val, "
            "36 test)") in classifier["result"].stdout
    extra = mio.load_metadata(classifier["model"])["extra"]
    table = extra["table"]
    assert table["features"] == ["width", "height"] and table["target"] == "species"
    assert table["classes"] == ["setosa", "versicolor", "virginica"]
    assert table["task"] == "classification" and table["target_standardize"] is None
    # Mean and std of the training rows only, as split by the seed.
    train, _, _ = shuffle_split(N, 0.15, 0.15, seed=3)
    X = np.column_stack([np.round(tables["width"], 4), np.round(tables["height"], 2)])
    np.testing.assert_allclose(table["standardize"]["mean"], X[train].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(table["standardize"]["std"], X[train].std(axis=0), rtol=1e-12)
    assert not np.allclose(table["standardize"]["mean"], X.mean(axis=0), rtol=1e-6)
    metrics = json.loads((classifier["out"] / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.85
    assert metrics["data"]["classes"] == table["classes"]
    assert sorted(p.name for p in classifier["out"].iterdir()) == [
        "checkpoint.npz", "confusion_matrix.png", "history.csv", "iterations.csv",
        "metrics.json", "model.npz", "stats.png", "unit_activity.png"]


def test_predict_matches_columns_by_name(tables, classifier, tmp_path):
    # Other column order, an extra column, no target: what a user's new data looks like.
    new = write_table(tmp_path / "new.csv", {
        "note": ["n"] * 5, "height": np.round(tables["height"][:5], 2),
        "width": np.round(tables["width"][:5], 4)})
    result = mlp("predict", classifier["model"], new)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [r["row"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(r["species"] in ("setosa", "versicolor", "virginica") for r in rows)
    assert all(0 < float(r["probability"]) <= 1 for r in rows)
    same = mlp("predict", classifier["model"], tables["flowers"])
    assert same.stdout.splitlines()[:6] == result.stdout.splitlines()
    written = mlp("predict", classifier["model"], new, "--out", tmp_path / "p.csv")
    assert written.returncode == 0 and written.stdout == ""
    assert (tmp_path / "p.csv").read_text() == result.stdout
    missing = write_table(tmp_path / "missing.csv", {"width": [0.5]})
    assert_one_line_error(mlp("predict", classifier["model"], missing),
                          f"{missing}: no column 'height', which the model needs (it reads "
                          "'width', 'height'; the file has 'width')")


def test_evaluate_a_classifier_on_a_table(tables, classifier):
    result = mlp("evaluate", classifier["model"], "--data", tables["flowers"], "--json",
                 "--no-figure")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["examples"] == N and data["target"] == "species"
    assert set(data["per_class_accuracy"]) == {"setosa", "versicolor", "virginica"}
    predicted = [row.split(",")[1] for row in mlp("predict", classifier["model"],
                                                  tables["flowers"]).stdout.splitlines()[1:]]
    assert data["accuracy"] == pytest.approx(np.mean(np.array(predicted) == tables["species"]))
    text = mlp("evaluate", classifier["model"], "--data", tables["flowers"])
    assert "accuracy: " in text.stdout and "virginica" in text.stdout
    assert (classifier["out"] / "confusion_matrix_flowers_all.png").exists()
    assert_one_line_error(mlp("evaluate", classifier["model"]),
                          "was trained on a CSV table: give --data FILE.csv")
    assert_one_line_error(mlp("evaluate", classifier["model"], "--data", tables["flowers"],
                              "--target", "width"),
                          "data row 1, column 'width': label", "is not one of the model's "
                          "classes ('setosa', 'versicolor', 'virginica')")


def test_regression_predicts_in_the_targets_units(tables, tmp_path):
    cwd = tables["folder"]
    result = mlp("train", "--data", "houses.csv", "--target", "price", "--features", "rooms,area",
                 "--hidden", "8", "--epochs", "60", "--schedule", "constant", "--out", "reg", "-q",
                 cwd=cwd)
    assert result.returncode == 0, result.stderr
    model = mio.load(cwd / "reg" / "model.npz")
    assert model.output == "linear" and model.layer_sizes == [2, 8, 1]
    metrics = json.loads((cwd / "reg" / "metrics.json").read_text())
    assert metrics["test_r2"] > 0.99 and 0 < metrics["test_rmse"] < 5_000  # noise: 1,000
    evaluated = json.loads(mlp("evaluate", cwd / "reg" / "model.npz", "--data", "houses.csv",
                               "--json", cwd=cwd).stdout)
    assert evaluated["r2"] > 0.99 and evaluated["rmse"] < 5_000
    rows = list(csv.DictReader(mlp("predict", cwd / "reg" / "model.npz", "houses.csv",
                                   cwd=cwd).stdout.splitlines()))
    predicted = np.array([float(r["price"]) for r in rows])
    rmse = np.sqrt(np.mean((predicted - np.round(tables["price"])) ** 2))
    assert rmse == pytest.approx(evaluated["rmse"], rel=1e-3)
    info = mlp("info", cwd / "reg" / "model.npz")
    assert "target 'price', regression, 2 standardised features" in info.stdout
    assert "R^2: train" in info.stdout and "test RMSE" in info.stdout


def test_early_stopping_keeps_the_best_epoch(tables, tmp_path):
    cwd = tables["folder"]
    result = mlp("train", "--data", "flowers.csv", "--target", "species", "--hidden", "16",
                 "--epochs", "200", "--lr", "0.5", "--early-stopping", "--patience", "3",
                 "--no-plots", "--out", "es", cwd=cwd)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((cwd / "es" / "metrics.json").read_text())
    stop = metrics["early_stopping"]
    assert stop["patience"] == 3 and 0 < stop["stopped_epoch"] < 200
    assert metrics["epochs"] == stop["stopped_epoch"] == stop["best_epoch"] + 3
    val_loss = [float(row["val_loss"]) for row in
                csv.DictReader((cwd / "es" / "history.csv").read_text().splitlines())]
    assert stop["best_val_loss"] == pytest.approx(min(val_loss))
    assert f"early stopping kept epoch {stop['best_epoch']}" in result.stdout


@pytest.mark.parametrize("text, args, fragments", [
    ("a,y\n1,0\n2,x\n3,1\n", ["--features", "y"], ["the target 'y' cannot be a feature too"]),
    ("a,b,y\n1,2,0\n1,oops,1\n", [], ["t.csv: line 3 (data row 2), column 'b': 'oops' is not a "
                                      "number"]),
    ("a,b,y\n1,2,0\n1,,1\n", [], ["line 3 (data row 2), column 'b': the value is missing"]),
    ("a,b\n1,2\n", [], ["t.csv: no column 'y' to learn (the columns are 'a', 'b')"]),
    ("", [], ["t.csv: empty file"]),
    ("a,y\n1,0\n2,1\n3,0\n", [], ["--data t.csv: val 0.15 of 3 rows is no rows at all: give a "
                                  "count instead, or more data (--val-size 0.15, --test-size "
                                  "0.15)"]),
    ("a,y\n" + "1,0\n2,1\n" * 10, ["--test-size", "0"], ["--data t.csv: the test split is empty "
                                                          "(--test-size 0 of 20 rows)"]),
    ("a,y\n" + "1,0\n2,1\n" * 10, ["--train-size", "15"],
     ["--train-size 15 is more than the 14 training rows of t.csv"]),
    ("a,y\n" + "1,0\n2,1\n" * 10, ["--task", "regression", "--early-stopping", "--val-size",
                                   "0"], ["--early-stopping watches the validation loss"]),
])
def test_bad_tables_are_one_line(tmp_path, text, args, fragments):
    (tmp_path / "t.csv").write_text(text)
    result = mlp("train", "--data", "t.csv", "--target", "y", *args, "--out", "o", cwd=tmp_path)
    assert_one_line_error(result, "mlp train: error: ", *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_a_table_too_large_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(50_000_001)  # sparse: no time or disk spent
    assert_one_line_error(mlp("train", "--data", big, "--target", "y", cwd=tmp_path),
                          f"{big}: 50,000,001 bytes, more than the 50,000,000 bytes read from a "
                          "CSV file")
