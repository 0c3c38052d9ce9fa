"""The problem set's helper names, importable the way its notebook imports them
(``from utils import eval_numerical_gradient`` becomes ``from mlp.utils import ...``)."""

from .data import get_MNIST_data
from .gradcheck import eval_numerical_gradient, rel_error
from .viz import plot_stats, show_net_weights, visualize_grid

__all__ = [
    "eval_numerical_gradient",
    "get_MNIST_data",
    "plot_stats",
    "rel_error",
    "show_net_weights",
    "visualize_grid",
]
