"""ONNX Runtime INT8 (static QDQ, ``export --to onnx --int8 --calib DIR``) vs fp32 vs eager torch on this CPU:
latency in one run, and what quantisation costs in accuracy on a test split.

1. Latency: ResNet18 at 224 x 224, batch 1 (the inference issue's configuration), eager torch, ONNX
   Runtime fp32 and ONNX Runtime INT8 calibrated on the ``--calib`` images, each in its own process,
   taking turns (``inference.bench.benchmark_models``).
2. Accuracy: ``--checkpoint`` (default: the demo model) exported fp32 and INT8 (calibrated on
   ``--calib``, which must not be the test split), both run through ONNX Runtime on every test frame
   of ``--dataroot``; median and mean errors against ground truth, and the INT8 vs fp32 difference.

Run: PYTHONPATH=. .venv/bin/python bench/int8.py --calib VAL_FRAMES_DIR --dataroot TEST_SCENE_DIR
(``python -m pose_regressor_node sim --out DIR --split val|test`` makes both). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Dict

import cv2
import numpy as np

from pose_regressor_node.data import load_samples
from pose_regressor_node.geometry import rotation_error_deg, summarize_errors, translation_error
from pose_regressor_node.inference.bench import benchmark_models
from pose_regressor_node.inference.engine import load_engine
from pose_regressor_node.inference.export import export_onnx, quantize_onnx
from pose_regressor_node.inference.preprocess import Preprocess
from pose_regressor_node.metadata import ModelMetadata
from pose_regressor_node.model import build_model, save_checkpoint

DEMO_MODEL = Path(__file__).resolve().parents[1] / "models" / "demo-resnet18.pt"


def exports(checkpoint: str, calib: str, out: Path) -> Dict[str, str]:
    fp32 = export_onnx(checkpoint, str(out / "fp32.onnx"))
    return {"fp32": str(fp32), "int8": str(quantize_onnx(str(fp32), str(out / "int8.onnx"), calib))}


def latency(calib: str, tmp: Path, iterations: int) -> dict:
    model = build_model("resnet18").eval()
    checkpoint = str(tmp / "resnet18-224.pt")
    save_checkpoint(checkpoint, model, ModelMetadata(arch="resnet18", arch_options=model.options))
    files = exports(checkpoint, calib, tmp / "r18-224")
    rows = {r.backend: r for r in benchmark_models([(checkpoint, "torch", "torch"),
                                                     (files["fp32"], "auto", "onnxruntime fp32"),
                                                     (files["int8"], "auto", "onnxruntime int8")],
                                                    [1], iterations=iterations, device="cpu")}
    eager = rows["torch"].p50_ms
    return {name: {"p50_ms": round(r.p50_ms, 2), "p95_ms": round(r.p95_ms, 2),
                   "speedup_vs_eager": round(eager / r.p50_ms, 2)} for name, r in rows.items()}


def accuracy(checkpoint: str, calib: str, dataroot: str, tmp: Path) -> dict:
    samples = load_samples("7scenes", Path(dataroot), "test")
    files = exports(checkpoint, calib, tmp / "model")
    result, predictions = {}, {}
    for name, path in files.items():
        engine = load_engine(path, backend="onnxruntime", device="cpu")
        preprocess = Preprocess(engine.metadata.preprocess)
        xyz, quat = [], []
        for start in range(0, len(samples), 32):
            frames = [cv2.imread(str(s.image), cv2.IMREAD_COLOR) for s in samples[start:start + 32]]
            t, q = engine.infer(preprocess.batch(frames, "bgr8"))
            xyz.append(t)
            quat.append(q)
        xyz, quat = np.concatenate(xyz), np.concatenate(quat)
        predictions[name] = (xyz, quat)
        t_err = translation_error(xyz, np.array([s.pose.position for s in samples]))
        r_err = rotation_error_deg(quat, np.array([s.pose.quaternion for s in samples]))
        errors = summarize_errors(t_err, r_err)
        result[name] = {"median_m": round(errors.median_m, 4), "median_deg": round(errors.median_deg, 3),
                        "mean_m": round(errors.mean_m, 4), "mean_deg": round(errors.mean_deg, 3)}
    shift = translation_error(predictions["int8"][0], predictions["fp32"][0])
    turn = rotation_error_deg(predictions["int8"][1], predictions["fp32"][1])
    result["int8_vs_fp32"] = {"median_m": round(float(np.median(shift)), 4),
                              "p95_m": round(float(np.percentile(shift, 95)), 4),
                              "median_deg": round(float(np.median(turn)), 3),
                              "p95_deg": round(float(np.percentile(turn, 95)), 3)}
    result["frames"] = len(samples)
    return result


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calib", required=True, help="calibration images (e.g. the validation drive's frames)")
    parser.add_argument("--dataroot", required=True, help="7-Scenes style scene whose test split is scored")
    parser.add_argument("--checkpoint", default=str(DEMO_MODEL))
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {"bench": "int8", "latency_resnet18_224_batch1": latency(args.calib, Path(tmp), args.iterations),
                  "accuracy": {"checkpoint": Path(args.checkpoint).name,
                               **accuracy(args.checkpoint, args.calib, args.dataroot, Path(tmp))}}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
