"""Tests for CSV tables (mlp.data.tabular), the standardiser and the seeded split: real files in
tmp_path, and the exact messages a user reads."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from mlp.data import (
    DataFileError,
    Standardizer,
    read_csv,
    read_csv_features,
    shuffle_split,
    split_sizes,
)
from mlp.data.tabular import MAX_INTEGER_LEVELS, encode_labels
from mlp.losses import output_head


def write(tmp_path, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_features_target_and_names(tmp_path):
    path = write(tmp_path, "x1, x2 ,label\n1,2.5,cat\n-3,4e2,dog\n\n5,6,cat\n")
    table = read_csv(path, "label")
    assert table.features == ["x1", "x2"] and table.target == "label"
    np.testing.assert_array_equal(table.X, [[1, 2.5], [-3, 400], [5, 6]])
    assert table.X.dtype == np.float64
    assert table.task == "classification" and table.classes == ["cat", "dog"]
    np.testing.assert_array_equal(table.y, [0, 1, 0])


def test_task_follows_the_target(tmp_path):
    few = write(tmp_path, "a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(9)), "few.csv")
    table = read_csv(few, "y")
    assert table.task == "classification" and table.classes == ["0", "1", "2"]
    assert table.y.dtype == np.int64
    many = "a,y\n" + "".join(f"{i},{i}\n" for i in range(MAX_INTEGER_LEVELS + 1))
    assert read_csv(write(tmp_path, many, "many.csv"), "y").task == "regression"
    floats = write(tmp_path, "a,y\n1,0.5\n2,1.5\n3,0.5\n", "floats.csv")
    table = read_csv(floats, "y")
    assert table.task == "regression" and table.classes is None
    np.testing.assert_array_equal(table.y, [0.5, 1.5, 0.5])
    forced = read_csv(floats, "y", task="classification")
    assert forced.classes == ["0.5", "1.5"] and forced.y.tolist() == [0, 1, 0]
    # Whole numbers written as floats are the same classes, named canonically.
    assert read_csv(write(tmp_path, "a,y\n1,1.0\n2,2\n", "w.csv"), "y").classes == ["1", "2"]


def test_a_stray_word_among_numbers_is_an_error_not_a_class(tmp_path):
    path = write(tmp_path, "a,y\n1,0.5\n2,1.5\n3,n/a\n")
    with pytest.raises(DataFileError, match="data row 3, column 'y': 'n/a' is not a number, but "
                                            "the column's other values are numbers"):
        read_csv(path, "y")
    assert read_csv(path, "y", task="classification").classes == ["0.5", "1.5", "n/a"]


def test_a_constant_regression_target_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="the target 'y' holds 0.5 in every row"):
        read_csv(write(tmp_path, "a,y\n1,0.5\n2,0.5\n"), "y")


def test_text_in_memory_reads_as_the_file_and_the_target_defaults_to_the_last_column(tmp_path):
    text = "x1,x2,label\n1,2.5,cat\n-3,4e2,dog\n"
    from_text = read_csv("upload.csv", None, text=text)
    from_file = read_csv(write(tmp_path, text), "label")
    assert from_text.target == "label" and from_text.classes == from_file.classes
    np.testing.assert_array_equal(from_text.X, from_file.X)
    with pytest.raises(DataFileError, match="^upload.csv: line 1 must name the columns"):
        read_csv("upload.csv", None, text="1,2,3\n4,5,6\n")


def test_the_output_layer_of_a_task():
    assert output_head("classification", 2) == ("sigmoid", 1)
    assert output_head("classification", 10) == ("softmax", 10)
    assert output_head("regression", 1) == ("linear", 1)
    with pytest.raises(ValueError, match="at least 2 classes"):
        output_head("classification", 1)


def test_chosen_features_and_their_order(tmp_path):
    path = write(tmp_path, "a,b,name,y\n1,2,x,0\n3,4,z,1\n")
    table = read_csv(path, "y", features=["b", "a"])
    np.testing.assert_array_equal(table.X, [[2, 1], [4, 3]])
    with pytest.raises(DataFileError, match="column 'name': 'x' is not a number"):
        read_csv(path, "y")
    with pytest.raises(DataFileError, match="no column 'c' among the features"):
        read_csv(path, "y", features=["a", "c"])
    with pytest.raises(DataFileError, match="the target 'y' cannot be a feature too"):
        read_csv(path, "y", features=["a", "y"])


def test_features_for_prediction_are_matched_by_name(tmp_path):
    path = write(tmp_path, "extra,b,a\nq,2,1\nr,4,3\n")
    np.testing.assert_array_equal(read_csv_features(path, ["a", "b"]), [[1, 2], [3, 4]])
    with pytest.raises(DataFileError) as info:
        read_csv_features(path, ["a", "c"])
    assert str(info.value) == (f"{path}: no column 'c', which the model needs (it reads 'a', "
                               "'c'; the file has 'extra', 'b', 'a')")


@pytest.mark.parametrize(("text", "words"), [
    ("", "empty file: a CSV file needs a header row naming the columns, then one row per "
         "example"),
    ("\n\n", "empty file: a CSV file needs a header row naming the columns, then one row per "
             "example"),
    ("a,y\n", "a header row but no data rows"),
    ("1,2\n3,4\n", "line 1 must name the columns, but it holds numbers (1, 2): add a header row"),
    ("a,,y\n1,2,3\n", "line 1: column 2 has no name"),
    ("a,a,y\n1,2,3\n", "line 1: two columns are named 'a'"),
    ("a,y\n1,2\n3\n", "line 3 (data row 2) has 1 fields, the header 2"),
    ("a,b,y\n1,2,0\n3,,1\n", "line 3 (data row 2), column 'b': the value is missing"),
    ("a,b,y\n1,2,0\n3,abc,1\n", "line 3 (data row 2), column 'b': 'abc' is not a number"),
    ("a,b,y\n1,nan,0\n", "line 2 (data row 1), column 'b': 'nan' is not a finite number"),
    ("a,b,y\n1,2,0\n\n3,inf,1\n", "line 4 (data row 2), column 'b': 'inf' is not a finite number"),
    ("a,y\n1,0\n2,\n", "line 3 (data row 2), column 'y': the target value is missing"),
    ("a,label\n1,b\n2,b\n", "the target 'label' has a single value, 'b': there is nothing to "
                            "classify"),
    ("y\n1\n2\n", "the target 'y' is the only column: there are no features to learn from"),
    ("a,b\n1,2\n", "no column 'y' to learn (the columns are 'a', 'b')"),
])
def test_each_problem_names_the_file_line_and_column(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(DataFileError) as info:
        read_csv(path, "y" if "label" not in text else "label")
    assert str(info.value) == f"{path}: {words}"
    assert isinstance(info.value, ValueError)


def test_regression_target_must_be_numbers(tmp_path):
    path = write(tmp_path, "a,y\n1,2\n2,three\n")
    with pytest.raises(DataFileError, match="data row 2, column 'y': 'three' is not a number"):
        read_csv(path, "y", task="regression")
    with pytest.raises(ValueError, match="task must be one of 'classification', 'regression'"):
        read_csv(path, "y", task="clustering")


def test_files_that_are_not_tables(tmp_path):
    big = write(tmp_path, "a,y\n" + "1,2\n" * 100, "big.csv")
    with pytest.raises(DataFileError, match=r"404 bytes, more than the 100 bytes read"):
        read_csv(big, "y", max_bytes=100)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"a,y\n\xff\xfe,1\n")
    with pytest.raises(DataFileError, match="not UTF-8 text"):
        read_csv(binary, "y")
    with pytest.raises(DataFileError, match="not a regular file"):
        read_csv(tmp_path, "y")
    with pytest.raises(FileNotFoundError, match="nope.csv: no such file"):
        read_csv(tmp_path / "nope.csv", "y")
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffa,y\n1,0\n2,1\n".encode())  # Excel's "CSV UTF-8"
    assert read_csv(bom, "y").features == ["a"]


def test_unknown_labels_are_named(tmp_path):
    assert encode_labels("f.csv", "y", ["b", "a", "b"], ["a", "b"]).tolist() == [1, 0, 1]
    # Numeric classes match by value: 2.0 in the file is the class written 2.
    assert encode_labels("f.csv", "y", ["2.0", "1"], ["1", "2"]).tolist() == [1, 0]
    with pytest.raises(DataFileError, match="data row 2, column 'y': label 'c' is not one of the "
                                            "model's classes \\('a', 'b'\\)"):
        encode_labels("f.csv", "y", ["a", "c"], ["a", "b"])


def test_standardizer_uses_what_it_was_fitted_on():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    s = Standardizer.fit(X)
    np.testing.assert_array_equal(s.mean, [3, 5])
    np.testing.assert_allclose(s.std, [np.sqrt(8 / 3), 1.0])  # a constant column keeps std 1
    np.testing.assert_allclose(s.transform(X)[:, 0], [-1.2247449, 0, 1.2247449], rtol=1e-7)
    np.testing.assert_array_equal(s.transform(X)[:, 1], 0)
    assert s.transform(X, np.float32).dtype == np.float32
    again = Standardizer.from_dict(s.to_dict(), 2)
    np.testing.assert_array_equal(again.mean, s.mean)
    np.testing.assert_array_equal(again.std, s.std)
    with pytest.raises(ValueError, match="must hold 3 means"):
        Standardizer.from_dict(s.to_dict(), 3)
    with pytest.raises(ValueError, match="positive standard deviations"):
        Standardizer.from_dict({"mean": [0.0], "std": [0.0]}, 1)
    with pytest.raises(ValueError, match="X must have 2 columns"):
        s.transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="N >= 1 rows"):
        Standardizer.fit(np.zeros((0, 2)))


def test_split_is_seeded_and_complete():
    train, val, test = shuffle_split(20, 0.15, 5, seed=3)
    assert (len(train), len(val), len(test)) == (12, 3, 5)
    assert sorted(np.concatenate([train, val, test])) == list(range(20))
    again = shuffle_split(20, 0.15, 5, seed=3)
    for a, b in zip((train, val, test), again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(shuffle_split(20, 0.15, 5, seed=4)[0], train)


@pytest.mark.parametrize(("n", "val", "test", "words"), [
    (3, 0.15, 0.15, "val 0.15 of 3 rows is no rows at all"),
    (4, 2, 2, "4 rows leave none for training after 2 for validation and 2 for testing"),
    (10, 1.5, 0, "val must be a count or a fraction in \\[0, 1\\); got 1.5"),
    (10, -1, 0, "val must be a count or a fraction"),
])
def test_split_sizes_that_cannot_work(n, val, test, words):
    with pytest.raises(ValueError, match=words):
        split_sizes(n, val, test)
    assert split_sizes(10, 0, 0) == (10, 0, 0)


def test_a_header_of_100000_columns_is_checked_in_linear_time(tmp_path):
    """Names are checked against a set: 100,000 columns (a 2 MB file) read in a second or two
    where a quadratic check took minutes; run in a process with a time limit, so that a
    regression fails rather than hangs."""
    n = 100_000
    names = [f"c{i}" for i in range(n)]
    rows = "\n".join(",".join([str(r)] * n) for r in range(3))
    (tmp_path / "wide.csv").write_text(",".join(names) + "\n" + rows + "\n")
    (tmp_path / "twice.csv").write_text(",".join([*names[:-1], "c7"]) + "\n" + rows + "\n")
    code = ("import sys; from mlp.data import read_csv\n"
            "t = read_csv(sys.argv[1], None, task='regression'); print(t.X.shape)\n"
            "try:\n    read_csv(sys.argv[2], None)\nexcept ValueError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "wide.csv"),
                           str(tmp_path / "twice.csv")], capture_output=True, text=True,
                          timeout=60, check=True)
    shape, message = done.stdout.splitlines()
    assert shape == f"(3, {n - 1})"
    assert "line 1: two columns are named 'c7'" in message


@pytest.mark.parametrize("column, value, task", [("a", "1e+300", "regression"),
                                                  ("t", "-2e+200", "regression"),
                                                  ("a", "5e+160", "classification")])
def test_values_whose_square_overflows_are_refused_naming_the_row(tmp_path, column, value, task):
    """Finite, but beyond 1e150: the standardisation's variance or the squared error would be
    inf and the predictions NaN; the error names the row, the column and the value."""
    rows = [["0.5", "1", "1.5"], ["0.1", "2", "2.5"], ["0.9", "1", "0.5"], ["0.3", "2", "3.5"]]
    header = ["a", "b", "t"]
    rows[2][header.index(column)] = value
    path = tmp_path / "t.csv"
    path.write_text("a,b,t\n" + "\n".join(",".join(r) for r in rows) + "\n")
    where = "data row 3), column 'a'" if column == "a" else "data row 3, column 't'"
    with pytest.raises(ValueError, match=re.escape(f"{where}: '{value}' is beyond ±1e+150")):
        read_csv(path, "t" if task == "regression" else "b", task=task)
