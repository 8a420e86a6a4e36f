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
from ..data.dataset import eval_loader
from ..error_map import ErrorMap
from ..error_shape import ErrorShape
from ..model import load_checkpoint
from ..plots import plot_error_cdf, plot_top_view, plt, save_figure
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


def radial_bias_m(xyz_pred: np.ndarray, xyz_true: np.ndarray) -> float:
    """Mean signed radial error in the floor plane: how much farther from the middle of the test
    trajectory the predictions are than the truth. Negative: predictions shrink toward the middle."""
    centre = xyz_true[:, :2].mean(axis=0)
    return float(np.mean(np.linalg.norm(xyz_pred[:, :2] - centre, axis=1)
                         - np.linalg.norm(xyz_true[:, :2] - centre, axis=1)))


def _plot_uncertainty(ev: Evaluation, path: Path, title: str) -> Path:
    """Predicted sigma against the actual error, translation and rotation, with the 1-sigma line."""
    log_var = ev.log_var if ev.log_var is not None else np.zeros((0, 2))
    sigma = np.sqrt(np.exp(log_var))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, column, errors, unit, scale in ((axes[0], 0, ev.t_err, "m", 1.0), (axes[1], 1, ev.r_err, "deg",
                                                                                 np.degrees(1.0))):
        predicted = sigma[:, column] * scale
        ax.scatter(predicted, errors, s=4, alpha=0.5)
        top = float(max(predicted.max(initial=0.0), errors.max(initial=0.0)))
        ax.plot([0, top], [0, top], "k--", linewidth=0.8, label="error = sigma")
        ax.set_xlabel(f"predicted sigma ({unit})")
        ax.set_ylabel(f"error ({unit})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def evaluate_checkpoint(checkpoint: str, dataroot: str, dataset: str, out_dir: Path, device: str = "auto",
                    batch_size: int = 32, workers: Optional[int] = None, split: str = "test") -> SceneReport:
    dev = resolve_device(device)
    ckpt = load_checkpoint(checkpoint, map_location=str(dev))
    samples = load_samples(dataset, Path(dataroot), split)
    loader = eval_loader(samples, ckpt.metadata.preprocess, batch_size, dev, workers)
    with torch.no_grad():
        ev = evaluate(ckpt.model.to(dev), loader, dev, ErrorShape.from_calibration(ckpt.metadata.calibration),
                      ErrorMap.from_metadata(ckpt.metadata.error_map))
    scene = Path(dataroot).name
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "frames_csv": out_dir / f"{scene}_frames.csv",
        "summary_json": out_dir / f"{scene}_summary.json",
        "cdf_png": out_dir / f"{scene}_error_cdf.png",
        "topview_png": out_dir / f"{scene}_topview.png",
    }
    _write_frames_csv(files["frames_csv"], ev, [s.image for s in samples])
    summary = {"scene": scene, "split": split, "checkpoint": checkpoint, "arch": ckpt.metadata.arch,
               "input": {"resize": ckpt.metadata.preprocess.resize, "crop": ckpt.metadata.preprocess.crop},
               **ev.summary.as_dict(), "radial_bias_m": radial_bias_m(ev.xyz_pred, ev.xyz_true)}
    if ev.uncertainty is not None:
        summary["uncertainty"] = ev.uncertainty.as_dict()
        files["uncertainty_png"] = _plot_uncertainty(ev, out_dir / f"{scene}_uncertainty.png",
                                                     f"{scene}: predicted sigma vs error")
    files["summary_json"].write_text(json.dumps(summary, indent=2))
    plot_error_cdf({"translation (m)": ev.t_err, "rotation (deg)": ev.r_err}, files["cdf_png"], unit="m, deg",
                   title=f"{scene}: error CDF")
    order = np.argsort(ev.indices)
    plot_top_view({"ground truth": ev.xyz_true[order], "predicted": ev.xyz_pred[order]}, files["topview_png"],
                  title=f"{scene}: camera positions", styles={"predicted": "r."})
    return SceneReport(scene, ev, files)
