"""The playground's server side without a browser: config checks, data sets, features, CSV
uploads, sessions on the library, and the exported model and script."""

import json
import subprocess
import sys

import numpy as np
import pytest

import mlp
from mlp.data import DataFileError
from mlp.playground.config import (
    MAX_BATCH,
    MAX_LAYERS,
    MAX_WIDTH,
    PRESETS,
    SETTING_OF,
    Config,
    ConfigError,
    controls,
)
from mlp.playground.datasets import CLASSIFICATION, DATASETS, REGRESSION, make_points, split
from mlp.playground.export import model_bytes, script
from mlp.playground.features import FEATURES, expand, grid
from mlp.playground.session import Session, build_model, load_data, train_options
from mlp.playground.upload import parse_csv
from mlp.run.settings import SETTINGS
from mlp.run.values import SettingsError

# -- config -----------------------------------------------------------------------------------


def test_default_config_round_trips_through_its_link():
    c = Config()
    assert Config.from_query(c.to_query()) == c
    assert Config.from_dict(c.to_dict()) == c


def test_link_sets_every_kind_of_field():
    c = Config.from_query("?dataset=spiral&classes=3&hidden=8,8,8&features=x2,x1,sin_x1"
                          "&learning_rate=0.1&batch_norm=1&hide=gradcheck,export&noise=0.25")
    assert (c.dataset, c.classes, c.hidden, c.learning_rate) == ("spiral", 3, (8, 8, 8), 0.1)
    assert c.features == ("x1", "x2", "sin_x1")  # canonical order
    assert c.batch_norm is True and c.noise == 0.25
    assert c.hide == ("gradcheck", "export")
    assert Config.from_query(c.to_query()) == c


@pytest.mark.parametrize("values, message", [
    ({"hidden": [4, 9]}, "hidden: expected a list of 0 to 6 layer widths, each an integer from 1 to 8; got [4, 9]"),
    ({"hidden": [1] * 7}, "hidden: expected a list of 0 to 6 layer widths"),
    ({"learning_rate": "fast"}, "learning_rate: expected a number; got 'fast'"),
    ({"learning_rate": 0}, "learning_rate: expected a positive number, got '0'"),
    ({"batch_size": 2.5}, "batch_size: expected a positive integer up to 2147483647, got '2.5'"),
    ({"batch_size": True}, "batch_size: expected a number; got True"),
    ({"batch_size": 501}, "batch_size: expected at most 500 examples per batch in the page; got 501"),
    ({"dropout": 1}, "dropout: expected dropout rates in [0, 1)"),
    ({"activation": "relu,tanh"}, "activation: expected one value, for every hidden layer; got 'relu,tanh'"),
    ({"optimizer": "momentum"}, "optimizer: expected one of sgd, adam, got 'momentum'"),
    ({"batch_norm": True, "batch_size": 1}, "config: batch_norm needs batch_size 2 or more (it normalises with the batch's statistics), got 1"),
    ({"dataset": "../../etc/passwd"}, "dataset: expected one of circle, xor, gauss, spiral, moons, plane, gaussians, upload; got '../../etc/passwd'"),
    ({"dataset": "xor", "classes": 3}, "classes: expected exactly 2 classes for the xor set; got 3"),
    ({"classes": 6}, "classes: expected an integer from 2 to 5; got 6"),
    ({"features": []}, "features: expected a list of at least one of x1, x2, x1^2, x2^2, x1x2, sin_x1, sin_x2; got []"),
    ({"features": ["x3"]}, "features: expected a list of at least one of"),
    ({"activation": "gelu"}, "activation: expected one of relu, sigmoid, tanh, leaky_relu, or a comma-separated list of them with one per hidden layer, got 'gelu'"),
    ({"noise": float("nan")}, "noise: expected a number from 0 to 0.5; got nan"),
    ({"points": 10**9}, "points: expected an integer from 50 to 2000; got 1000000000"),
    ({"batch_norm": "yes"}, "batch_norm: expected true or false; got 'yes'"),
    ({"hide": ["everything"]}, "hide: expected a list of names from data, features"),
    ({"colour": "red"}, "config: expected only the settings dataset, classes,"),
])
def test_bad_config_names_field_expected_and_given(values, message):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(values)
    assert str(info.value).startswith(message)
    assert info.value.field == message.split(":")[0]


