"""Make the MNIST subset bundled with the package (src/mlp/datasets/mnist-small/).

It holds the first 6,000 training images and labels and the first 1,000 test images and labels
of the full MNIST files, in their original order, as gzipped IDX files. The output is
deterministic: the same full files give the same bytes (gzip without name or time stamp,
compression level 9).

    python scripts/make_mnist_subset.py --source ../shared/data/mnist
    python scripts/make_mnist_subset.py   # reads $MLP_DATA_DIR
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlp.data import DataFileError, load_idx_folder, write_idx

OUT = Path(__file__).resolve().parents[1] / "src" / "mlp" / "datasets" / "mnist-small"


def make_subset(source: Path, out: Path, n_train: int = 6_000, n_test: int = 1_000) -> list[Path]:
    """Write the first ``n_train`` training and ``n_test`` test examples of ``source`` to
    ``out`` as the four standard gzipped IDX files. Returns their paths."""
    full = load_idx_folder(source, n_val=0, dtype="uint8", flatten=False)
    if n_train > len(full.X_train) or n_test > len(full.X_test):
        raise ValueError(
            f"{source} holds {len(full.X_train)} training and {len(full.X_test)} test images; "
            f"asked for {n_train} and {n_test}"
        )
    out.mkdir(parents=True, exist_ok=True)
    parts = {
        "train-images-idx3-ubyte.gz": full.X_train[:n_train],
        "train-labels-idx1-ubyte.gz": full.y_train[:n_train].astype("uint8"),
        "t10k-images-idx3-ubyte.gz": full.X_test[:n_test],
        "t10k-labels-idx1-ubyte.gz": full.y_test[:n_test].astype("uint8"),
    }
    return [write_idx(out / name, array) for name, array in parts.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=os.environ.get("MLP_DATA_DIR"),
        help="folder holding the four full MNIST files (default: $MLP_DATA_DIR)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default: {OUT})")
    parser.add_argument("--n-train", type=int, default=6_000)
    parser.add_argument("--n-test", type=int, default=1_000)
    args = parser.parse_args(argv)
    if args.source is None:
        parser.error("give --source or set MLP_DATA_DIR to the folder of the full MNIST files")
    try:
        paths = make_subset(args.source, args.out, args.n_train, args.n_test)
    except (OSError, DataFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
