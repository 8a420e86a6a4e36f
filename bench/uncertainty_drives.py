"""Does the model's predicted uncertainty hold on more than one drive? Per held-out drive of the demo room.

One test drive is 600 frames whose errors are correlated over seconds: a few dozen independent
pieces of evidence, so one drive's coverage and rank correlation are noisy figures. This renders
further held-out drives of the room the model was trained on (seeds no split uses), evaluates the
model on each as ``test`` does (the sigma the robot publishes: the error map's where the model has
one, else the head's), and prints JSON: per drive, the median errors, the share of frames
within the predicted 1 and 2 sigma with the chi-square expectation for the model's error shape
(free: chi-square(3), 19.9 % and 73.9 %; planar: chi-square(2) for x, y, 39.3 % and 86.5 %,
chi-square(1) for yaw, 68.3 % and 95.4 %) and Spearman(sigma, error) with its 95 % block-bootstrap interval;
then their mean and range. ``--dataroot`` adds the dataset's own validation and test drives.

    PYTHONPATH=. .venv/bin/python bench/uncertainty_drives.py --model models/demo-resnet18.pt --dataroot DATA
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np

from pose_regressor_node.sim import Renderer, build_world, simulate_drive
from pose_regressor_node.sim.dataset_writer import write_7scenes
from pose_regressor_node.sim.world import DEMO_SEED
from pose_regressor_node.training.report import SceneReport, evaluate_checkpoint

DEFAULT_DRIVES = ["loop:31", "figure8:32", "waypoints:33", "waypoints:34", "loop:35", "figure8:36"]


def _row(report) -> Dict[str, float]:
    u, s = report.evaluation.uncertainty, report.evaluation.summary
    if u is None:
        raise SystemExit(f"{report.scene}: the model has no uncertainty head")
    return {"frames": s.count, "median_m": round(s.median_m, 4), "median_deg": round(s.median_deg, 3),
            "within_1sigma_t": round(u.within_1sigma_t, 4), "within_1sigma_r": round(u.within_1sigma_r, 4),
            "within_2sigma_t": round(u.within_2sigma_t, 4), "within_2sigma_r": round(u.within_2sigma_r, 4),
            "spearman_t": round(u.spearman_t, 4), "spearman_r": round(u.spearman_r, 4),
            "spearman_t_interval": [round(v, 4) for v in u.spearman_t_interval],
            "spearman_r_interval": [round(v, 4) for v in u.spearman_r_interval],
            "expected_1sigma_t": round(u.expected_1sigma_t, 4), "expected_1sigma_r": round(u.expected_1sigma_r, 4),
            "expected_2sigma_t": round(u.expected_2sigma_t, 4), "expected_2sigma_r": round(u.expected_2sigma_r, 4)}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--drives", nargs="*", default=DEFAULT_DRIVES, help="KIND:SEED per extra drive")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--dataroot", default=None, help="a 7-Scenes dataset of the room: its val and test drives too")
    parser.add_argument("--out", default=None, help="keep the rendered drives and reports here")
    args = parser.parse_args()
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="uncertainty_drives_"))
    world = build_world(DEMO_SEED)
    renderer = Renderer(world)
    reports: Dict[str, SceneReport] = {}
    if args.dataroot:
        for split in ("val", "test"):
            reports[f"dataset {split}"] = evaluate_checkpoint(args.model, args.dataroot, "7scenes",
                                                              work / f"report_{split}", split=split)
    for number, spec in enumerate(args.drives):
        kind, seed = spec.split(":")
        scene = work / f"{kind}-{seed}"
        if not (scene / "TestSplit.txt").exists():
            drive = simulate_drive(world, kind, int(seed), duration_s=args.duration)
            write_7scenes(scene, renderer, {"test": [drive]}, seed=1000 + number)
        reports[spec] = evaluate_checkpoint(args.model, str(scene), "7scenes", work / f"report_{kind}-{seed}")
    rows = {name: _row(report) for name, report in reports.items()}
    keys: List[str] = [k for k in next(iter(rows.values()))
                       if k != "frames" and not k.startswith("expected") and not k.endswith("interval")]
    shape = next(iter(reports.values())).evaluation.uncertainty.shape  # the model's, the same for every drive
    result = {"bench": "uncertainty_drives", "model": args.model, "error_shape": shape, "drives": rows,
              "mean": {k: round(float(np.mean([r[k] for r in rows.values()])), 4) for k in keys},
              "min": {k: round(float(np.min([r[k] for r in rows.values()])), 4) for k in keys},
              "max": {k: round(float(np.max([r[k] for r in rows.values()])), 4) for k in keys}}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
