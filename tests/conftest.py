import os

# scikit-learn's array-API estimator checks run only with this set before SciPy is first imported
# (they are skipped otherwise); numpy inputs behave the same either way.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

matplotlib.use("Agg")

# Property tests draw the same examples on every run, so that CI is reproducible.
settings.register_profile("repro", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("repro")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_dir() -> str:
    """The folder of the full MNIST files (``MLP_DATA_DIR``)."""
    path = os.environ.get("MLP_DATA_DIR")
    if not path:
        pytest.skip("MLP_DATA_DIR is not set: full-MNIST tests need the four IDX files")
    return path
