"""``python -m pose_regressor_node bench MODEL``: latency table + JSON per backend and batch size."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ..cli_args import non_negative_int, positive_int
from ..jetson import JtopLogger
from .bench import benchmark, format_table, measure_preprocess
from .engine import available_backends, load_engine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help=".pt checkpoint, .onnx or .engine")
    parser.add_argument("--backend", nargs="+", default=None,
                        help="backends to measure (default: every one installed, plus auto)")
    parser.add_argument("--batch", type=positive_int, nargs="+", default=[1])
    parser.add_argument("--iterations", type=positive_int, default=50)
    parser.add_argument("--warmup", type=non_negative_int, default=5)
    parser.add_argument("--rounds", type=positive_int, default=5,
                        help="backends take turns over this many rounds (all their processes alive at once); "
                             "1: one backend at a time, for a 4 GB Jetson")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--json", default=None, help="also write the JSON result here")
    parser.add_argument("--jtop", default=None, help="log jetson-stats to this CSV (+ PNG) while measuring")


def run(args: argparse.Namespace) -> int:
    backends = args.backend or [b for b in ("torch", "torchscript", "onnxruntime", "tensorrt")
                                if b in available_backends() and (b != "tensorrt" or args.device != "cpu")] + ["auto"]
    if args.model.endswith(".onnx"):
        backends = [b for b in backends if b not in ("torch", "torchscript")]
    with JtopLogger(args.jtop) if args.jtop else _NoLog():
        rows = benchmark(args.model, backends, args.batch, args.iterations, args.warmup, args.device, args.rounds)
    spec = load_engine(args.model, backend="onnxruntime" if "onnxruntime" in available_backends() else "auto",
                       device="cpu").metadata.preprocess
    pre_ms = measure_preprocess(spec)
    print(format_table(rows))
    auto_b1 = next((r for r in rows if r.backend.startswith("auto") and r.batch == 1 and r.error is None), None)
    result = {"model": args.model, "rows": [asdict(r) for r in rows],
              "preprocess_ms_640x480": pre_ms,
              "preprocess_share_of_engine_p50": pre_ms / auto_b1.p50_ms if auto_b1 else None}
    print(f"preprocess 640x480 -> {spec.crop}x{spec.crop}: {pre_ms:.3f} ms per frame")
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


class _NoLog:
    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        return None