@pytest.mark.parametrize("query, message", [
    ("hidden=4,x", "hidden: expected comma-separated integers; got '4,x'"),
    ("seed=-1", "seed: expected a seed in 0..4294967295, got '-1'"),
    ("regularization=l3&reg_rate=1", "regularization: expected one of none, l1, l2; got 'l3'"),
    ("batch_norm=maybe", "batch_norm: expected 0 or 1; got 'maybe'"),
    ("speed=3", "link: expected only the settings dataset,"),
    ("a=" + "x" * 5000, "link: expected a query string of at most 4000 characters"),
])
def test_bad_link_names_field(query, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace("+", r"\+")):
        Config.from_query(query)


def test_config_is_not_a_dict():
    with pytest.raises(ConfigError, match=r"^config: expected a JSON object of settings; got \[1\]"):
        Config.from_dict([1])


# -- the training controls are the table's settings -----------------------------------------


def test_every_training_control_offers_the_tables_choices_and_range():
    sent = controls()["training"]
    assert list(sent) == list(SETTING_OF)
    limits = {"batch_size": MAX_BATCH, "hidden": MAX_WIDTH}
    for name, setting_name in SETTING_OF.items():
        setting, control = SETTINGS[setting_name], sent[name]
        assert control["setting"] == setting_name and control["help"] in setting.help, name
        if setting.choices or setting.names:
            assert control["choices"] == list(setting.choices or setting.names), name
        assert control["low"] == setting.low, name
        high = limits.get(name, setting.high)
        assert control["high"] == (None if high is None or np.isinf(high) else high), name
        needs = setting.needs and [setting.needs[0], list(setting.needs[1])]
        assert control.get("needs") == (needs or None), name
    assert sent["optimizer"]["choices"] == ["sgd", "adam"]
    assert sent["activation"]["choices"] == list(mlp.layers.HIDDEN_ACTIVATIONS)
    assert sent["hidden"]["max_layers"] == MAX_LAYERS
    # Every value a menu offers is one the page and the table accept.
    for name, values in PRESETS.items():
        for value in values:
            assert getattr(Config.from_dict({name: value}), name) == value


@pytest.mark.parametrize("name, value, text", [
    ("learning_rate", 0, "0"), ("learning_rate", -0.1, "-0.1"), ("learning_rate", float("inf"), "inf"),
    ("learning_rate", float("nan"), "nan"), ("momentum", 1.0, "1.0"), ("momentum", -0.5, "-0.5"),
    ("reg", -1e-3, "-0.001"), ("l1", -2, "-2"), ("dropout", 1, "1"), ("dropout", -0.1, "-0.1"),
    ("dropout", 1.5, "1.5"), ("seed", -1, "-1"), ("seed", 2**32, str(2**32)),
    ("batch_size", 0, "0"), ("activation", "gelu", "gelu"), ("optimizer", "rmsprop", "rmsprop"),
    ("hidden", [-1], "-1"), ("hidden", [4, 0], "4,0"),
])
def test_a_value_the_table_refuses_is_refused_with_its_message(name, value, text):
    with pytest.raises(SettingsError) as table:
        SETTINGS[SETTING_OF[name]].parse(text)
    with pytest.raises(ConfigError) as page:
        Config.from_dict({name: value})
    assert str(page.value) == f"{name}: {table.value}" and page.value.field == name


def test_the_page_trains_with_the_settings_it_shows():
    config = Config.from_dict({"hidden": [3], "learning_rate": 0.1, "momentum": 0.5,
                               "reg": 0.01, "l1": 0.002, "dropout": 0.2, "batch_norm": True,
                               "batch_size": 20, "seed": 4, "activation": "relu"})
    s = config.settings(epochs=3)
    assert (s.hidden, s.lr, s.optimizer, s.momentum, s.reg, s.l1, s.dropout, s.batch_norm,
            s.batch_size, s.seed, s.activation, s.epochs, s.schedule) == \
        ([3], 0.1, "sgd", 0.5, 0.01, 0.002, 0.2, True, 20, 4, "relu", 3, "constant")
    options = train_options(config, 3)
    assert options["num_epochs"] == 3 and options["learning_rate"] == 0.1
    assert options["optimizer"].momentum == 0.5 and options["regularizer"].lam == 0.002
    model = Session(config).model
    assert model.dropout == 0.2 and model.batch_norm and model.dtype == np.float64


