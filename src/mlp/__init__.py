"""mlp: multi-layer perceptrons from scratch in NumPy, gradient-checked and fast on the CPU."""

from .gradcheck import check_gradients, eval_numerical_gradient, rel_error
from .lbfgs import train_lbfgs
from .network import MLP, TwoLayerMLP
from .regularizers import L1, L2, ElasticNet
from .serialization import load, save
from .training import DivergenceError, train

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "TwoLayerMLP",
    "DivergenceError",
    "L1",
    "L2",
    "ElasticNet",
    "train",
    "train_lbfgs",
    "load",
    "save",
    "check_gradients",
    "eval_numerical_gradient",
    "rel_error",
    "__version__",
]
