"""Weight initialisation: the scale of the first random draw of each weight matrix.

``std * randn`` is the problem set's rule (``std=1e-4`` by default for TwoLayerMLP, ``1e-1`` in its
experiments). Without an explicit ``std`` the scale follows the layer's fan-in so that activations
neither vanish nor explode with depth: He et al. (2015) for ReLU-like units, Glorot & Bengio (2010)
for sigmoid and tanh units and for the output layer.
"""

from __future__ import annotations

import math

from ._validation import check_choice

INITIALIZERS = ("he", "xavier")


def he_std(fan_in: int, fan_out: int) -> float:
    """He normal: std = sqrt(2 / fan_in), for ReLU and leaky ReLU layers."""
    return math.sqrt(2.0 / fan_in)


def xavier_std(fan_in: int, fan_out: int) -> float:
    """Glorot (Xavier) normal: std = sqrt(2 / (fan_in + fan_out)), for sigmoid and tanh layers."""
    return math.sqrt(2.0 / (fan_in + fan_out))


_STD_RULES = {"he": he_std, "xavier": xavier_std}


def default_init(activation: str) -> str:
    """The scheme that suits a hidden activation."""
    return "he" if activation in ("relu", "leaky_relu") else "xavier"


def layer_std(init: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation of the normal draw for a (fan_in, fan_out) weight matrix."""
    return _STD_RULES[check_choice("init", init, INITIALIZERS)](fan_in, fan_out)
