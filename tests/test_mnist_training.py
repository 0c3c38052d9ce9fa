"""The problem set's Q2.5 on the full MNIST (``MLP_DATA_DIR``), with its exact settings."""

import numpy as np
import pytest

from mlp import TwoLayerMLP
from mlp.utils import get_MNIST_data


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return get_MNIST_data(mnist_dir)


def q25(mnist, activation):
    X_train, y_train, X_val, y_val, X_test, y_test = mnist
    np.random.seed(0)
    net = TwoLayerMLP(28 * 28, 64, 10, std=1e-1, activation=activation)
    stats = net.train(X_train, y_train, X_val, y_val, num_epochs=20, batch_size=100,
                      learning_rate=1e-3, learning_rate_decay=0.95, reg=0.5)
    return net, stats, float(np.mean(net.predict(X_test) == y_test))


def test_sigmoid_network_reaches_the_seeds_accuracy(mnist):
    _, stats, test_acc = q25(mnist, "sigmoid")
    assert test_acc >= 0.86  # seed: 0.8739
    assert len(stats["loss_history"]) == 20 * 500
    assert stats["val_acc_history"][-1] > stats["val_acc_history"][0]


def test_relu_network_reaches_the_seeds_accuracy_and_first_epoch_loss(mnist):
    _, stats, test_acc = q25(mnist, "relu")
    assert test_acc >= 0.96  # seed: 0.9635
    first_epoch_loss = stats["loss_history"][499]  # what verbose prints for epoch 1
    assert 60 <= first_epoch_loss <= 90  # seed: 76.06
