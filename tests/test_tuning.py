"""``mlp tune`` and ``mlp.tuning``: search spaces in ``mlp train``'s terms, pruning from the
training callbacks, the command's files and its one-line errors."""

import csv
import json
import shlex

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from mlp import MLP, load  # noqa: E402
from mlp.cli import main  # noqa: E402
from mlp.run.errors import UsageError  # noqa: E402
from mlp.tuning import PruningCallback, parse_space, search  # noqa: E402
from mlp.tuning.space import read_space_file  # noqa: E402

TINY = ["--hidden", "16", "--epochs", "2", "--train-size", "500", "--val-size", "300"]


# -- the search space -----------------------------------------------------------------------------


def test_ranges_and_choices_become_optuna_distributions_with_train_meaning():
    space = parse_space({"lr": "1e-4:1e-1:log", "hidden": "64/128/256,128", "reg": "0:1e-2",
                         "optimizer": "sgd/adam", "dropout": "0:0.5", "batch_size": "32:256",
                         "epochs": "3"})
    dists = {d.name: d.distribution() for d in space.dimensions}
    assert dists["lr"] == optuna.distributions.FloatDistribution(1e-4, 0.1, log=True)
    assert dists["reg"] == optuna.distributions.FloatDistribution(0.0, 0.01)
    assert dists["batch_size"] == optuna.distributions.IntDistribution(32, 256)
    assert dists["hidden"] == optuna.distributions.CategoricalDistribution(
        ["64", "128", "256,128"])
    assert space.fixed == {"epochs": "3"}
    # A trial's values are read by mlp train's own parser and settings.
    s = space.settings({"hidden": "256,128", "optimizer": "adam", "lr": "0.003",
                        "reg": "0.001", "dropout": "0.25", "batch_size": "100"})
    assert (s.hidden, s.optimizer, s.lr, s.reg, s.dropout, s.batch_size, s.epochs) == (
        [256, 128], "adam", 0.003, 0.001, 0.25, 100, 3)
    assert s.momentum is None  # mlp train's default for Adam
    assert space.settings({"hidden": "64", "optimizer": "sgd", "lr": "0.01", "reg": "0",
                           "dropout": "0", "batch_size": "32"}).momentum == 0.9


def test_momentum_is_sampled_only_for_sgd():
    space = parse_space({"optimizer": "sgd/adam", "momentum": "0.5:0.95", "epochs": "1"})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = []
    for _ in range(12):
        trial = study.ask()
        values = space.suggest(trial)
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        space.settings(values)  # mlp train accepts every combination
        seen.append(values["optimizer"])
        study.tell(trial, 0.0)
    assert set(seen) == {"sgd", "adam"}


@pytest.mark.parametrize("options, message", [
    ({"lr": "0:1"}, "--lr 0:1: expected a positive number, got '0'"),
    ({"optimizer": "sgd:adam"}, "--optimizer sgd:adam: --optimizer takes choices separated by / (such as sgd/adam), not a range low:high"),
    ({"lr": "1:0.1"}, "--lr 1:0.1: the low end must be below the high end"),
    ({"reg": "0:1:log"}, "--reg 0:1:log: a log range needs a low end above 0"),
    ({"lr": "0.1:1:lin"}, "--lr 0.1:1:lin: expected a range low:high or low:high:log"),
    ({"hidden": "64/abc"}, "--hidden 64/abc: expected positive layer widths such as 64 or 256,128, got 'abc'"),
    ({"optimizer": "sgd/rms"}, "--optimizer sgd/rms: expected one of sgd, adam, got 'rms'"),
    ({"batch_norm": "maybe"}, "--batch-norm maybe: expected on, off or on/off, got 'maybe'"),
    ({"hidden": "64/64"}, "--hidden 64/64: a choice is given twice"),
    ({"optimizer": "adam", "momentum": "0.5:0.9"}, "--momentum and --nesterov apply to --optimizer sgd only"),
    ({"hidden": "64", "activation": "relu,tanh/relu"}, "--activation expects one name, or one per hidden layer (1 for --hidden 64), got 2: relu,tanh"),
])
def test_bad_spaces_are_refused_with_train_words(options, message):
    with pytest.raises(UsageError) as info:
        parse_space(options)
    assert str(info.value) == message


