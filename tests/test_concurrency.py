"""Inference from another thread while a network trains: it waits for the step under way and
sees a step's parameters; the training goes on as if nobody had asked."""

import pickle
import threading

import numpy as np

from mlp import MLP


def _data(rng):
    X = rng.standard_normal((600, 12))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


def _train(net, X, y):
    return net.train(X, y, X[:100], y[:100], learning_rate=0.05, num_epochs=30, batch_size=16)


def test_predict_proba_while_training_changes_nothing(rng):
    X, y = _data(rng)
    alone = _train(MLP(12, [32, 16], 3, seed=0, dropout=0.1, batch_norm=True), X, y)
    net = MLP(12, [32, 16], 3, seed=0, dropout=0.1, batch_norm=True)
    stop, seen, errors = threading.Event(), [], []

    def ask():
        while not stop.is_set():
            try:
                p = net.predict_proba(X[:50])
                seen.append(bool(np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1)))
                net.score(X[:50], y[:50])
            except Exception as exc:  # noqa: BLE001 - recorded, then asserted absent
                errors.append(repr(exc))
                return

    thread = threading.Thread(target=ask)
    thread.start()
    try:
        together = _train(net, X, y)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(seen) >= 5 and all(seen)
    assert together["loss_history"] == alone["loss_history"]
    assert together["val_acc_history"] == alone["val_acc_history"]


def test_a_network_with_its_lock_pickles(rng):
    X, y = _data(rng)
    net = MLP(12, [8], 3, seed=0)
    net.predict(X)  # the lock exists now
    copy = pickle.loads(pickle.dumps(net))
    assert np.array_equal(copy.predict_proba(X), net.predict_proba(X))
    assert copy.lock is not net.lock
