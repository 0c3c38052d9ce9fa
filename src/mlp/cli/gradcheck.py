"""``mlp gradcheck``: backpropagated gradients against centred differences, on a small network."""

from __future__ import annotations

import argparse

import numpy as np

from ..layers import HIDDEN_ACTIVATIONS
from ..run.limits import check_fits, n_parameters, training_bytes
from ..run.settings import check_per_layer
from ..run.text import arch
from .options import (
    activations,
    nonnegative_float,
    positive_float,
    positive_int,
    rates,
    seed,
    show,
    widths,
)

OUTPUTS = ("softmax", "sigmoid")


def register(sub) -> None:
    p = sub.add_parser(
        "gradcheck", help="compare analytic and numeric gradients of a network",
        description="Build a small network on random data and print, per parameter, the "
                    "largest relative error between its backpropagated gradient and centred "
                    "differences, in float64 (in float32 the differences themselves are only "
                    "good to about 1e-3). Exit status 1 if an error exceeds --tolerance. The "
                    "defaults are the problem set's toy network (4 inputs, 10 hidden units, 3 "
                    "classes, 5 examples, reg 0.1).")
    p.add_argument("--inputs", type=positive_int, default=4, metavar="D",
                   help="input features (default: 4)")
    p.add_argument("--hidden", type=widths, action="extend", metavar="WIDTHS",
                   help="hidden widths, repeatable or comma-separated (default: 10)")
    p.add_argument("--classes", type=positive_int, metavar="C",
                   help="output classes (default: 3; 1 with --output sigmoid)")
    p.add_argument("--examples", type=positive_int, default=5, metavar="N",
                   help="examples in the batch (default: 5)")
    p.add_argument("--activation", type=activations, default="relu",
                   metavar="NAME[,NAME...]",
                   help=f"hidden activation, {'|'.join(HIDDEN_ACTIVATIONS)}, or a "
                        "comma-separated list with one per hidden layer (default: relu)")
    p.add_argument("--dropout", type=rates, default=0.0, metavar="RATE[,RATE...]",
                   help="dropout after each hidden activation, one rate or one per hidden "
                        "layer; the check holds the masks fixed (default: 0)")
    p.add_argument("--batch-norm", action="store_true",
                   help="batch normalisation before each hidden activation")
    p.add_argument("--output", choices=OUTPUTS, default="softmax",
                   help="softmax cross-entropy or binary (sigmoid) cross-entropy (default: "
                        "softmax)")
    p.add_argument("--reg", type=nonnegative_float, default=0.1,
                   help="L2 strength, 0.5 * reg * sum ||W||^2 (default: 0.1)")
    p.add_argument("--std", type=positive_float, default=0.1,
                   help="weights drawn as std * randn (default: 0.1)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default: 0)")
    p.add_argument("--tolerance", type=positive_float, default=1e-6, metavar="TOL",
                   help="largest acceptable relative error (default: 1e-6)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..gradcheck import check_gradients

    model = _network(args)
    rng = np.random.default_rng(args.seed + 1)
    X = 10 * rng.standard_normal((args.examples, args.inputs))
    y = model.head.random_targets(rng, args.examples, model.output_size)
    errors = check_gradients(model, X, y, reg=args.reg)  # holds the dropout masks fixed
    print(f"gradient check: {arch(model, 'network')}, {args.output} output, float64, "
          f"{args.examples} examples, reg {args.reg:g}")
    print(f"  {'param':<6} {'shape':<12} {'max rel. error':>14}")
    for name, err in errors.items():
        flag = "ok" if err <= args.tolerance else "TOO LARGE"
        shape = "x".join(map(str, model.params[name].shape))
        print(f"  {name:<6} {shape:<12} {err:>14.3e}  {flag}")
    worst = max(errors.values())
    passed = worst <= args.tolerance
    print(f"{'passed' if passed else 'FAILED'}: largest error {worst:.3e} "
          f"{'<=' if passed else '>'} tolerance {args.tolerance:g}")
    return 0 if passed else 1


def _network(args: argparse.Namespace):
    from ..network import MLP

    hidden = [10] if args.hidden is None else args.hidden
    check_per_layer("--activation", args.activation, hidden, "name")
    check_per_layer("--dropout", args.dropout, hidden, "rate")
    classes = args.classes or (1 if args.output == "sigmoid" else 3)
    sizes = [args.inputs, *hidden, classes]
    check_fits(f"--inputs {args.inputs} --hidden {show(hidden) or 0} --classes {classes} "
               f"--examples {args.examples}: a {'-'.join(map(str, sizes))} network of "
               f"{n_parameters(sizes):,} parameters on {args.examples:,} examples",
               training_bytes(sizes, 8, args.examples, 0) + 8 * args.examples * args.inputs)
    return MLP(args.inputs, hidden, classes, activation=args.activation, output=args.output,
               std=args.std, seed=args.seed, dtype=np.float64, dropout=args.dropout,
               batch_norm=args.batch_norm)
