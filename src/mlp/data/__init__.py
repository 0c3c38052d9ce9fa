"""Data: MNIST-style image sets (MNIST, Fashion-MNIST, the bundled subset, any folder of IDX
files) and CSV tables of your own.

>>> X_train, y_train, X_val, y_val, X_test, y_test = load_dataset("mnist")
>>> table = read_csv("houses.csv", target="price")

- ``loaders``: :func:`load_dataset`, the one loader of the image sets (``load_mnist``,
  ``load_mnist_small`` and ``get_MNIST_data`` name it for one set);
- ``idx``: the IDX file format; ``download``: the download cache;
- ``tabular``: CSV tables; ``standardize``: per-feature standardisation; ``split``: a seeded
  train / validation / test split of a table's rows;
- ``scaled``: uint8 pixels read as scaled floats a batch at a time.

See docs/data.md.
"""

from .download import DEFAULT_TIMEOUT, FILES, SOURCES, default_cache_dir, download_dataset
from .idx import DataFileError, read_idx, write_idx
from .loaders import (
    DATASETS,
    Dataset,
    get_MNIST_data,
    load_dataset,
    load_idx_folder,
    load_mnist,
    load_mnist_small,
)
from .scaled import ScaledPixels
from .split import shuffle_split, split_sizes
from .standardize import Standardizer
from .tabular import Table, read_csv, read_csv_features, target_task

__all__ = [
    "Dataset",
    "DataFileError",
    "load_dataset",
    "load_mnist",
    "load_mnist_small",
    "load_idx_folder",
    "get_MNIST_data",
    "download_dataset",
    "default_cache_dir",
    "read_idx",
    "write_idx",
    "read_csv",
    "read_csv_features",
    "target_task",
    "Table",
    "Standardizer",
    "shuffle_split",
    "split_sizes",
    "ScaledPixels",
    "DATASETS",
    "DEFAULT_TIMEOUT",
    "FILES",
    "SOURCES",
]
