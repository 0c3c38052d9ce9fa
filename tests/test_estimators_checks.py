"""scikit-learn's own estimator checks on MLPClassifier and MLPRegressor."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from mlp.estimators import MLPClassifier, MLPRegressor  # noqa: E402

# Why the sample-weight equivalence check (integer weights == repeated rows) cannot hold for
# two of the checked configurations. Weights enter the loss exactly (see
# test_estimators.py::test_integer_weights_equal_repeated_rows); these layers see rows, not
# weights:
BATCH_NORM_REASON = ("batch normalisation normalises with the unweighted mean and variance of "
                     "a batch's rows, so a repeated row shifts those statistics and a weighted "
                     "row does not")
DROPOUT_REASON = ("dropout draws an independent mask per row, so k repeated rows see k masks "
                  "where a row of weight k sees one: the two fits differ by design")

CHECKED = [
    MLPClassifier(),
    MLPRegressor(),
    # Every option at once, in small networks: sgd with momentum, schedules, batch norm,
    # dropout, the Huber loss.
    MLPClassifier(hidden_layer_sizes=(32, 16), activation="tanh", solver="sgd",
                  learning_rate="adaptive", learning_rate_init=0.05, max_iter=100,
                  batch_norm=True),
    MLPRegressor(hidden_layer_sizes=(32,), loss="huber", solver="sgd",
                 learning_rate="invscaling", learning_rate_init=0.05, power_t=0.25,
                 dropout=0.1, max_iter=100),
    # Full-batch L-BFGS through SciPy, and a linear network.
    MLPClassifier(solver="lbfgs", max_iter=50),
    MLPRegressor(solver="lbfgs", activation="identity", max_iter=50),
]


def expected_failures(estimator) -> dict[str, str]:
    if estimator.batch_norm:
        return {"check_sample_weight_equivalence_on_dense_data": BATCH_NORM_REASON,
                "check_sample_weight_equivalence_on_sparse_data": BATCH_NORM_REASON}
    if estimator.dropout:
        return {"check_sample_weight_equivalence_on_dense_data": DROPOUT_REASON,
                "check_sample_weight_equivalence_on_sparse_data": DROPOUT_REASON}
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failures)
def test_sklearn_check(estimator, check):
    check(estimator)


def test_array_api_dispatch_with_numpy_inputs_changes_nothing():
    """The array-API check runs only when SCIPY_ARRAY_API=1 is set before SciPy is imported,
    which the rest of this test session cannot promise: run it in a fresh interpreter."""
    code = textwrap.dedent("""
        from sklearn.utils.estimator_checks import check_array_api_input
        from mlp.estimators import MLPClassifier, MLPRegressor
        for est in (MLPClassifier(max_iter=20), MLPRegressor(max_iter=20)):
            check_array_api_input(type(est).__name__, est, array_namespace="numpy",
                                  expect_only_array_outputs=False)
        print("ok")
    """)
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "PYTHONWARNINGS": "ignore"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
