"""Side-by-side CPU benchmark: mlp against PyTorch and scikit-learn on the problem set's MNIST
workload, a wide network, peak memory, and time to 98% test accuracy.

    python bench/bench.py                      # full MNIST from $MLP_DATA_DIR, else the subset
    python bench/bench.py --repeats 5 --json bench/results.json

Every measurement runs in a fresh child process (so each has its own peak resident memory), and
the implementations alternate within each repeat so that a slow spell of the machine hits them
all alike. Children run with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from the environment,
as on a user's machine; the BLAS kernel that ran is printed (threadpoolctl).

PyTorch and scikit-learn are optional: `pip install torch==2.13.0 scikit-learn`. Without them
their rows are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
from blas import kernel, user_environment

PROBLEM_SET_WORKLOAD = dict(hidden=64, batch=100, epochs=20, lr=1e-3, decay=0.95, reg=0.5, std=0.1)
WIDE_WORKLOAD = dict(hidden=1024, batch=256, epochs=5, lr=1e-3, decay=0.95, reg=0.5, std=0.01)
# The best recipe for time to 98%: see README's Performance section.
# A deep network with and without dropout and batch norm: what the two layers cost per epoch.
DEEP_WORKLOAD = dict(hidden=[256, 256, 256, 256], batch=128, epochs=2, lr=0.05, momentum=0.9,
                     dropout=0.2)
T98_RECIPE = dict(hidden=256, batch=250, epochs=5, lr=5e-3, weight_decay=1e-4, warmup=0.3)
D, C = 784, 10


# -- data ----------------------------------------------------------------------------------------


def load(data_dir: str | None):
    """MNIST as uint8 pixels, the problem set's 50,000 / 10,000 / 10,000 split."""
    from mlp.data import load_mnist, load_mnist_small

    if data_dir:
        return load_mnist(data_dir, dtype=np.uint8, download=False)
    return load_mnist_small(dtype=np.uint8)


def workload_flops(n_train: int, n_val: int, w: dict) -> float:
    """FLOPs of one training run: forward, backward (no input gradient for layer 1) and the
    validation pass after every epoch."""
    H, B = w["hidden"], w["batch"]
    iters = n_train // B
    per_iter = 2 * B * D * H * 2 + 2 * B * H * C * 3
    per_val = 2 * n_val * (D * H + H * C)
    return w["epochs"] * (iters * per_iter + per_val)


# -- workers: each runs in its own process and prints one JSON line ---------------------------


def worker_mlp(data, w: dict, dtype: str = "float32") -> dict:
    from mlp import TwoLayerMLP

    X_train, y_train, X_val, y_val, X_test, y_test = data
    net = TwoLayerMLP(D, w["hidden"], C, std=w["std"], activation="relu", seed=0, dtype=dtype)
    start = time.perf_counter()
    net.train(X_train, y_train, X_val, y_val, learning_rate=w["lr"],
              learning_rate_decay=w["decay"], reg=w["reg"], num_epochs=w["epochs"],
              batch_size=w["batch"])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "test_acc": net.accuracy(X_test, y_test)}