def test_momentum_is_sgds_and_waits_while_adam_is_chosen():
    adam = Config.from_dict({"optimizer": "adam", "momentum": 0.9})
    assert adam.momentum == 0.9 and adam.settings().momentum is None
    assert type(train_options(adam)["optimizer"]).__name__ == "Adam"
    assert Config.from_dict({**adam.to_dict(), "optimizer": "sgd"}).settings().momentum == 0.9
    assert Config().settings().momentum == 0.0  # the page's SGD is plain unless it says


def test_one_dropout_range_the_tables():
    assert Config.from_dict({"dropout": 0.95}).dropout == 0.95  # the page once stopped at 0.9
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        mlp.layers.Dropout(1.0)


OLD_DEFAULT_LINK = ("dataset=circle&classes=2&noise=0&train_fraction=0.5&points=500&seed=1"
                    "&features=x1,x2&hidden=4,2&activation=tanh&learning_rate=0.03&optimizer=sgd"
                    "&batch_size=10&regularization=none&reg_rate=0&dropout=0&batch_norm=0&hide=")


@pytest.mark.parametrize("old, new", [
    (OLD_DEFAULT_LINK, {}),
    ("optimizer=momentum", {"optimizer": "sgd", "momentum": 0.9}),
    ("optimizer=momentum&momentum=0.5", {"optimizer": "sgd", "momentum": 0.5}),
    ("regularization=l2&reg_rate=0.003", {"reg": 0.006}),
    ("regularization=l1&reg_rate=0.01", {"l1": 0.01}),
    ("regularization=none&reg_rate=3", {}),
    ("reg_rate=3", {}),
])
def test_links_from_before_the_table_still_load(old, new):
    assert Config.from_query(old) == Config.from_dict(new)


def test_an_old_l2_link_trains_the_numbers_it_trained():
    """``regularization=l2&reg_rate=r`` was ``L2(r)`` with SGD and momentum 0.9; it is now the
    table's ``reg=2r``: the same penalty, and the same numbers."""
    config = Config.from_query("dataset=spiral&classes=3&hidden=5&optimizer=momentum"
                               "&regularization=l2&reg_rate=0.003&learning_rate=0.1")
    s = Session(config)
    for _ in range(3):
        s.step()
    data = load_data(config)
    model = build_model(config, data)
    mlp.train(model, data.train_inputs, data.points.y_train, learning_rate=0.1,
              learning_rate_decay=1.0, reg=0.0, num_epochs=3, batch_size=10,
              optimizer=mlp.optim.SGD(momentum=0.9), regularizer=mlp.regularizers.L2(0.003))
    for name in model.params:
        assert np.array_equal(model.params[name], s.model.params[name]), name


def test_the_first_frame_sends_the_controls_as_json():
    frame = Session().frame(full=True)
    assert frame["controls"] == controls()
    sent = json.loads(json.dumps(frame["controls"], allow_nan=False))
    assert sent["defaults"] == Config().to_dict()
    assert sent["data"]["classes"]["xor"] == [2] and "plane" in sent["data"]["regression"]
    assert [name for name, _ in sent["data"]["features"]] == list(FEATURES)
    assert "controls" not in Session().frame()  # only with what changes with the config


# -- data sets and features -------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_seeded_and_in_the_square(name):
    classes = CLASSIFICATION[name][1].stop - 1 if name in CLASSIFICATION else 2
    X, y = make_points(name, 300, 0.0, classes, seed=7)
    X2, y2 = make_points(name, 300, 0.0, classes, seed=7)
    assert X.shape == (300, 2) and y.shape == (300,)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make_points(name, 300, 0.0, classes, seed=8)[0])
    assert np.abs(X).max() <= 6
    if name in REGRESSION:
        assert y.dtype == np.float64 and np.abs(y).max() <= 1.01
    else:
        assert y.dtype == np.int64
        if name == "xor":  # the quadrant decides the class: about half each
            assert 120 < np.bincount(y)[0] < 180
            return
        assert np.bincount(y).tolist() == [300 // classes + (k < 300 % classes)
                                           for k in range(classes)]


def test_circle_classes_are_rings():
    X, y = make_points("circle", 500, 0.0, 3, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    # Ring k spans [k, k+1] * 5/3 (less a margin): the radius alone gives the class.
    assert np.array_equal(np.floor(r / (5 / 3)).astype(int), y)


def test_xor_label_is_the_sign_of_the_product():
    X, y = make_points("xor", 400, 0.0, 2, seed=3)
    assert np.array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))


def test_plane_is_linear_without_noise():
    X, y = make_points("plane", 100, 0.0, 2, seed=0)
    assert np.allclose(y, (X[:, 0] + X[:, 1]) / 12)


