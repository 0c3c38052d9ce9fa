"""Fashion-MNIST: the README's `mlp train` line, timed the way a user runs it.

    python bench/fashion.py --data /tmp/fashion-mnist        # where `dpkg -x` unpacked it
    python bench/fashion.py --repeats 5 --json bench/fashion.json

Target: at least 0.89 test accuracy (the 10,000 test images) in at most 10 s of wall time for
the whole command, from start to exit: imports, reading the files, training, the test-set
evaluation and writing the run folder.

The data: Debian's ``dataset-fashion-mnist`` package holds the four files. Unpacked without
installing it,

    apt-get download dataset-fashion-mnist
    dpkg -x dataset-fashion-mnist_*.deb /tmp/fashion-mnist

they lie in /tmp/fashion-mnist/usr/share/datasets/fashion-mnist. ``--data`` takes that folder,
the folder ``dpkg -x`` wrote, or the .deb itself (unpacked into a temporary folder); by default
$MLP_FASHION_MNIST_DIR, else the installed package's folder.

Each repeat runs ``COMMAND`` (the README's line, unchanged) in a fresh process, in an empty
folder where its run folder lands, with MLP_FASHION_MNIST_DIR naming the files and
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from the environment, as on a user's machine. The
test accuracy is read from the run's metrics.json. The BLAS kernel is reported by a probe
process with the same interpreter and environment (threadpoolctl). The load average before
each run is printed too: on a shared machine it says how far to trust the time.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from blas import user_environment

#: The line in README.md's performance section, run as it is written there.
COMMAND = ("mlp train --dataset fashion-mnist --hidden 256 --batch-norm --lr 0.4 --reg 5e-4 "
           "--batch-size 250 --epochs 6 --schedule cosine --val-size 0 --no-plots "
           "--no-checkpoint")
TARGET = "5. Fashion-MNIST >= 0.89 in <= 10 s"
MIN_ACCURACY, MAX_SECONDS = 0.89, 10.0
#: Where the package puts the files, below the root it is unpacked or installed into.
PACKAGE_FOLDER = Path("usr/share/datasets/fashion-mnist")
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
HOW_TO_GET = """\
The Fashion-MNIST files were not found. Debian's dataset-fashion-mnist package holds them;
unpack it without installing it, then point --data at it:

    apt-get download dataset-fashion-mnist
    dpkg -x dataset-fashion-mnist_*.deb /tmp/fashion-mnist
    python bench/fashion.py --data /tmp/fashion-mnist"""


# -- the data ------------------------------------------------------------------------------------


def holds_files(folder: Path) -> bool:
    """Whether ``folder`` holds the four files, each gzipped or not."""
    return all((folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in FILES)


def find_folder(path: Path) -> Path | None:
    """The folder of the four files: ``path`` itself, or the package's folder below it (where
    ``dpkg -x`` put it); None if neither holds them."""
    for folder in (path, path / PACKAGE_FOLDER):
        if folder.is_dir() and holds_files(folder):
            return folder
    return None


def unpack(deb: Path, into: Path) -> Path | None:
    """Unpack the package ``deb`` into ``into`` with ``dpkg -x``; its folder of files."""
    subprocess.run(["dpkg", "-x", str(deb), str(into)], check=True)
    return find_folder(into)


def default_data() -> Path:
    env = os.environ.get("MLP_FASHION_MNIST_DIR")
    return Path(env) if env else Path("/") / PACKAGE_FOLDER


# -- one run -------------------------------------------------------------------------------------


def run_environment(folder: Path) -> dict[str, str]:
    env = user_environment()
    env["MLP_FASHION_MNIST_DIR"] = str(folder)
    return env


def command_line() -> list[str]:
    """COMMAND with its program found beside this interpreter (a virtual environment's), else
    on the PATH."""
    argv = shlex.split(COMMAND)
    beside = Path(sys.executable).with_name(argv[0])
    program = str(beside) if beside.is_file() else shutil.which(argv[0])
    if program is None:
        sys.exit(f"{argv[0]}: not found beside {sys.executable} or on the PATH; "
                 "install the package (pip install -e .)")
    return [program, *argv[1:]]


def run_once(argv: list[str], env: dict[str, str]) -> dict:
    """One run in an empty folder: its wall time, and the test accuracy of its metrics.json."""
    with tempfile.TemporaryDirectory(prefix="mlp-fashion-") as cwd:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"the command failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        metrics = next(Path(cwd).glob("runs/*/metrics.json"), None)
        if metrics is None:
            sys.exit(f"the command wrote no runs/*/metrics.json in {cwd}")
        result = json.loads(metrics.read_text())
    return {"wall_s": seconds, "test_acc": result["test_accuracy"],
            "train_s": result.get("train_seconds"), "load_before": load}


def blas_kernel(env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("blas.py"))], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return "unknown (pip install threadpoolctl)"
    return proc.stdout.strip()


# -- the driver ----------------------------------------------------------------------------------


def measure(folder: Path, repeats: int) -> dict:
    env, argv = run_environment(folder), command_line()
    blas = blas_kernel(env)
    print(f"data: {folder}\nBLAS: {blas}\ncommand: {COMMAND}")
    runs = []
    for rep in range(repeats):
        run = run_once(argv, env)
        runs.append(run)
        print(f"  run {rep + 1}/{repeats}: {run['wall_s']:.2f} s wall ({run['train_s']:.2f} s "
              f"training), test accuracy {run['test_acc']:.4f}, load average before "
              f"{run['load_before']:.2f}", flush=True)
    median_s = statistics.median(r["wall_s"] for r in runs)
    accuracy = min(r["test_acc"] for r in runs)
    met = accuracy >= MIN_ACCURACY and median_s <= MAX_SECONDS
    figure = f"{accuracy:.4f} in {median_s:.2f} s (median of {repeats})"
    print(f"\nmedian {median_s:.2f} s wall, best {min(r['wall_s'] for r in runs):.2f} s; "
          f"test accuracy {accuracy:.4f}\n[{'met' if met else 'NOT MET'}] {TARGET}: {figure}")
    return {"data": str(folder), "command": COMMAND, "repeats": repeats, "blas": blas,
            "cpus": os.cpu_count(), "runs": runs, "median_wall_s": median_s,
            "best_wall_s": min(r["wall_s"] for r in runs), "test_acc": accuracy,
            "targets": [{"target": TARGET, "met": met, "figure": figure}]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data(),
                        help="the folder of the four files, the folder `dpkg -x` unpacked the "
                             "package into, or the .deb (default: $MLP_FASHION_MNIST_DIR, else "
                             f"/{PACKAGE_FOLDER})")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the command")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be 1 or more; got {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="mlp-fashion-deb-") as scratch:
        path = args.data.expanduser()
        folder = unpack(path, Path(scratch)) if path.suffix == ".deb" and path.is_file() \
            else find_folder(path)
        if folder is None:
            print(f"{path}: no Fashion-MNIST files here.\n{HOW_TO_GET}", file=sys.stderr)
            return 2
        results = measure(folder, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0 if results["targets"][0]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