def test_a_toml_space_file_means_what_the_command_line_means(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text('lr = { low = 1e-4, high = 0.1, log = true }\nhidden = ["64", "256,128"]\n'
                    'batch-norm = [true, false]\nreg = "0:0.01"\nepochs = 3\n')
    assert read_space_file(path) == {"lr": "0.0001:0.1:log", "hidden": "64/256,128",
                                     "batch_norm": "on/off", "reg": "0:0.01", "epochs": "3"}
    from_file = parse_space({}, path)
    typed = parse_space({"lr": "0.0001:0.1:log", "hidden": "64/256,128", "batch_norm": "on/off",
                         "reg": "0:0.01", "epochs": "3"})
    assert from_file == typed
    assert parse_space({"epochs": "5"}, path).fixed == {"epochs": "5"}  # the command line wins
    (tmp_path / "bad.toml").write_text("learning_rate = 0.1\n")
    with pytest.raises(UsageError, match="unknown option 'learning_rate'; expected options of 'mlp train'"):
        parse_space({}, tmp_path / "bad.toml")
    (tmp_path / "range.toml").write_text("lr = { low = 0.1 }\n")
    with pytest.raises(ValueError, match=r"lr: a range is \{ low = \.\.\., high = \.\.\. \}"):
        parse_space({}, tmp_path / "range.toml")


# -- pruning --------------------------------------------------------------------------------------


def test_pruning_callback_reports_each_epoch_and_raises_trial_pruned(rng):
    X = rng.standard_normal((200, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=0.999))
    trial = study.ask()
    net = MLP(5, [8], 2, seed=0)
    with pytest.raises(optuna.TrialPruned, match=r"pruned after epoch 1 \(val_acc "):
        net.train(X[:150], y[:150], X[150:], y[150:], num_epochs=5,
                  callbacks=[PruningCallback(trial, "val_acc")])
    # One epoch ran, and what was reported is the library's own validation accuracy.
    twin = MLP(5, [8], 2, seed=0)
    history = twin.train(X[:150], y[:150], X[150:], y[150:], num_epochs=1)
    assert study.trials[0].intermediate_values == {1: history["val_acc_history"][0]}
    with pytest.raises(ValueError, match="monitor must name a per-epoch history entry"):
        PruningCallback(trial, "accuracy")


def test_median_pruner_stops_bad_trials_in_a_search(tmp_path):
    space = parse_space({"hidden": "16", "epochs": "4", "train_size": "500",
                         "val_size": "300", "lr": "1e-5:0.3:log", "momentum": "0"})
    study = search(space, f"sqlite:///{tmp_path / 's.db'}", trials=12, pruner="median",
                   sampler="random", echo=None)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned, [t.params for t in study.trials]
    for t in pruned:  # stopped early, and noted so in the table
        assert t.last_step < 4 and t.user_attrs["note"].startswith("pruned after epoch")


# -- the command ----------------------------------------------------------------------------------


def test_mlp_tune_writes_the_table_the_best_command_and_a_best_model_that_agrees(
        tmp_path, capsys):
    out = tmp_path / "search"
    code = main(["tune", *TINY, "--lr", "0.01:0.3:log", "--optimizer", "sgd/adam",
                 "--trials", "4", "--pruner", "none", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    with open(out / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["trial"] for r in rows] == ["0", "1", "2", "3"]
    assert list(rows[0])[:5] == ["trial", "state", "val_accuracy", "epochs", "seconds"]
    assert {r["state"] for r in rows} == {"complete"}
    summary = json.loads((out / "tune.json").read_text())
    best = summary["best"]
    assert best["val_accuracy"] == max(float(r["val_accuracy"]) for r in rows)
    command = (out / "best_command.txt").read_text().strip()
    assert command == best["command"] and command in text
    args = shlex.split(command)
    assert args[:2] == ["mlp", "train"] and "--hidden" in args and "--lr" in args
    # The best trial trained again by that command: the same network, the same score.
    run = out / f"best-trial-{best['trial']}"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val_accuracy"] == best["val_accuracy"]
    assert best["retrained"]["test_accuracy"] == metrics["test_accuracy"]
    assert load(run / "model.npz").layer_sizes == [784, 16, 10]
    for name in ("history", "importances", "parallel_coordinate", "intermediate_values"):
        assert (out / f"tuning_{name}.png").read_bytes()[:4] == b"\x89PNG"
    # Run again: the study is complete, nothing new is trained.
    assert main(["tune", *TINY, "--lr", "0.01:0.3:log", "--optimizer", "sgd/adam",
                 "--trials", "4", "--pruner", "none", "--out", str(out), "--quiet"]) == 0
    assert len(json.loads((out / "tune.json").read_text())["space"]["dimensions"]) == 2
    with open(out / "trials.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 4


def test_grid_search_runs_every_combination_once(tmp_path):
    space = parse_space({"hidden": "8/16", "optimizer": "sgd/adam", "epochs": "1",
                         "train_size": "300", "val_size": "200"})
    study = search(space, f"journal:{tmp_path / 'grid.journal'}", trials=10, sampler="grid",
                   pruner="none", echo=None)
    assert sorted((t.params["hidden"], t.params["optimizer"]) for t in study.trials) == [
        ("16", "adam"), ("16", "sgd"), ("8", "adam"), ("8", "sgd")]


@pytest.mark.parametrize("args, message", [
    (["--lr", "0:1"], "--lr 0:1: expected a positive number, got '0' (see 'mlp tune --help')"),
    (["--lr", "0.01:0.1", "--sampler", "grid"], "--sampler grid takes lists of choices a/b/c, not ranges: --lr 0.01:0.1 (see 'mlp tune --help')"),
    (["--metric", "r2"], "--metric r2 does not apply to classification: use val_accuracy or val_loss"),
    (["--val-size", "0"], "a search scores each trial on the validation split, which is empty: give --val-size a count or fraction above 0"),
    (["--storage", "study.db"], "--storage study.db: expected a database URL such as postgresql://user@host/db or sqlite:///study.db, or journal:FILE"),
])
def test_bad_searches_fail_on_one_line(tmp_path, capsys, args, message):
    try:
        code = main(["tune", *TINY, "--trials", "1", "--out", str(tmp_path / "o"), *args])
    except SystemExit as exc:  # usage errors exit through argparse, as for every command
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"mlp tune: error: {message}\n"


def test_a_study_of_another_search_is_not_joined(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    assert main(["tune", *TINY, "--lr", "0.01:0.1", "--trials", "1", "--storage", url,
                 "--out", str(tmp_path / "a"), "--quiet", "--no-retrain", "--no-plots"]) == 0
    code = main(["tune", *TINY, "--lr", "0.01:0.2", "--trials", "1", "--storage", url,
                 "--out", str(tmp_path / "b"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"mlp tune: error: study 'mlp-tune' in {url} belongs to another search (--metric "
        "val_accuracy, --train-size 500 --val-size 300 --hidden 16 --epochs 2 --lr 0.01:0.1), "
        "not to this one (--metric val_accuracy, --train-size 500 --val-size 300 --hidden 16 "
        "--epochs 2 --lr 0.01:0.2): give another --study name, or that search's options\n")


#: A search's trials when the tuner read mlp train's parser and retrained in a subprocess: the
#: same study seed must give the same trials now that it samples into the run layer's settings.
SEEDED_TRIALS = [
    ("COMPLETE", {"hidden": "16", "optimizer": "adam", "lr": 0.05360866164328911}, 0.662),
    ("COMPLETE", {"hidden": "16", "optimizer": "adam", "lr": 0.07300842346501471}, 0.544),
    ("COMPLETE", {"hidden": "32", "optimizer": "adam", "lr": 0.07883139882367922}, 0.707),
    ("COMPLETE", {"hidden": "16", "optimizer": "adam", "lr": 0.15354577832052277}, 0.206),
    ("COMPLETE", {"hidden": "32", "optimizer": "sgd", "lr": 0.0025096957871414325}, 0.321),
    ("PRUNED", {"hidden": "16", "optimizer": "sgd", "lr": 0.0013780991799656475}, 0.13),
]


def test_the_same_study_seed_gives_the_same_trials_as_before(tmp_path):
    import optuna

    out = tmp_path / "search"
    assert main(["tune", "--lr", "1e-3:0.3:log", "--hidden", "16/32", "--optimizer", "sgd/adam",
                 "--epochs", "2", "--trials", "6", "--search-seed", "3", "--train-size", "1000",
                 "--out", str(out), "--quiet", "--no-plots"]) == 0
    study = optuna.load_study(study_name="mlp-tune", storage=f"sqlite:///{out / 'study.db'}")
    assert [(t.state.name, t.params, t.value) for t in study.trials] == SEEDED_TRIALS
    command = (out / "best_command.txt").read_text().split()
    assert command[command.index("--lr") + 1] == "0.07883139882367922"  # in full
    best = json.loads((out / "best-trial-2" / "metrics.json").read_text())
    assert best["val_accuracy"] == 0.707 and best["test_accuracy"] == 0.659