def worker_lean(data, w: dict) -> dict:
    """The same workload as a hand-written loop of the fewest NumPy calls we know (buffers
    reused, everything in place, the penalty folded into the update, no checks, no history
    beyond the loss): what any NumPy loop that calls one NumPy function per operation pays
    here. A reference for the floor target, not a library path."""
    X_train, y_train, X_val, y_val, X_test, y_test = data
    rng = np.random.default_rng(0)
    f, H, B = np.float32, w["hidden"], w["batch"]
    W1 = (w["std"] * rng.standard_normal((D, H))).astype(f)
    W2 = (w["std"] * rng.standard_normal((H, C))).astype(f)
    b1, b2 = np.zeros(H, f), np.zeros(C, f)
    xb, yb = np.empty((B, D), np.uint8), np.empty(B, y_train.dtype)
    x, h, s = np.empty((B, D), f), np.empty((B, H), f), np.empty((B, C), f)
    dh, mask, dW1, dW2 = np.empty((B, H), f), np.empty((B, H), bool), np.empty_like(W1), \
        np.empty_like(W2)
    db1, db2, rowmax, rowsum = np.empty(H, f), np.empty(C, f), np.empty((B, 1), f), \
        np.empty((B, 1), f)
    starts, lr, reg = np.arange(B) * C, w["lr"], w["reg"]

    def scores(X):
        return np.maximum(X.astype(f) @ W1 + b1, 0) @ W2 + b2

    start = time.perf_counter()
    for _ in range(w["epochs"]):
        order = rng.permutation(len(y_train))
        for it in range(len(y_train) // B):
            idx = order[it * B:(it + 1) * B]
            np.take(X_train, idx, axis=0, out=xb)
            np.take(y_train, idx, out=yb)
            np.copyto(x, xb, casting="unsafe")
            np.matmul(x, W1, out=h)
            np.add(h, b1, out=h)
            np.maximum(h, 0, out=h)
            np.matmul(h, W2, out=s)
            np.add(s, b2, out=s)
            np.max(s, axis=1, keepdims=True, out=rowmax)
            np.subtract(s, rowmax, out=s)
            np.exp(s, out=s)
            np.sum(s, axis=1, keepdims=True, out=rowsum)
            at = starts + yb
            flat = s.reshape(-1)
            _loss = (float(np.log(rowsum).sum() - np.log(flat.take(at)).sum()) / B
                     + 0.5 * reg * float(np.vdot(W1, W1) + np.vdot(W2, W2)))
            np.multiply(rowsum, B, out=rowsum)
            np.divide(s, rowsum, out=s)
            flat[at] -= f(1 / B)
            np.matmul(h.T, s, out=dW2)
            np.sum(s, axis=0, out=db2)
            np.matmul(s, W2.T, out=dh)
            np.greater(h, 0, out=mask)
            np.multiply(dh, mask, out=dh)
            np.matmul(x.T, dh, out=dW1)
            np.sum(dh, axis=0, out=db1)
            for p, g in ((W1, dW1), (W2, dW2), (b1, db1), (b2, db2)):
                if p.ndim == 2:
                    np.multiply(p, 1 - lr * reg, out=p)
                np.multiply(g, lr, out=g)
                np.subtract(p, g, out=p)
        lr *= w["decay"]
        _val = float(np.mean(np.argmax(scores(X_val), axis=1) == y_val))
    seconds = time.perf_counter() - start
    acc = float(np.mean(np.argmax(scores(X_test), axis=1) == y_test))
    return {"seconds": seconds, "test_acc": acc}


def torch_epoch(model, X, y, opt, batch: int, sched_per_step=None) -> None:
    """One epoch of minibatch training in PyTorch, shuffled, the remainder dropped (as ours)."""
    import torch

    n = len(y)
    order = torch.randperm(n)
    for i in range(n // batch):
        idx = order[i * batch:(i + 1) * batch]
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched_per_step is not None:
            sched_per_step.step()


def worker_torch(data, w: dict, dtype: str = "float32") -> dict:
    import torch

    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    X_train, y_train, X_val, y_val, X_test, y_test = (torch.from_numpy(np.ascontiguousarray(a))
                                                      for a in data)
    W1 = (w["std"] * torch.randn(D, w["hidden"], dtype=tdtype)).requires_grad_()
    b1 = torch.zeros(w["hidden"], dtype=tdtype, requires_grad=True)
    W2 = (w["std"] * torch.randn(w["hidden"], C, dtype=tdtype)).requires_grad_()
    b2 = torch.zeros(C, dtype=tdtype, requires_grad=True)

    def forward(x):
        return torch.relu(x.to(tdtype) @ W1 + b1) @ W2 + b2

    # The problem set's objective: mean cross-entropy + 0.5 * reg * ||W||^2, i.e. SGD with
    # weight decay `reg` on the weights only.
    opt = torch.optim.SGD([{"params": [W1, W2], "weight_decay": w["reg"]},
                           {"params": [b1, b2], "weight_decay": 0.0}], lr=w["lr"])
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, w["decay"])
    start = time.perf_counter()
    for _ in range(w["epochs"]):
        torch_epoch(forward, X_train, y_train, opt, w["batch"])
        with torch.no_grad():
            float((forward(X_val).argmax(1) == y_val).float().mean())
        sched.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        acc = float((forward(X_test).argmax(1) == y_test).float().mean())
    return {"seconds": seconds, "test_acc": acc, "threads": torch.get_num_threads()}


def worker_sklearn(data, w: dict) -> dict:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X_train, y_train, X_val, y_val, X_test, y_test = data
    # sklearn penalises 0.5 * alpha * ||W||^2 / batch_size per batch: alpha = reg * batch gives
    # the problem set's objective. It has no exponential decay: constant rate.
    clf = MLPClassifier(hidden_layer_sizes=(w["hidden"],), activation="relu", solver="sgd",
                        alpha=w["reg"] * w["batch"], batch_size=w["batch"],
                        learning_rate="constant", learning_rate_init=w["lr"], momentum=0.0,
                        nesterovs_momentum=False, max_iter=w["epochs"], shuffle=True,
                        random_state=0, tol=0.0, n_iter_no_change=10**6)
    X = X_train.astype(np.float32)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y_train)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "test_acc": float(clf.score(X_test.astype(np.float32), y_test))}


