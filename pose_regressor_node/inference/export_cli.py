"""``python -m pose_regressor_node export CHECKPOINT --to onnx|tensorrt``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ParameterError
from .export import DEFAULT_OPSET, export_onnx, export_tensorrt, metadata_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help=".pt checkpoint (or .onnx for --to tensorrt)")
    parser.add_argument("--to", choices=["onnx", "tensorrt"], default="onnx")
    parser.add_argument("--out", default=None, help="output file (default: beside the checkpoint / engine cache)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (13 reads on JetPack 4.6)")
    parser.add_argument("--static-batch", action="store_true", help="fixed batch of 1 instead of a dynamic axis")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", default=True, help="TensorRT FP16 (default)")
    precision.add_argument("--fp32", action="store_true", help="TensorRT FP32")
    precision.add_argument("--int8", action="store_true", help="TensorRT INT8 (needs --calib; not on a Nano)")
    parser.add_argument("--calib", default=None, help="folder of sample images for INT8 calibration")


def run(args: argparse.Namespace) -> int:
    if args.to == "onnx":
        if not args.checkpoint.endswith(".pt"):
            raise ParameterError("--to onnx needs a .pt checkpoint")
        out = args.out or str(Path(args.checkpoint).with_suffix(".onnx"))
        path = export_onnx(args.checkpoint, out, opset=args.opset, dynamic_batch=not args.static_batch)
        print(f"wrote {path} (opset {args.opset}, input 'image' [batch,3,H,W], outputs 'xyz', 'quat')")
        print(metadata_json(str(path)))
        return 0
    path = export_tensorrt(args.checkpoint, args.out, fp16=not args.fp32, int8=args.int8, calib_dir=args.calib)
    print(f"wrote {path} (+ {path.name}.json metadata)")
    return 0
