"""The training loop: minibatch SGD with a decaying learning rate, a history of what happened,
and a guard that stops a diverging run before it destroys the parameters."""

from __future__ import annotations

import numpy as np

from ._validation import check_nonnegative, check_positive, check_X, check_y

HISTORY_KEYS = ("loss_history", "grad_magnitude_history", "train_acc_history", "val_acc_history")


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or gradient. ``epoch`` and ``iteration`` (1-based)
    say where; the model's parameters are left at the last values whose loss was finite."""

    def __init__(
        self, epoch: int, iteration: int, what: str, value: float, learning_rate: float
    ) -> None:
        self.epoch, self.iteration = epoch, iteration
        super().__init__(
            f"training diverged at epoch {epoch}, iteration {iteration}: the {what} is {value}. "
            f"The parameters were restored to their last finite-loss values. "
            f"Try a smaller learning_rate (it was {learning_rate:g} at that point)."
        )


def _checked_data(model, X, y, X_val, y_val):
    X = check_X(X, model.input_size, "X")
    y = check_y(y, X.shape[0], model.n_classes, "y")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together; got only one of them")
    if X_val is not None:
        X_val = check_X(X_val, model.input_size, "X_val")
        y_val = check_y(y_val, X_val.shape[0], model.n_classes, "y_val")
    return X, y, X_val, y_val


def train(
    model,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    learning_rate: float = 1e-3,
    learning_rate_decay: float = 0.95,
    reg: float = 1e-5,
    num_epochs: int = 10,
    batch_size: int = 200,
    verbose: bool = False,
) -> dict[str, list[float]]:
    """Train ``model`` in place with minibatch stochastic gradient descent.

    Each epoch draws a fresh permutation of the N training examples and cuts it into
    ``max(N // batch_size, 1)`` batches (a remainder smaller than a batch is left out of that
    epoch); each batch takes one step ``theta -= learning_rate * grad``. After every epoch the
    learning rate is multiplied by ``learning_rate_decay``.

    X: (N, D); y: (N,) int labels; X_val, y_val: optional validation set.
    Returns a dict of lists: ``loss_history`` and ``grad_magnitude_history`` (the batch loss and
    the Frobenius norm of dL/dW1 at every iteration, both taken before that iteration's update),
    ``train_acc_history`` (accuracy on the epoch's last batch, after its update) and
    ``val_acc_history`` (accuracy on the validation set after each epoch; empty without one).

    Raises DivergenceError if the loss or gradient becomes NaN or inf.
    """
    X, y, X_val, y_val = _checked_data(model, X, y, X_val, y_val)
    lr = check_positive("learning_rate", learning_rate)
    decay = check_positive("learning_rate_decay", learning_rate_decay)
    reg = check_nonnegative("reg", reg)
    num_epochs = check_positive("num_epochs", num_epochs, integer=True)
    batch_size = check_positive("batch_size", batch_size, integer=True)

    n = X.shape[0]
    iterations = max(n // batch_size, 1)
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    # The update writes into a second set of buffers so that the parameters before the last
    # step are still at hand when that step turns out to have diverged.
    spare = {name: np.empty_like(p) for name, p in model.params.items()}

    for epoch in range(1, num_epochs + 1):
        order = model.permutation(n)
        for it in range(iterations):
            idx = order[it * batch_size : (it + 1) * batch_size]
            X_batch, y_batch = X[idx], y[idx]
            loss, grads = model.data_loss(X_batch, y_batch)
            loss += model.penalty(reg, grads)
            grad_norm = float(np.linalg.norm(grads["W1"]))
            if not (np.isfinite(loss) and np.isfinite(grad_norm)):
                if epoch > 1 or it > 0:
                    for name in model.params:
                        model.params[name], spare[name] = spare[name], model.params[name]
                if np.isfinite(loss):
                    raise DivergenceError(epoch, it + 1, "W1 gradient norm", grad_norm, lr)
                raise DivergenceError(epoch, it + 1, "loss", loss, lr)
            history["loss_history"].append(loss)
            history["grad_magnitude_history"].append(grad_norm)
            for name, p in model.params.items():
                step = grads[name]
                step *= lr
                np.subtract(p, step, out=spare[name])
                model.params[name], spare[name] = spare[name], p

        train_acc = float(np.mean(model.labels(model.trusted_scores(X_batch)) == y_batch))
        history["train_acc_history"].append(train_acc)
        val_acc = float("nan")
        if X_val is not None:
            val_acc = float(np.mean(model.labels(model.trusted_scores(X_val)) == y_val))
            history["val_acc_history"].append(val_acc)
        if verbose:
            print(
                f"Epoch {epoch}: loss {loss:f}, train acc {train_acc:f}, val acc {val_acc:f}",
                flush=True,
            )
        lr *= decay
    return history