def worker_gemm(data, w: dict) -> dict:
    """float32 GEMM rate at the workload's two large shapes: x @ W1 and x.T @ g."""
    rng = np.random.default_rng(0)
    H, B = w["hidden"], w["batch"]
    x = rng.standard_normal((B, D)).astype(np.float32)
    W = rng.standard_normal((D, H)).astype(np.float32)
    g = rng.standard_normal((B, H)).astype(np.float32)
    h, dW = np.empty((B, H), np.float32), np.empty((D, H), np.float32)
    reps = max(20, int(3e10 / (4 * B * D * H)))
    for _ in range(reps // 10):
        np.matmul(x, W, out=h)
        np.matmul(x.T, g, out=dW)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            np.matmul(x, W, out=h)
            np.matmul(x.T, g, out=dW)
        best = min(best, time.perf_counter() - start)
    return {"gflops": 4 * B * D * H * reps / best / 1e9}


def worker_t98_mlp(data, w: dict) -> dict:
    from mlp import MLP
    from mlp.optim import Adam, CosineDecay, Warmup

    X_train, y_train, X_val, y_val, X_test, y_test = data
    X = np.concatenate([X_train, X_val]).astype(np.float32) / 255
    y = np.concatenate([y_train, y_val])
    net = MLP(D, [w["hidden"]], C, activation="relu", seed=0, dtype="float32")
    start = time.perf_counter()
    net.train(X, y, learning_rate=w["lr"], reg=0.0, num_epochs=w["epochs"],
              batch_size=w["batch"],
              optimizer=Adam(weight_decay=w["weight_decay"], decoupled=True),
              schedule=Warmup(w["warmup"], CosineDecay(w["epochs"] - w["warmup"])))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "test_acc": net.accuracy(X_test.astype(np.float32) / 255, y_test)}


def worker_t98_torch(data, w: dict) -> dict:
    import math

    import torch

    torch.manual_seed(0)
    X_train, y_train, X_val, y_val, X_test, y_test = data
    X = torch.from_numpy(np.concatenate([X_train, X_val]).astype(np.float32) / 255)
    y = torch.from_numpy(np.concatenate([y_train, y_val]))
    model = torch.nn.Sequential(torch.nn.Linear(D, w["hidden"]), torch.nn.ReLU(),
                                torch.nn.Linear(w["hidden"], C))
    opt = torch.optim.AdamW(model.parameters(), lr=w["lr"], weight_decay=w["weight_decay"])
    n, B = len(y), w["batch"]
    iters = n // B

    def factor(step):  # the same warm-up then cosine as mlp.optim, per iteration
        epoch = step / iters
        if epoch < w["warmup"]:
            return 0.01 + 0.99 * epoch / w["warmup"]
        t = min((epoch - w["warmup"]) / (w["epochs"] - w["warmup"]), 1.0)
        return 0.5 * (1 + math.cos(math.pi * t))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    start = time.perf_counter()
    for _ in range(w["epochs"]):
        torch_epoch(model, X, y, opt, B, sched)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        Xt = torch.from_numpy(X_test.astype(np.float32) / 255)
        acc = float((model(Xt).argmax(1) == torch.from_numpy(y_test)).float().mean())
    return {"seconds": seconds, "test_acc": acc}


def worker_deep_mlp(data, w: dict, extras: bool) -> dict:
    """Seconds per epoch of the deep network, with (``extras``) or without dropout and batch
    norm, float32, SGD with momentum, pixels / 255."""
    from mlp import MLP
    from mlp.optim import SGD

    X_train, y_train, X_val, y_val, X_test, y_test = data
    net = MLP(D, w["hidden"], C, seed=0, dtype="float32", dropout=w["dropout"] if extras else 0,
              batch_norm=extras)
    X = (X_train / np.float32(255)).astype(np.float32)
    start = time.perf_counter()
    net.train(X, y_train, learning_rate=w["lr"], learning_rate_decay=1.0, reg=0.0,
              num_epochs=w["epochs"], batch_size=w["batch"], optimizer=SGD(w["momentum"]))
    seconds = (time.perf_counter() - start) / w["epochs"]
    acc = net.accuracy((X_test / np.float32(255)).astype(np.float32), y_test)
    return {"seconds": seconds, "test_acc": acc}


