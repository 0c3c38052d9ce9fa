"""``mlp evaluate``: a saved model's scores on a split of an image set, or on a CSV table."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import accuracy, confusion_matrix, per_class_accuracy, r2_score, rmse
from ..run.data import TableModel, load_images, pixels, split_images
from ..run.errors import UsageError
from ..run.files import save_figure
from ..run.modelfile import check_inputs, read_model
from ..run.text import arch
from ..serialization import input_max
from .train import add_download_options, fetch_options


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="accuracy (or R^2 and RMSE), per-class accuracy and confusion matrix "
                         "of a saved model",
        description="Evaluate a saved model (or checkpoint) on a dataset split: overall and "
                    "per-class accuracy, the confusion matrix as text and as a PNG; or, for a "
                    "model trained on a CSV table, on a CSV file with the same columns: accuracy "
                    "for a classifier, R^2 and RMSE for a regression.")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'mlp train'")
    p.add_argument("--dataset", metavar="NAME|FOLDER",
                   help="mnist-small, mnist, fashion-mnist or a folder of IDX files (default: "
                        "the dataset the model was trained on, else mnist-small)")
    p.add_argument("--split", choices=("test", "val", "train"), default="test",
                   help="which part of the dataset (default: test)")
    p.add_argument("--data", metavar="FILE.csv",
                   help="a CSV table with the model's feature columns and the target column")
    p.add_argument("--target", metavar="COLUMN",
                   help="the target column of --data (default: the one the model learnt)")
    p.add_argument("--figure", metavar="PNG",
                   help="where to write the confusion matrix picture, exactly this path "
                        "(default: confusion_matrix_<dataset>_<split>.png beside the model)")
    p.add_argument("--no-figure", action="store_true", help="write no picture")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    add_download_options(p.add_argument_group("download"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model, extra = read_model(args.model)
    if "table" in extra:
        result, cm = _on_table(args, model, extra)
    else:
        result, cm = _on_images(args, model, extra)
    if cm is not None and not args.no_figure:
        result["figure"] = str(_figure(args, cm, result))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(model, result, cm)
    return 0


def _on_images(args, model, extra: dict[str, Any]):
    if args.data or args.target:
        raise UsageError(f"--data and --target are for models trained on a CSV table; "
                         f"{args.model} was trained on images")
    settings = extra.get("settings") or {}
    dataset = args.dataset or settings.get("dataset") or "mnist-small"
    ds = load_images(dataset, fetch_options(args))
    if args.split == "test":
        X, y = ds.X_test, ds.y_test
    else:
        train, val = split_images(dataset, ds.X_train, settings.get("val_size"))
        rows = train if args.split == "train" else val
        X, y = ds.X_train[rows], ds.y_train[rows]
    if not len(X):
        raise ValueError(f"the {args.split} split of {dataset!r} is empty")
    X = pixels(X, input_max(extra), model.dtype.name)
    check_inputs(model, X.shape[1], f"dataset {dataset!r}")
    return _classification(args, model, X, y, dataset=dataset, split=args.split)


def _on_table(args, model, extra: dict[str, Any]):
    table = TableModel.from_extra(extra["table"], model.input_size)
    if not args.data:
        raise UsageError(f"{args.model} was trained on a CSV table: give --data FILE.csv")
    if args.dataset or args.split != "test":
        raise UsageError("--dataset and --split are for models trained on images")
    target = args.target or table.target
    X = table.features_of(args.data, model.dtype)
    y = table.targets_of(args.data, target)
    where = {"data": args.data, "target": target}
    if table.task == "classification":
        return _classification(args, model, X, y, class_names=table.classes, **where)
    pred = table.values(model.predict(X))
    return ({"model": args.model, **where, "examples": int(len(y)), "r2": r2_score(y, pred),
             "rmse": rmse(y, pred)}, None)


def _classification(args, model, X, y, class_names=None, **where):
    pred = model.predict(X)
    cm = confusion_matrix(y, pred, max(model.n_classes, int(y.max()) + 1))
    names = class_names or [str(c) for c in range(cm.shape[0])]
    per_class = {name: None if np.isnan(a) else float(a)
                 for name, a in zip(names, per_class_accuracy(cm), strict=True)}
    return ({"model": args.model, **where, "examples": int(len(y)),
             "accuracy": accuracy(y, pred), "per_class_accuracy": per_class,
             "confusion_matrix": cm.tolist()}, cm)


def _figure(args, cm, result) -> Path:
    from ..viz import plot_confusion_matrix

    if "data" in result:  # a CSV table
        name = Path(result["data"]).stem
    else:
        source = result["dataset"]
        name = Path(source).name if os.sep in source or Path(source).is_dir() else source
    split = result.get("split", "all")
    path = Path(args.figure) if args.figure else (
        Path(args.model).parent / f"confusion_matrix_{name}_{split}.png")
    title = f"{Path(args.model).name} on {name} {split} (accuracy {result['accuracy']:.4f})"
    save_figure(plot_confusion_matrix(cm, list(result["per_class_accuracy"]), title=title), path)
    return path


def _print(model, result: dict[str, Any], cm) -> None:
    where = (f"{result['dataset']}, {result['split']} split" if "dataset" in result
             else f"{result['data']} (target {result['target']!r})")
    print(f"{result['model']} ({arch(model)}) on {where}, {result['examples']} examples")
    if cm is None:
        print(f"R^2: {result['r2']:.4f}\nRMSE: {result['rmse']:.6g}")
        return
    print(f"accuracy: {result['accuracy']:.4f}")
    per_class = result["per_class_accuracy"]
    print("per class:  " + "  ".join(f"{c}: {a:.3f}" if a is not None else f"{c}: -"
                                     for c, a in per_class.items()))
    width = max(5, len(str(cm.max())) + 1, *(len(c) + 1 for c in per_class))
    label = max(4, *map(len, per_class))
    print("confusion matrix (rows: true label, columns: predicted):")
    print(" " * (label + 1) + "".join(f"{c:>{width}}" for c in per_class))
    for name, row in zip(per_class, cm, strict=True):
        print(f"{name:>{label}} " + "".join(f"{v:>{width}}" for v in row))
    if "figure" in result:
        print(f"wrote {result['figure']}")
