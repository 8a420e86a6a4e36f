"""Teacher vs student vs distilled student: test-split errors, size and latency, in one run.

Errors come from ``test`` on the test split (model selection was on validation); latency is ONNX
Runtime on this CPU at batch 1, measured in the same run for every model, so the ratios between
models hold even on a noisy machine. Prints JSON and a markdown table.
Run: PYTHONPATH=. .venv/bin/python bench/model_table.py --dataroot DIR NAME=CHECKPOINT ...
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from pose_regressor_node.inference.bench import benchmark
from pose_regressor_node.model import load_checkpoint
from pose_regressor_node.training.report import evaluate_checkpoint


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataroot", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("models", nargs="+", help="NAME=CHECKPOINT")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.models:
            name, path = item.split("=", 1)
            ckpt = load_checkpoint(path)
            report = evaluate_checkpoint(path, args.dataroot, "7scenes", Path(tmp) / name, device="cpu",
                                         workers=args.workers)
            s = report.evaluation.summary
            latency = benchmark(path, ["onnxruntime"], [1], iterations=100, warmup=10, device="cpu")[0]
            params = sum(p.numel() for p in ckpt.model.parameters())
            rows.append({"name": name, "arch": ckpt.metadata.arch, "input": ckpt.metadata.preprocess.crop,
                         "epoch_selected_on_val": ckpt.metadata.epoch,
                         "val_median_m": ckpt.metadata.val_errors.get("median_m"),
                         "test_median_m": s.median_m, "test_median_deg": s.median_deg, "test_mean_m": s.mean_m,
                         "test_mean_deg": s.mean_deg, "params_M": params / 1e6,
                         "fp16_size_MB": params * 2 / 1e6, "file_MB": os.path.getsize(path) / 1e6,
                         "ort_cpu_p50_ms": latency.p50_ms})
    print(json.dumps(rows, indent=2))
    print("| model | input | test median (m) | test median (deg) | params (M) | fp16 MB | ORT CPU p50 (ms) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} ({r['arch']}) | {r['input']} | {r['test_median_m']:.3f} | {r['test_median_deg']:.2f} | "
              f"{r['params_M']:.1f} | {r['fp16_size_MB']:.1f} | {r['ort_cpu_p50_ms']:.2f} |")
    return {"rows": rows}


if __name__ == "__main__":
    main()
