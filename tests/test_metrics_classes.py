"""The classifier scores every door reads: the confusion matrix and each class's accuracy."""

import numpy as np
import pytest

from mlp.metrics import confusion_matrix, per_class_accuracy


def test_confusion_matrix_counts_true_by_predicted():
    cm = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]))
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]] and cm.dtype == np.int64
    assert confusion_matrix(np.array([1]), np.array([1]), n_classes=4).shape == (4, 4)


@pytest.mark.parametrize("y, pred, n, message", [
    ([0, 1], [0], None, "y_true and y_pred must be 1-D of the same length"),
    ([0.5, 1], [0, 1], None, "y_true must hold integer labels >= 0"),
    ([0, 3], [0, 1], 2, "labels must be below n_classes=2"),
])
def test_confusion_matrix_refuses_what_is_not_labels(y, pred, n, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(np.array(y), np.array(pred), n)


def test_per_class_accuracy_is_each_rows_hit_rate_and_nan_without_examples():
    cm = np.array([[3, 1, 0], [0, 0, 0], [1, 1, 2]])
    acc = per_class_accuracy(cm)
    assert acc[0] == 0.75 and np.isnan(acc[1]) and acc[2] == 0.5
