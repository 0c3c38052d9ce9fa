"""``mlp predict``: classify pictures of digits, or predict the target of a CSV table's rows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic, write_text_atomic
from ..images import MNIST_SIZE
from ..run.data import TableModel
from ..run.errors import UsageError
from ..run.files import write_csv
from ..run.modelfile import read_model
from ..serialization import input_max
from .options import positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "predict", help="classify images of handwritten digits, or predict a CSV table's target",
        description="Classify PNG/JPEG images of single digits, of any size and colours. Each "
                    "image is converted the way MNIST's digits were made: grey, inverted to a "
                    "white digit on black if its background is light, cropped to the digit, "
                    "scaled into a 20x20 box and centred by its centre of mass in 28x28. For a "
                    "model trained on a CSV table, give one CSV file with the same feature "
                    "columns (matched by name): it prints the predictions as CSV.")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'mlp train'")
    p.add_argument("inputs", metavar="INPUT", nargs="+",
                   help="image files, or one CSV file for a model trained on a table")
    p.add_argument("--top", type=positive_int, default=1, metavar="K",
                   help="show the K most likely labels of each image (default: 1)")
    p.add_argument("--save-inputs", metavar="DIR",
                   help="also write the 28x28 images the network sees, as PNGs, into DIR "
                        "(NAME_28x28.png; a second image called NAME gets NAME-2_28x28.png)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--out", metavar="FILE",
                   help="write the predictions into FILE (atomically) instead of printing them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model, extra = read_model(args.model)
    text = _table(args, model, extra) if "table" in extra else _images(args, model, extra)
    if args.out:
        write_text_atomic(Path(args.out), text)
    else:
        print(text, end="")
    return 0


# -- pictures of digits ---------------------------------------------------------------------------


def _images(args, model, extra: dict[str, Any]) -> str:
    from ..images import check_digit_reader, digit_inputs, read_digit_image

    check_digit_reader(model, extra, args.model)
    images = np.stack([read_digit_image(path) for path in args.inputs])
    seen = saved_names(args.inputs)
    if args.save_inputs:  # only now that every image has been read: no folder on an error
        _save_inputs(Path(args.save_inputs), seen, images)
    X = digit_inputs(images, input_max(extra), model.dtype)
    proba = model.predict_proba(X)
    k = min(args.top, proba.shape[1])
    results = []
    for path, name, p in zip(args.inputs, seen, proba, strict=True):
        top = np.argsort(-p, kind="stable")[:k]
        results.append({"image": path, "label": int(top[0]),
                        "top": [{"label": int(c), "probability": float(p[c])} for c in top],
                        **({"input_saved_as": name} if args.save_inputs else {})})
    if args.json:
        return json.dumps(results, indent=2) + "\n"
    return "".join(f"{r['image']}: " + ", ".join(f"{t['label']} ({t['probability']:.3f})"
                                                 for t in r["top"]) + "\n" for r in results)


def saved_names(paths: list[str]) -> list[str]:
    """A distinct file name per input image: ``NAME_28x28.png``, then ``NAME-2_28x28.png`` for
    the next image called NAME (from another folder, say), so none overwrites another."""
    used: set[str] = set()
    names = []
    for path in paths:
        stem, n = Path(path).stem, 1
        name = f"{stem}_{MNIST_SIZE}x{MNIST_SIZE}.png"
        while name in used:
            n += 1
            name = f"{stem}-{n}_{MNIST_SIZE}x{MNIST_SIZE}.png"
        used.add(name)
        names.append(name)
    return names


def _save_inputs(folder: Path, names: list[str], images: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name, image in zip(names, images, strict=True):
        picture = Image.fromarray(np.round(image).astype(np.uint8))
        write_atomic(folder / name, lambda f, picture=picture: picture.save(f, format="PNG"))


# -- rows of a table ------------------------------------------------------------------------------


def _table(args, model, extra: dict[str, Any]) -> str:
    table = TableModel.from_extra(extra["table"], model.input_size)
    if len(args.inputs) != 1 or args.save_inputs or args.top != 1:
        raise UsageError(f"{args.model} was trained on a CSV table: give one CSV file, without "
                         "--save-inputs or --top")
    X = table.features_of(args.inputs[0], model.dtype)
    if table.task == "classification":
        proba = model.predict_proba(X)
        labels = np.argmax(proba, axis=1)
        rows = [{"row": i + 1, table.target: table.classes[c], "probability": _number(p[c])}
                for i, (c, p) in enumerate(zip(labels, proba, strict=True))]
        fields = ["row", table.target, "probability"]
    else:
        values = table.values(model.predict(X))
        rows = [{"row": i + 1, table.target: _number(v)} for i, v in enumerate(values)]
        fields = ["row", table.target]
    if args.json:
        return json.dumps(rows, indent=2) + "\n"
    return write_csv(None, fields, rows)


def _number(value) -> float:
    """A float32 result to the digits it holds (0.7855149, not 0.7855148911476135)."""
    return float(f"{value:.7g}")
