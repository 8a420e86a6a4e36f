"""``test``: per-scene errors of a checkpoint on the test split, as CSV, JSON and PNG plots."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from ..data import load_samples
from ..data.dataset import PoseDataset, make_loader
from ..data.transforms import EvalTransform
from ..model import load_checkpoint
from ..plots import plot_error_cdf, plot_top_view
from .evaluate import Evaluation, evaluate
from .loop import resolve_device

__all__ = ["SceneReport", "evaluate_checkpoint"]


@dataclass
class SceneReport:
    scene: str
    evaluation: Evaluation
    files: Dict[str, Path]


def _write_frames_csv(path: Path, ev: Evaluation, images) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "image", "t_err_m", "r_err_deg", "x", "y", "z", "qw", "qx", "qy", "qz",
                    "x_true", "y_true", "z_true", "qw_true", "qx_true", "qy_true", "qz_true"])
        for i in range(len(ev.t_err)):
            w.writerow([int(ev.indices[i]), str(images[int(ev.indices[i])]), f"{ev.t_err[i]:.6f}", f"{ev.r_err[i]:.6f}",
                        *(f"{v:.6f}" for v in ev.xyz_pred[i]), *(f"{v:.6f}" for v in ev.quat_pred[i]),
                        *(f"{v:.6f}" for v in ev.xyz_true[i]), *(f"{v:.6f}" for v in ev.quat_true[i])])


def evaluate_checkpoint(checkpoint: str, dataroot: str, dataset: str, out_dir: Path, device: str = "auto",
                    batch_size: int = 32, workers: Optional[int] = None, split: str = "test") -> SceneReport:
    dev = resolve_device(device)
    ckpt = load_checkpoint(checkpoint, map_location=str(dev))
    samples = load_samples(dataset, Path(dataroot), split)
    loader = make_loader(PoseDataset(samples, EvalTransform(ckpt.metadata.preprocess)), batch_size, shuffle=False,
                         device=dev, workers=workers)
    with torch.no_grad():
        ev = evaluate(ckpt.model.to(dev), loader, dev)
    scene = Path(dataroot).name
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "frames_csv": out_dir / f"{scene}_frames.csv",
        "summary_json": out_dir / f"{scene}_summary.json",
        "cdf_png": out_dir / f"{scene}_error_cdf.png",
        "topview_png": out_dir / f"{scene}_topview.png",
    }
    _write_frames_csv(files["frames_csv"], ev, [s.image for s in samples])
    files["summary_json"].write_text(json.dumps({
        "scene": scene, "split": split, "checkpoint": checkpoint, "arch": ckpt.metadata.arch,
        "input": {"resize": ckpt.metadata.preprocess.resize, "crop": ckpt.metadata.preprocess.crop},
        **ev.summary.as_dict()}, indent=2))
    plot_error_cdf({"translation (m)": ev.t_err, "rotation (deg)": ev.r_err}, files["cdf_png"], unit="m, deg",
                   title=f"{scene}: error CDF")
    order = np.argsort(ev.indices)
    plot_top_view({"ground truth": ev.xyz_true[order], "predicted": ev.xyz_pred[order]}, files["topview_png"],
                  title=f"{scene}: camera positions", styles={"predicted": "r."})
    return SceneReport(scene, ev, files)