def test_noise_moves_points_reproducibly():
    clean, _ = make_points("gauss", 200, 0.0, 2, seed=1)
    noisy, _ = make_points("gauss", 200, 0.5, 2, seed=1)
    assert noisy.std() > clean.std()


def test_split_fraction_and_seed():
    X, y = make_points("moons", 101, 0.1, 2, seed=2)
    p = split(X, y, 0.7, seed=2)
    assert (len(p.X_train), len(p.X_test)) == (71, 30)
    assert sorted(map(tuple, np.vstack([p.X_train, p.X_test]))) == sorted(map(tuple, X))
    assert np.array_equal(split(X, y, 0.7, seed=2).X_train, p.X_train)


def test_features_values():
    X = np.array([[3.0, -6.0], [0.0, 1.5]])
    F = expand(X, list(FEATURES))
    expected = np.array([[0.5, -1.0, 0.25, 1.0, -0.5, np.sin(3.0), np.sin(-6.0)],
                         [0.0, 0.25, 0.0, 0.0625, 0.0, 0.0, np.sin(1.5)]])
    assert np.allclose(F, expected)
    g = grid(4)
    assert g.shape == (16, 2) and g[0].tolist() == [-4.5, 4.5] and g[-1].tolist() == [4.5, -4.5]


# -- uploads ----------------------------------------------------------------------------------

GOOD_CSV = "a,b,kind\n" + "\n".join(f"{i},{i * i % 7},{'yes' if i % 3 else 'no'}"
                                     for i in range(20))


def test_upload_classification_with_header():
    up = parse_csv(GOOD_CSV)
    assert up.names == ("a", "b", "kind") and up.task == "classification"
    assert up.labels == ("no", "yes") and up.classes == 2
    assert up.y.tolist() == [0 if i % 3 == 0 else 1 for i in range(20)]
    assert up.X[:, 0].min() == -5 and up.X[:, 0].max() == 5


def test_upload_regression():
    text = "p,q,z\n" + "\n".join(f"{i / 10},{-i},{i * 0.37}" for i in range(30))
    up = parse_csv(text)
    assert up.task == "regression" and up.names == ("p", "q", "z")
    assert up.y.min() == -1 and up.y.max() == 1


@pytest.mark.parametrize("text, message", [
    ("", "upload.csv: empty file: a CSV file needs a header row"),
    ("1,2,0\n" * 12, "upload.csv: line 1 must name the columns, but it holds numbers (1, 2, 0): "
                     "add a header row"),
    ("x1,x2,y\n1,2\n", "upload.csv: line 2 (data row 1) has 2 fields, the header 3"),
    ("x1,x2,y\n" + "1,2,0\n" * 5 + "1,oops,1\n" + "1,2,1\n" * 5,
     "upload.csv: line 7 (data row 6), column 'x2': 'oops' is not a number"),
    ("x1,x2,y\n" + "1,inf,0\n" * 12, "upload.csv: line 2 (data row 1), column 'x2': 'inf' is not "
                                      "a finite number"),
    ("x1,x2,y\n1,2,0\n1,2,1\n", "upload.csv: expected 10 to 5000 data rows; got 2"),
    ("x1,x2,x3,y\n" + "1,2,3,0\n1,2,3,1\n" * 6, "upload.csv: expected 3 columns (two numeric "
                                                "features and a label or target); got 4"),
    ("x1,x2,y\n" + "".join(f"{i},{i},{'abcdefghijk'[i % 11]}\n" for i in range(12)),
     "upload.csv: the target 'y' has 11 classes; the page draws at most 10"),
    ("x1,x2,y\n" + "1,2,3.5\n" * 12, "upload.csv: the target 'y' holds 3.5 in every row: there is "
                                      "nothing to learn"),
    ("x1,x2,y\n" + "1,2,0.5\n" * 11 + "1,2,n/a\n", "upload.csv: data row 12, column 'y': 'n/a' is "
                                                   "not a number, but the column's other values "
                                                   "are numbers"),
    ("x1,x2,y\n" + "1,2,0\n" * 200_000, "upload.csv: 1,200,008 bytes, more than the 1,048,576 "
                                         "bytes read from a CSV file"),
])
def test_bad_uploads_say_what_and_where(text, message):
    with pytest.raises(DataFileError) as info:
        parse_csv(text)
    assert str(info.value).startswith(message)


