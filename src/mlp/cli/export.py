"""``mlp export``: a model file as an ONNX file, with what ``mlp predict`` does around the network
(pixel scale, a table's standardisation, class names) inside the graph."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..run.errors import UsageError
from ..run.modelfile import read_model


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="write a model file as an ONNX file, for onnxruntime and other runtimes",
        description="Write a model file (or checkpoint) as an ONNX inference graph that takes "
                    "the raw inputs 'mlp predict' takes (pixels 0-255 of a 28x28 digit image, "
                    "or a table's feature columns in the model's order) and gives 'label' and "
                    "'probabilities' (classifiers) or 'value' (regressions). Needs the onnx "
                    "package (pip install \"mlp[onnx]\"); see docs/onnx.md.")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'mlp train' or "
                                                  "mlp.save")
    p.add_argument("output", metavar="OUTPUT.onnx", help="the ONNX file to write (replaced "
                                                         "atomically if it exists)")
    p.add_argument("--dtype", choices=("float32", "float64"),
                   help="the graph's input and arithmetic type (default: the model's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..onnx import Preprocessing, to_onnx

    source, target = Path(args.model), Path(args.output)
    if target.exists() and source.exists() and os.path.samefile(source, target):
        raise UsageError(f"OUTPUT.onnx is the model file itself ({args.output}): give another "
                         "path")
    model, extra = read_model(args.model)
    preprocessing = Preprocessing.from_extra(extra, model.input_size)
    proto = to_onnx(model, dtype=args.dtype, preprocessing=preprocessing, path=target)
    print(f"wrote {args.output}: ONNX opset {proto.opset_import[0].version}, "
          f"{_signature(proto)}")
    return 0


def _signature(proto) -> str:
    """``input (N, 784) float32 -> label (N,) int64, probabilities (N, 10) float32``."""
    from onnx import TensorProto, helper

    def one(value) -> str:
        tensor = value.type.tensor_type
        dims = [d.dim_param or str(d.dim_value) for d in tensor.shape.dim]
        shape = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
        kind = ("string" if tensor.elem_type == TensorProto.STRING
                else helper.tensor_dtype_to_np_dtype(tensor.elem_type).name)
        return f"{value.name} {shape} {kind}"

    return (", ".join(map(one, proto.graph.input)) + " -> "
            + ", ".join(map(one, proto.graph.output)))