def worker_deep_torch(data, w: dict) -> dict:
    """The same deep network with dropout and batch norm in PyTorch."""
    import torch

    torch.manual_seed(0)
    X_train, y_train, X_val, y_val, X_test, y_test = data
    layers, width = [], D
    for h in w["hidden"]:
        layers += [torch.nn.Linear(width, h), torch.nn.BatchNorm1d(h), torch.nn.ReLU(),
                   torch.nn.Dropout(w["dropout"])]
        width = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, C))
    X = torch.from_numpy((X_train / np.float32(255)).astype(np.float32))
    y = torch.from_numpy(y_train.astype(np.int64))
    opt = torch.optim.SGD(model.parameters(), lr=w["lr"], momentum=w["momentum"])
    start = time.perf_counter()
    for _ in range(w["epochs"]):
        torch_epoch(model, X, y, opt, w["batch"])
    seconds = (time.perf_counter() - start) / w["epochs"]
    model.eval()
    with torch.no_grad():
        Xt = torch.from_numpy((X_test / np.float32(255)).astype(np.float32))
        acc = float((model(Xt).argmax(1).numpy() == y_test).mean())
    return {"seconds": seconds, "test_acc": acc}


WORKERS = {
    "mlp": lambda data, w: worker_mlp(data, w, "float32"),
    "mlp-float64": lambda data, w: worker_mlp(data, w, "float64"),
    "lean": worker_lean,
    "torch": worker_torch,
    "torch-float64": lambda data, w: worker_torch(data, w, "float64"),
    "sklearn": worker_sklearn,
    "gemm": worker_gemm,
    "t98-mlp": worker_t98_mlp,
    "t98-torch": worker_t98_torch,
    "deep-plain": lambda data, w: worker_deep_mlp(data, w, extras=False),
    "deep-extras": lambda data, w: worker_deep_mlp(data, w, extras=True),
    "deep-torch": worker_deep_torch,
}
WORKLOADS = {"problem": PROBLEM_SET_WORKLOAD, "wide": WIDE_WORKLOAD, "t98": T98_RECIPE,
             "deep": DEEP_WORKLOAD}


def run_worker(name: str, workload: str, data_dir: str | None) -> None:
    data = load(data_dir)
    result = WORKERS[name](data, WORKLOADS[workload])
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["blas"] = kernel()
    print(json.dumps(result))


# -- the driver ------------------------------------------------------------------------------


def available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


#: Worker names ending in this run the library found in ``--baseline`` (an earlier source tree).
BASELINE = "@baseline"


def spawn(name: str, workload: str, data_dir: str | None,
          baseline: str | None = None) -> dict | None:
    env = user_environment()
    if name.endswith(BASELINE):
        name = name[: -len(BASELINE)]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [baseline, env.get("PYTHONPATH")]))
    cmd = [sys.executable, __file__, "--worker", name, "--workload", workload]
    if data_dir:
        cmd += ["--data", data_dir]
    import subprocess  # here: a worker's peak memory should be the library's, not the driver's

    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"  {name}/{workload} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def alternate(names: list[str], workload: str, args) -> dict[str, list[dict]]:
    """``args.repeats`` runs of each worker, one of each per repeat, so that a slow spell of
    the machine hits them all alike."""
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for rep in range(args.repeats):
        for name in names:
            r = spawn(name, workload, args.data, args.baseline)
            if r:
                runs[name].append(r)
        print(f"  {workload} repeat {rep + 1}/{args.repeats}: " + ", ".join(
            f"{n} {runs[n][-1]['seconds']:.2f}s" for n in names if runs[n]), flush=True)
    return runs


