"""``python -m pose_regressor_node export CHECKPOINT --to onnx|tensorrt [--fp16|--fp32|--int8 --calib DIR]``.

``--to onnx --int8`` writes an fp32 export and its INT8 quantisation beside it (``*.int8.onnx``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ParameterError
from .export import DEFAULT_OPSET, export_onnx, export_tensorrt, quantize_onnx
from .model_file import metadata_json, onnx_output_names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help=".pt checkpoint (or .onnx for --to tensorrt)")
    parser.add_argument("--to", choices=["onnx", "tensorrt"], default="onnx")
    parser.add_argument("--out", default=None, help="output file (default: beside the checkpoint / engine cache)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (13 reads on JetPack 4.6)")
    parser.add_argument("--static-batch", action="store_true", help="fixed batch of 1 instead of a dynamic axis")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", default=True, help="TensorRT FP16 (default)")
    precision.add_argument("--fp32", action="store_true", help="TensorRT FP32")
    precision.add_argument("--int8", action="store_true",
                           help="INT8 (needs --calib): TensorRT on GPUs that have it (not the Nano); "
                                "ONNX Runtime static quantisation for CPUs with --to onnx")
    parser.add_argument("--calib", default=None,
                        help="folder of sample images of the room for INT8 calibration (not the test split)")


def run(args: argparse.Namespace) -> int:
    if args.to == "onnx":
        if not args.checkpoint.endswith(".pt"):
            raise ParameterError("--to onnx needs a .pt checkpoint")
        if args.int8 and not args.calib:
            raise ParameterError("--int8 needs --calib DIR: a folder of sample images of the room")
        out = Path(args.out or Path(args.checkpoint).with_suffix(".onnx"))
        fp32 = out.with_name(out.name.replace(".int8.onnx", ".onnx")) if args.int8 else out
        path = export_onnx(args.checkpoint, str(fp32), opset=args.opset, dynamic_batch=not args.static_batch)
        outputs = ", ".join(f"'{name}'" for name in onnx_output_names(str(path)))
        print(f"wrote {path} (opset {args.opset}, input 'image' [batch,3,H,W], outputs {outputs})")
        if args.int8:
            int8 = out if out != fp32 else out.with_suffix(".int8.onnx")
            path = quantize_onnx(str(fp32), str(int8), args.calib)
            print(f"wrote {path} (INT8, QDQ, calibrated on the images under {args.calib})")
        print(metadata_json(str(path)))
        return 0
    path = export_tensorrt(args.checkpoint, args.out, fp16=not args.fp32, int8=args.int8, calib_dir=args.calib)
    print(f"wrote {path} (+ {path.name}.json metadata)")
    return 0
