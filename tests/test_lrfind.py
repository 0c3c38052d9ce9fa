"""The learning-rate range test: the library function, its picture, ``mlp lr-find`` and the
estimators' ``lr_find``."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from mlp import MLP
from mlp.lrfind import RULE, LRFinderResult, find_learning_rate
from mlp.optim import SGD, Adam
from mlp.training import Callback


def _blobs(rng, n=300, d=5, c=3):
    centres = rng.standard_normal((c, d))  # overlapping classes: no loss reaches 0
    y = rng.integers(0, c, n)
    return centres[y] + rng.standard_normal((n, d)), y


@pytest.fixture
def blobs(rng):
    return _blobs(rng)


def test_the_rates_grow_geometrically_from_start_to_end(blobs):
    X, y = blobs
    result = find_learning_rate(MLP(5, [8], 3, seed=0), X, y, start=1e-6, end=1e-2,
                                num_steps=30)
    assert not result.stopped_early and len(result.rates) == len(result.losses) == 30
    assert result.rates[0] == 1e-6
    np.testing.assert_allclose(result.rates, np.geomspace(1e-6, 1e-2, 30), rtol=1e-12)


def test_the_losses_are_the_batches_and_smoothed_with_bias_correction(blobs):
    """The first loss is the network's on the first batch of the seed's shuffle; each smoothed
    value is the bias-corrected moving average of the raw ones."""
    X, y = blobs
    net = MLP(5, [8], 3, seed=0)
    result = find_learning_rate(net, X, y, batch_size=32, end=1e-2, num_steps=20,
                                smoothing=0.9, seed=7)
    first = np.random.default_rng(7).permutation(len(X))[:32]
    assert result.losses[0] == pytest.approx(net.loss(X[first], y[first])[0], rel=1e-12)
    average, expected = 0.0, []
    for k, loss in enumerate(result.losses):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (k + 1)))
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-12)
    assert result.smoothed[0] == result.losses[0]


def test_the_network_and_the_optimizer_are_left_exactly_as_they_were(blobs):
    X, y = blobs
    net = MLP(5, [16, 8], 3, seed=3, dropout=0.2, batch_norm=True)
    optimizer = SGD(momentum=0.9)
    net.train(X, y, num_epochs=1, optimizer=optimizer)  # state worth keeping
    arrays = {name: a for name, a in [*net.params.items(), *net.state().items()]}
    copies = {name: a.copy() for name, a in arrays.items()}
    rng_state = net.rng.bit_generator.state
    saved = optimizer.state_dict()
    result = find_learning_rate(net, X, y, optimizer=optimizer, end=1e4)
    assert result.stopped_early  # it trained up to a diverging rate
    for name, value in [*net.params.items(), *net.state().items()]:
        assert value is arrays[name]
        np.testing.assert_array_equal(value, copies[name])
    assert net.rng.bit_generator.state == rng_state
    assert optimizer.state_dict().keys() == saved.keys()
    for key, value in optimizer.state_dict().items():
        np.testing.assert_array_equal(value, saved[key])


def test_a_diverging_loss_stops_the_pass_early(blobs):
    X, y = blobs
    result = find_learning_rate(MLP(5, [8], 3, seed=0), X, y, start=1e-4, end=1e4,
                                optimizer=SGD(momentum=0.9), diverge_factor=3.0)
    assert result.stopped_early and len(result.rates) < 100
    assert result.smoothed[-1] > 3.0 * min(result.smoothed[:-1])
    assert all(s <= 3.0 * min(result.smoothed[: k + 1])
               for k, s in enumerate(result.smoothed[:-1]))


def test_a_loss_that_turns_non_finite_stops_the_pass_too(blobs):
    X, y = blobs
    X = X * 1e3  # large inputs: the loss overflows before the smoothed one has grown 1e9-fold
    result = find_learning_rate(MLP(5, [8], 3, seed=0), X, y, start=1e-3, end=1e12,
                                num_steps=60, diverge_factor=1e9)
    assert result.stopped_early and len(result.rates) < 60
    assert all(math.isfinite(v) for v in result.losses + result.smoothed)


def test_the_suggestion_is_a_tenth_of_the_rate_at_the_smoothed_minimum(blobs):
    X, y = blobs
    result = find_learning_rate(MLP(5, [16], 3, seed=0), X, y, optimizer=SGD(momentum=0.9))
    lowest = result.rates[int(np.argmin(result.smoothed))]
    assert result.suggestion == pytest.approx(lowest / 10)
    assert result.rates[0] <= result.suggestion <= result.rates[-1]
    assert 1e-3 < result.suggestion < 1  # standardised blobs with momentum: about 0.1
    assert result.rule == RULE and "divided by 10" in RULE


def test_the_suggestion_stays_inside_the_rates_tested(blobs):
    X, y = blobs
    # Too high from the start: the lowest loss comes first, and a tenth of it was not tested.
    result = find_learning_rate(MLP(5, [8], 3, seed=0), X, y, start=1.0, end=1e6)
    assert result.suggestion == result.rates[0] == 1.0


def test_the_same_seed_gives_the_same_result_and_another_seed_another(blobs):
    X, y = blobs
    net = MLP(5, [8], 3, seed=0, dropout=0.3)
    one = find_learning_rate(net, X, y, seed=5, optimizer=Adam())
    assert find_learning_rate(net, X, y, seed=5, optimizer=Adam()) == one
    assert find_learning_rate(net, X, y, seed=6, optimizer=Adam()).losses != one.losses


def test_small_data_is_cycled_and_weights_and_regression_are_taken(rng):
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    net = MLP(3, [6], 1, output="linear", seed=0)
    plain = find_learning_rate(net, X, y, batch_size=64, end=1e-3, num_steps=25)
    assert len(plain.losses) == 25 and not plain.stopped_early  # 25 passes over 40 rows
    weights = np.r_[np.zeros(20), np.ones(20)]
    weighted = find_learning_rate(net, X, y, batch_size=64, end=1e-3, num_steps=25,
                                  sample_weight=weights)
    assert weighted.losses[0] == pytest.approx(net.loss(X[20:], y[20:])[0], rel=1e-12)


def test_the_result_as_json(blobs):
    X, y = blobs
    result = find_learning_rate(MLP(5, [8], 3, seed=0), X, y, num_steps=10, end=1e-3)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data == {"rates": result.rates, "losses": result.losses,
                    "smoothed": result.smoothed, "suggestion": result.suggestion,
                    "rule": RULE, "stopped_early": False}
    odd = LRFinderResult([1.0], [math.inf], [math.nan], 1.0, RULE, True)
    assert odd.to_dict()["losses"] == [None] and odd.to_dict()["smoothed"] == [None]
    with pytest.raises(AttributeError):
        result.suggestion = 1.0  # frozen


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(model="net"), TypeError, "model must be an mlp.MLP; got str"),
    (dict(batch_size=0), ValueError, "batch_size must be a positive integer; got 0"),
    (dict(batch_size=2.5), TypeError, "batch_size must be a positive integer"),
    (dict(start=0.0), ValueError, "start must be a positive number; got 0.0"),
    (dict(end=math.inf), ValueError, "end must be a positive number; got inf"),
    (dict(start=1.0, end=0.1), ValueError, r"end must be larger than start \(1\); got 0.1"),
    (dict(num_steps=1), ValueError, "num_steps must be at least 2; got 1"),
    (dict(num_steps=10.0), TypeError, "num_steps must be a positive integer"),
    (dict(smoothing=1.0), ValueError, r"smoothing must be in \[0, 1\); got 1.0"),
    (dict(smoothing="high"), TypeError, "smoothing must be a number"),
    (dict(diverge_factor=1.0), ValueError, "diverge_factor must be larger than 1; got 1.0"),
    (dict(optimizer="sgd"), TypeError, "optimizer must be an mlp.optim.Optimizer; got str"),
    (dict(seed=-1), ValueError, "seed must be an integer >= 0 or None; got -1"),
    (dict(seed=1.5), TypeError, "seed must be an integer >= 0 or None; got 1.5"),
    (dict(X=np.ones((4, 2))), ValueError, "X must have 5 features"),
    (dict(y=[0, 1]), ValueError, "y must have one label per row of X"),
    (dict(sample_weight=-np.ones(300)), ValueError, "sample_weight must be >= 0"),
])
def test_bad_arguments_are_named(blobs, kwargs, error, message):
    X, y = blobs
    args = dict(model=MLP(5, [4], 3, seed=0), X=X, y=y) | kwargs
    with pytest.raises(error, match=message):
        find_learning_rate(args.pop("model"), args.pop("X"), args.pop("y"), **args)


def test_a_loss_not_finite_from_the_start_is_a_clear_error(blobs):
    X, y = blobs
    net = MLP(5, [4], 3, seed=0)
    net.params["W1"][0, 0] = np.inf
    with pytest.raises(ValueError, match="the loss is not finite at the first step"), \
            np.errstate(all="ignore"):
        find_learning_rate(net, X, y)


# -- the picture ------------------------------------------------------------------------------


def test_the_picture_draws_both_curves_on_a_log_axis_and_marks_the_suggestion(blobs, tmp_path):
    from mlp.viz import plot_lr_find

    X, y = blobs
    result = find_learning_rate(MLP(5, [8], 3, seed=0), X, y, optimizer=SGD(momentum=0.9))
    fig = plot_lr_find(result)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    raw, smooth, mark, dot = ax.get_lines()
    np.testing.assert_array_equal(raw.get_ydata(), result.losses)
    np.testing.assert_array_equal(smooth.get_ydata(), result.smoothed)
    assert raw.get_alpha() < 1 < smooth.get_linewidth() and mark.get_xdata()[0] == \
        result.suggestion
    assert f"suggested rate {result.suggestion:.3g}" in [t.get_text() for t in
                                                        ax.get_legend().get_texts()]
    fig.savefig(tmp_path / "lr.png")
    with pytest.raises(ValueError, match="as many rates, losses and smoothed losses"):
        plot_lr_find(LRFinderResult([], [], [], 1.0, RULE, False))


# -- mlp lr-find -------------------------------------------------------------------------------


def _mlp(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mlp", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_command_writes_the_curve_and_prints_the_train_option(tmp_path):
    done = _mlp("lr-find", "--hidden", 16, "--train-size", 600, "--steps", 40, "--out", "lr",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "lr"
    assert sorted(p.name for p in out.iterdir()) == ["lr_find.json", "lr_find.png"]
    saved = json.loads((out / "lr_find.json").read_text())
    option = f"--lr {saved['suggestion']:.3g}"
    assert saved["train_option"] == option and f"mlp train {option}" in done.stdout
    assert f"suggested learning rate: {saved['suggestion']:.3g}, {RULE}" in done.stdout
    assert saved["rates"][0] == 1e-7 and len(saved["rates"]) <= 40
    assert saved["settings"]["hidden"] == [16] and "lr" not in saved["settings"]
    assert saved["data"]["train"] == 600
    # What it printed is an option that `mlp train` takes.
    value = float(option.split()[1])
    from mlp.cli.command import build_parser

    args = build_parser().parse_args(["train", "--lr", str(value)])
    assert args.lr == value


@pytest.mark.parametrize("args, note", [
    (["--start", 1e3, "--end", 1e9], "the range starts too high; try a smaller --start"),
    (["--end", 1e-3], "the suggestion is unsure: try a larger --end"),
])
def test_the_command_warns_when_the_curve_has_no_minimum_to_step_back_from(tmp_path, args,
                                                                           note):
    done = _mlp("lr-find", "--hidden", 16, "--train-size", 300, "--steps", 30, "--no-plots",
                "--out", "lr", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note: " in done.stdout and note in done.stdout
    assert [p.name for p in (tmp_path / "lr").iterdir()] == ["lr_find.json"]


@pytest.mark.parametrize("args, message", [
    (["--start", 1, "--end", 0.1], "--end 0.1 must be larger than --start 1"),
    (["--steps", 1], "--steps must be at least 2, got 1"),
    (["--lr", 0.1], "unrecognized arguments: --lr 0.1"),
    (["--out", "taken"], "already holds a range test (lr_find.json)"),
    (["--hidden", 8, "--dropout", "0.1,0.2"], "--dropout expects one rate, or one per hidden"),
])
def test_bad_input_to_the_command_is_one_line(tmp_path, args, message):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "lr_find.json").write_text("{}")
    done = _mlp("lr-find", *args, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


# -- the estimators ----------------------------------------------------------------------------


class _Initial(Callback):
    def on_train_begin(self, state):
        self.params = {name: a.copy() for name, a in state.model.params.items()}


def test_the_estimators_lr_find_tests_the_network_fit_would_build(blobs):
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from mlp.estimators import MLPClassifier, MLPRegressor
    from mlp.estimators._lrfind import lr_find

    X, y = blobs
    labels = np.array(["a", "b", "c"])[y]
    clf = MLPClassifier((8,), solver="sgd", momentum=0.9, batch_size=32, random_state=0)
    result = lr_find(clf, X, labels, num_steps=50)
    assert not hasattr(clf, "model_")  # the estimator is not fitted by it
    assert len(result.rates) <= 50 and 1e-7 <= result.suggestion <= 10
    keep = _Initial()
    with pytest.warns(ConvergenceWarning):
        MLPClassifier((8,), solver="sgd", momentum=0.9, batch_size=32, random_state=0,
                      max_iter=1, callbacks=[keep]).fit(X, labels)
    net = MLP(5, [8], 3)
    net.params = keep.params  # the network fit started from
    first = np.random.default_rng(0).permutation(len(X))[:32]  # the test's seed 0
    assert result.losses[0] == pytest.approx(net.loss(X[first], y[first])[0], rel=1e-12)
    assert lr_find(clf, X, labels, num_steps=50) == result  # random_state fixes everything

    target = X @ np.arange(1.0, 6.0)
    reg = MLPRegressor((8,), solver="adam", random_state=0)
    result = lr_find(reg, X, (target - target.mean()) / target.std(), end=1.0, num_steps=30)
    assert len(result.losses) == 30 and result.rates[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="solver='lbfgs' takes no learning rate"):
        lr_find(MLPRegressor(solver="lbfgs"), X, target)


def test_the_estimators_lr_find_speaks_in_the_estimators_terms(blobs):
    """A fitted estimator is left as it was; with two squared-error targets scikit-learn's
    gradient is twice the library's (its reported loss is the same mean), so plain SGD's
    learning_rate_init is half the library's rate (batch 'auto': 300 rows in 2 batches of
    150)."""
    pytest.importorskip("sklearn")
    from mlp.estimators import MLPRegressor
    from mlp.estimators._lrfind import lr_find

    X, _ = blobs
    Y = np.c_[X[:, 0] - X[:, 1], X[:, 2]]
    with pytest.warns(Warning):
        reg = MLPRegressor((8,), solver="sgd", random_state=0, max_iter=3).fit(X, Y)
    coefs, n_iter = [w.copy() for w in reg.coefs_], reg.n_iter_
    result = lr_find(reg, X, Y, end=1e-2, num_steps=20)
    assert reg.n_iter_ == n_iter
    for before, after in zip(coefs, reg.coefs_, strict=True):
        np.testing.assert_array_equal(before, after)
    fresh = MLPRegressor((8,), solver="sgd", random_state=0, max_iter=1)
    keep = _Initial()
    with pytest.warns(Warning):
        fresh.set_params(callbacks=[keep]).fit(X, Y)
    net = MLP(5, [8], 2, output="linear")
    net.params = keep.params
    library = find_learning_rate(net, X, Y, batch_size=150, start=2e-7, end=2e-2,
                                 num_steps=20, optimizer=SGD(momentum=0.9, nesterov=True))
    np.testing.assert_allclose(result.rates, np.geomspace(1e-7, 1e-2, 20), rtol=1e-12)
    np.testing.assert_allclose(result.rates, np.array(library.rates) / 2, rtol=1e-12)
    np.testing.assert_allclose(result.losses, library.losses, rtol=1e-12)
    assert result.suggestion == pytest.approx(library.suggestion / 2)