def median_of(runs: list[dict], key: str) -> float:
    import statistics

    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per implementation")
    parser.add_argument("--data", default=os.environ.get("MLP_DATA_DIR"),
                        help="folder of the MNIST IDX files (default: $MLP_DATA_DIR, "
                             "else the bundled subset)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--only", default="problem,wide,t98,deep",
                        help="comma list of parts: problem (the problem-set workload), wide, "
                             "t98, deep")
    parser.add_argument("--baseline", metavar="SRC",
                        help="also time the problem-set workload with the mlp package found in "
                             "this folder (e.g. an earlier commit's src/), alternating with ours")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="problem", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.workload, args.data)
        return 0

    parts = args.only.split(",")
    data = load(args.data)
    n_train, n_val = len(data.y_train), len(data.y_val)
    print(f"data: {'MNIST from ' + args.data if args.data else 'bundled subset'} "
          f"({n_train} train / {n_val} val / {len(data.y_test)} test)")
    others = [name for name, module in (("torch", "torch"), ("sklearn", "sklearn"))
              if available(module)]
    results: dict = {"data": args.data or "mnist-small", "repeats": args.repeats}
    targets: list[tuple[str, bool, str]] = []

    if "problem" in parts:
        gemm = spawn("gemm", "problem", args.data)
        results["blas"] = gemm["blas"]
        print(f"BLAS: {gemm['blas']}")
        baseline = ["mlp" + BASELINE] if args.baseline else []
        runs = alternate(["mlp", *baseline, "lean", *others], "problem", args)
        f64_names = ["mlp-float64"] + (["torch-float64"] if "torch" in others else [])
        f64_runs = alternate(f64_names, "problem", args)
        f64 = {name: {"median_s": median_of(rs, "seconds"), "test_acc": median_of(rs, "test_acc")}
               for name, rs in f64_runs.items() if rs}
        flops = workload_flops(n_train, n_val, PROBLEM_SET_WORKLOAD)
        floor = flops / (gemm["gflops"] * 1e9)
        table = {}
        for name, rs in runs.items():
            if rs:
                table[name] = {"median_s": median_of(rs, "seconds"),
                               "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                               "test_acc": median_of(rs, "test_acc")}
        ours = table["mlp"]["median_s"]
        print("\nProblem-set workload: 784-64-10 ReLU, batch 100, 20 epochs, SGD 1e-3, decay 0.95, "
              "reg 0.5, float32")
        print(f"  {'':14}{'median s':>10}{'peak MB':>10}{'test acc':>10}{'ours / it':>11}")
        for name, row in table.items():
            row["ours_over_it"] = ours / row["median_s"]
            print(f"  {name:14}{row['median_s']:>10.2f}{row['peak_rss_mb']:>10.0f}"
                  f"{row['test_acc']:>10.4f}{row['ours_over_it']:>11.2f}")
        print(f"  floor: {flops / 1e9:.0f} GFLOP / {gemm['gflops']:.0f} GFLOP/s float32 GEMM at "
              f"these shapes = {floor:.2f} s; ours / floor = {ours / floor:.2f}")
        if "lean" in table:
            print(f"  lean: the fewest-calls NumPy loop of the same workload (no checks, no "
                  f"history): {table['lean']['median_s'] / floor:.2f} x the floor")
        for name, row in f64.items():
            print(f"  {name:14}{row['median_s']:>10.2f}{'':>10}{row['test_acc']:>10.4f}")
        results["problem"] = {"table": table, "floor_s": floor, "gemm_gflops": gemm["gflops"],
                              "ours_over_floor": ours / floor, "float64": f64}
        if "lean" in table:
            results["problem"]["lean_over_floor"] = table["lean"]["median_s"] / floor
        if baseline:
            ratio = table[baseline[0]]["ours_over_it"]
            print(f"  against the baseline {args.baseline}: ours / baseline = {ratio:.2f}")
            targets.append(("problem-set workload no slower than the baseline", ratio <= 1.0,
                            f"{ratio:.2f} x"))
        if "torch" in table:
            ratio = table["torch"]["ours_over_it"]
            targets.append(("1. float32 time <= 0.45 x PyTorch's", ratio <= 0.45, f"{ratio:.2f}"))
        targets.append(("1. float32 time <= 1.8 x the floor", ours / floor <= 1.8,
                        f"{ours / floor:.2f}"))
        if "torch-float64" in f64:
            ratio = f64["mlp-float64"]["median_s"] / f64["torch-float64"]["median_s"]
            targets.append(("1. float64 time <= 0.6 x PyTorch's float64", ratio <= 0.6,
                            f"{ratio:.2f}"))
        gap = abs(table["mlp"]["test_acc"] - f64["mlp-float64"]["test_acc"]) * 100
        targets.append(("1. float32 accuracy within 0.3 points of float64", gap <= 0.3,
                        f"{gap:.2f} points"))
        peak = table["mlp"]["peak_rss_mb"]
        targets.append(("6. peak memory of the problem-set run <= 100 MB", peak <= 100,
                        f"{peak:.0f} MB"))

    if "wide" in parts:
        gemm = spawn("gemm", "wide", args.data)
        rs = [r for r in (spawn("mlp", "wide", args.data) for _ in range(args.repeats)) if r]
        seconds = median_of(rs, "seconds")
        rate = workload_flops(n_train, n_val, WIDE_WORKLOAD) / seconds / 1e9
        share = rate / gemm["gflops"]
        print(f"\nWide network 784-1024-10, batch 256, 5 epochs: median {seconds:.2f} s = "
              f"{rate:.0f} GFLOP/s, {share:.0%} of the {gemm['gflops']:.0f} GFLOP/s GEMM rate")
        results["wide"] = {"median_s": seconds, "gflops": rate, "gemm_gflops": gemm["gflops"],
                           "share": share}
        targets.append(("2. wide network >= 85% of the GEMM rate", share >= 0.85, f"{share:.0%}"))

    if "t98" in parts:
        runs = alternate(["t98-mlp"] + (["t98-torch"] if "torch" in others else []), "t98", args)
        print(f"\nTime to 98% test accuracy, recipe {T98_RECIPE} (AdamW, "
              "warm-up then cosine, pixels / 255, trained on all 60,000 images):")
        t98 = {}
        for name, rs in runs.items():
            t98[name] = {"median_s": median_of(rs, "seconds"),
                         "test_acc": median_of(rs, "test_acc")}
            print(f"  {name:10} {t98[name]['median_s']:.2f} s, test acc "
                  f"{t98[name]['test_acc']:.4f}")
        results["t98"] = t98
        mine = t98["t98-mlp"]
        reached = mine["test_acc"] >= 0.98
        targets.append(("4. 98% test accuracy reached", reached, f"{mine['test_acc']:.4f}"))
        targets.append(("4. time to 98% <= 3.0 s", reached and mine["median_s"] <= 3.0,
                        f"{mine['median_s']:.2f} s"))
        if "t98-torch" in t98:
            faster = mine["median_s"] < t98["t98-torch"]["median_s"]
            targets.append(("4. faster than the same recipe in PyTorch", faster,
                            f"{mine['median_s'] / t98['t98-torch']['median_s']:.2f} x"))

    if "deep" in parts:
        names = ["deep-plain", "deep-extras"] + (["deep-torch"] if "torch" in others else [])
        runs = alternate(names, "deep", args)
        deep = {name: {"s_per_epoch": median_of(rs, "seconds"),
                       "test_acc": median_of(rs, "test_acc")} for name, rs in runs.items() if rs}
        print(f"\nDeep network 784-{'-'.join(map(str, DEEP_WORKLOAD['hidden']))}-10, batch "
              f"{DEEP_WORKLOAD['batch']}, float32; dropout {DEEP_WORKLOAD['dropout']} and batch "
              "norm (extras) or neither (plain):")
        for name, row in deep.items():
            print(f"  {name:12} {row['s_per_epoch']:.2f} s per epoch, test acc "
                  f"{row['test_acc']:.4f}")
        results["deep"] = deep
        cost = deep["deep-extras"]["s_per_epoch"] / deep["deep-plain"]["s_per_epoch"]
        targets.append(("dropout + batch norm cost <= 1.5 x per epoch", cost <= 1.5,
                        f"{cost:.2f} x"))
        if "deep-torch" in deep:
            ratio = deep["deep-extras"]["s_per_epoch"] / deep["deep-torch"]["s_per_epoch"]
            targets.append(("3. deep network with extras <= 0.6 x PyTorch's time", ratio <= 0.6,
                            f"{ratio:.2f} x"))

    targets.append(("5. Fashion-MNIST >= 0.89 in <= 10 s", False,
                    "not measured here (needs the Fashion-MNIST files)"))
    print("\nTargets:")
    for label, ok, figure in targets:
        print(f"  [{'met' if ok else 'NOT MET'}] {label}: {figure}")
    results["targets"] = [{"target": t, "met": ok, "figure": f} for t, ok, f in targets]
    print(json.dumps(results, indent=1, default=float))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
