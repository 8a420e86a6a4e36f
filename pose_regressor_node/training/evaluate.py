"""Prediction over a loader and pose-error evaluation (shared by validation and ``test``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..geometry import ErrorSummary, quat_canonical, rotation_error_deg, summarize_errors, translation_error

__all__ = ["Evaluation", "predict", "evaluate"]


@dataclass
class Evaluation:
    summary: ErrorSummary
    xyz_pred: np.ndarray
    quat_pred: np.ndarray
    xyz_true: np.ndarray
    quat_true: np.ndarray
    t_err: np.ndarray
    r_err: np.ndarray
    indices: np.ndarray


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device) -> Tuple[np.ndarray, ...]:
    model.eval()
    out = {"xyz": [], "quat": [], "xyz_true": [], "quat_true": [], "index": []}
    for images, xyz, quat, index in loader:
        pred_xyz, pred_quat = model(images.to(device, non_blocking=True))
        out["xyz"].append(pred_xyz.float().cpu())
        out["quat"].append(pred_quat.float().cpu())
        out["xyz_true"].append(xyz)
        out["quat_true"].append(quat)
        out["index"].append(torch.as_tensor(index))
    return tuple(torch.cat(v).numpy().astype(np.float64) if k != "index" else torch.cat(v).numpy()
                 for k, v in out.items())


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> Evaluation:
    xyz, quat, xyz_true, quat_true, index = predict(model, loader, device)
    quat = quat_canonical(quat)
    t_err = np.asarray(translation_error(xyz, xyz_true))
    r_err = np.asarray(rotation_error_deg(quat, quat_true))
    return Evaluation(summarize_errors(t_err, r_err), xyz, quat, xyz_true, quat_true, t_err, r_err, index)