def test_an_upload_of_digits_0_to_9_is_ten_classes():
    text = "x1,x2,digit\n" + "".join(f"{i},{i * i % 7},{i % 10}\n" for i in range(30))
    up = parse_csv(text)
    assert up.task == "classification" and up.classes == 10
    assert up.labels == tuple(str(d) for d in range(10))


# -- sessions on the library ------------------------------------------------------------------


def test_session_trains_with_the_library_and_loss_falls():
    s = Session(Config.from_dict({"dataset": "gauss", "hidden": [4], "learning_rate": 0.1}))
    before = s.losses()
    for _ in range(5):
        s.step()
    after = s.losses()
    assert s.epoch == 5 and after[0] < before[0] and after[1] < before[1]
    frame = s.frame(full=True)
    assert frame["epoch"] == 5 and frame["train_loss"] == after[0]
    assert len(frame["neurons"]) == 1 and len(frame["neurons"][0]) == 4
    assert [np.array(w["W"]).shape for w in frame["weights"]] == [(2, 4), (4, 1)]
    assert frame["output"]["kind"] == "binary"
    assert len(frame["train_points"]["y"]) == 250


def test_steps_equal_one_call_of_train_and_gradcheck_changes_nothing():
    config = Config.from_dict({"dataset": "spiral", "classes": 3, "hidden": [6, 5],
                               "optimizer": "adam", "dropout": 0.2, "learning_rate": 0.01,
                               "reg": 0.002, "l1": 0.001, "batch_size": 16})
    s = Session(config)
    for _ in range(4):
        s.step()
        s.gradcheck()  # draws dropout masks: must not disturb the run
    data = load_data(config)
    model = build_model(config, data)
    mlp.train(model, data.train_inputs, data.points.y_train, learning_rate=0.01,
              learning_rate_decay=1.0, reg=0.002, num_epochs=4, batch_size=16,
              optimizer=mlp.optim.Adam(), regularizer=mlp.regularizers.L1(0.001))
    for name in model.params:
        assert np.array_equal(model.params[name], s.model.params[name]), name


def test_gradcheck_per_layer_with_batch_norm():
    s = Session(Config.from_dict({"hidden": [3, 3], "batch_norm": True, "batch_size": 8}))
    s.step()
    rows = s.gradcheck()
    assert [r["layer"] for r in rows] == [1, 2, 3]
    assert rows[0]["params"] == ["W1", "b1", "gamma1", "beta1"]
    assert all(r["error"] < 1e-6 for r in rows)
    # The check is the library's: the same numbers as calling it directly.
    X, y = s.data.train_inputs[8:16], s.data.points.y_train[8:16]
    direct = mlp.check_gradients(s.model, X, y)
    assert s.gradcheck()[0]["error"] == max(direct["W1"], direct["b1"], direct["gamma1"],
                                           direct["beta1"])


def test_regression_and_multiclass_frames():
    s = Session(Config.from_dict({"dataset": "gaussians", "hidden": [5]}))
    assert s.model.output == "linear" and s.frame()["output"]["kind"] == "value"
    s = Session(Config.from_dict({"dataset": "gauss", "classes": 4, "hidden": []}))
    assert s.model.output == "softmax" and s.model.output_size == 4
    assert s.frame()["output"]["kind"] == "classes" and s.frame()["neurons"] == []


def test_upload_session_needs_its_data():
    with pytest.raises(ValueError, match="^dataset: expected a CSV uploaded in this page"):
        Session(Config.from_dict({"dataset": "upload"}))
    s = Session()
    s.use_upload(GOOD_CSV)
    assert s.config.dataset == "upload" and s.data.classes == 2
    assert len(s.data.points.y_train) + len(s.data.points.y_test) == 20


def test_exported_model_and_script_reproduce_the_run(tmp_path):
    config = Config.from_dict({"dataset": "moons", "hidden": [5, 3], "momentum": 0.9,
                               "noise": 0.2, "seed": 11})
    s = Session(config)
    for _ in range(3):
        s.step()
    (tmp_path / "page.npz").write_bytes(model_bytes(s.model, {"playground": {"epoch": 3}}))
    page = mlp.load(tmp_path / "page.npz")
    (tmp_path / "run.py").write_text(script(config, s.epoch, None))
    subprocess.run([sys.executable, "run.py"], cwd=tmp_path, check=True, capture_output=True)
    rerun = mlp.load(tmp_path / "playground-model.npz")
    X = s.grid_inputs
    assert np.array_equal(page.scores(X), s.model.scores(X))
    assert np.array_equal(rerun.scores(X), page.scores(X))
