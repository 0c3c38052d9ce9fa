"""Shared checks for the tests."""

import json

import numpy as np

from mlp import eval_numerical_gradient


def assert_gradients_match(f, params, grads, rtol=1e-6, atol=1e-10):
    """Analytic ``grads`` equal centred-difference gradients of ``f`` at ``params``.

    Each entry must agree to ``rtol`` relative error. Entries whose true value is so small that
    the centred difference's own rounding error (about 1e-11 for a loss of order one) dominates
    are held to ``atol`` instead.
    """
    for name, p in params.items():
        num = eval_numerical_gradient(f, p, verbose=False)
        ana = grads[name]
        assert num.shape == ana.shape, name
        abs_err = np.abs(num - ana)
        rel = abs_err / np.maximum(1e-8, np.abs(num) + np.abs(ana))
        ok = (rel < rtol) | (abs_err < atol)
        assert ok.all(), (
            f"{name}: max relative error {rel[~ok].max():.3e} "
            f"(analytic {ana[~ok][:3]}, numeric {num[~ok][:3]})"
        )


def rewrite_model_file(path, change_meta=None, change_arrays=None):
    """Rewrite a model file in place after ``change_meta(meta)`` and ``change_arrays(arrays)``
    (as a damaged or crafted file would be)."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays.pop("metadata").tobytes())
    if change_meta:
        change_meta(meta)
    if change_arrays:
        change_arrays(arrays)
    np.savez(path, metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
