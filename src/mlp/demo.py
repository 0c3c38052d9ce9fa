"""The problem set's toy experiment (Q2.1-Q2.4), run end to end with the problem set's reference
figures printed beside ours.

    python -m mlp.demo
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .gradcheck import check_gradients
from .network import TwoLayerMLP

#: The figures the problem set's notebook printed for its toy network.
REFERENCE_FIGURES = {
    "sigmoid_loss": 1.1822479803941373,
    "relu_loss": 1.3037878913298206,
    "sigmoid_final_training_loss": 0.10926794610680679,
    "relu_final_training_loss": 0.0178562204869839,
}

TOY_INPUT_SIZE, TOY_HIDDEN_SIZE, TOY_CLASSES, TOY_INPUTS = 4, 10, 3, 5


def toy_model(activation: str, std: float = 1e-1) -> TwoLayerMLP:
    """The notebook's ``init_toy_model``: seeds NumPy's global generator with 0, then builds a
    4-10-3 TwoLayerMLP."""
    np.random.seed(0)
    return TwoLayerMLP(TOY_INPUT_SIZE, TOY_HIDDEN_SIZE, TOY_CLASSES, std=std, activation=activation)


def toy_data() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's ``init_toy_data``: X (5, 4) = 10 * randn after seeding with 1; y (5,)."""
    np.random.seed(1)
    X = 10 * np.random.randn(TOY_INPUTS, TOY_INPUT_SIZE)
    y = np.array([0, 1, 2, 2, 1])
    return X, y


def toy_training(activation: str) -> dict[str, list[float]]:
    """Q2.3 / Q2.4: full-batch training of the toy model with the notebook's settings."""
    X, y = toy_data()
    net = toy_model(activation)
    if activation == "sigmoid":
        return net.train(X, y, X, y, learning_rate=0.5, reg=1e-5, num_epochs=100)
    return net.train(X, y, X, y, learning_rate=0.1, reg=1e-5, num_epochs=50)


def _row(label: str, ours: float, seed: float | None) -> str:
    seed_text = f"{seed:.16g}" if seed is not None else "-"
    diff = f"{abs(ours - seed):.1e}" if seed is not None else ""
    return f"  {label:<44} {ours:<22.16g} {seed_text:<22} {diff}"


def run_demo(out=sys.stdout) -> dict[str, float]:
    """Run Q2.1-Q2.4 on the toy problem, print our figures beside the problem set's, return ours."""
    start = time.perf_counter()
    X, y = toy_data()
    ours: dict[str, float] = {}
    print("The problem set's toy network (4-10-3, 5 examples), ours beside its reference figures:",
          file=out)
    print(f"  {'figure':<44} {'ours':<22} {'reference':<22} |diff|", file=out)
    for activation in ("sigmoid", "relu"):
        net = toy_model(activation)
        ours[f"{activation}_loss"] = net.loss(X, y, reg=0.1)[0]
        print(_row(f"{activation}: loss(X, y, reg=0.1)", ours[f"{activation}_loss"],
                   REFERENCE_FIGURES[f"{activation}_loss"]), file=out)
        errors = check_gradients(net, X, y, reg=0.1)
        worst = max(errors, key=errors.get)
        ours[f"{activation}_max_gradient_error"] = errors[worst]
        print(_row(f"{activation}: max rel. gradient error ({worst})", errors[worst], None),
              file=out)
        stats = toy_training(activation)
        key = f"{activation}_final_training_loss"
        ours[key] = stats["loss_history"][-1]
        ours[f"{activation}_mean_W1_gradient"] = float(np.mean(stats["grad_magnitude_history"]))
        print(_row(f"{activation}: final training loss", ours[key], REFERENCE_FIGURES[key]),
              file=out)
        print(_row(f"{activation}: mean ||dL/dW1|| while training",
                   ours[f"{activation}_mean_W1_gradient"], None), file=out)
    ratio = ours["relu_mean_W1_gradient"] / ours["sigmoid_mean_W1_gradient"]
    print(f"ReLU's W1 gradients are {ratio:.1f}x larger than sigmoid's: the sigmoid saturates.",
          file=out)
    print(f"Done in {time.perf_counter() - start:.2f} s.", file=out)
    return ours


if __name__ == "__main__":
    run_demo()
