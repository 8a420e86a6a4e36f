"""Prediction over a loader, pose-error evaluation and the uncertainty's checks (shared by
validation, ``test`` and the calibration)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from scipy.stats import chi2
from torch import nn
from torch.utils.data import DataLoader

from ..error_map import ErrorMap
from ..error_shape import ErrorShape, rotation_error_vectors
from ..geometry import ErrorSummary, quat_canonical, rotation_error_deg, summarize_errors, translation_error
from .rank_correlation import spearman, spearman_interval

__all__ = ["Evaluation", "Prediction", "UncertaintySummary", "predict", "evaluate", "error_vectors",
           "summarize_uncertainty"]

@dataclass
class Prediction:
    xyz: np.ndarray
    quat: np.ndarray
    log_var: Optional[np.ndarray]  # (N, 2): translation m^2, rotation rad^2; None without the head
    xyz_true: np.ndarray
    quat_true: np.ndarray
    index: np.ndarray


@dataclass(frozen=True)
class UncertaintySummary:
    """How well the predicted variances describe the errors on one split.

    ``within_1sigma_*``: share of frames whose squared error is inside the predicted 1-sigma region
    (e^2 / sigma^2 <= 1), against the chi-square expectation ``expected_1sigma_*`` (3 degrees of
    freedom for the free shape; for the planar one 2 for x, y and 1 for yaw); likewise for 2 sigma.
    ``spearman_*``: rank correlation between the predicted sigma and the actual error, and
    ``spearman_*_interval`` its 95 % interval under a moving-block bootstrap over the frames in time
    order (one drive's errors are correlated over seconds, so its rank correlation is a noisy figure).
    """

    shape: str
    within_1sigma_t: float
    within_2sigma_t: float
    within_1sigma_r: float
    within_2sigma_r: float
    expected_1sigma_t: float
    expected_2sigma_t: float
    expected_1sigma_r: float
    expected_2sigma_r: float
    spearman_t: float
    spearman_r: float
    spearman_t_interval: Tuple[float, float]
    spearman_r_interval: Tuple[float, float]
    median_sigma_t_m: float
    median_sigma_r_deg: float

    def as_dict(self) -> Dict[str, Union[str, float]]:
        return asdict(self)


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
    log_var: Optional[np.ndarray] = None
    uncertainty: Optional[UncertaintySummary] = None


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device) -> Prediction:
    model.eval()
    out: Dict[str, list] = {"xyz": [], "quat": [], "log_var": [], "xyz_true": [], "quat_true": [], "index": []}
    for images, xyz, quat, index in loader:
        pred = model(images.to(device, non_blocking=True))
        out["xyz"].append(pred.xyz.float().cpu())
        out["quat"].append(pred.quat.float().cpu())
        if pred.log_var is not None:
            out["log_var"].append(pred.log_var.float().cpu())
        out["xyz_true"].append(xyz)
        out["quat_true"].append(quat)
        out["index"].append(torch.as_tensor(index))
    arrays = {k: torch.cat(v).numpy() for k, v in out.items() if v}
    return Prediction(arrays["xyz"].astype(np.float64), arrays["quat"].astype(np.float64),
                      arrays["log_var"].astype(np.float64) if "log_var" in arrays else None,
                      arrays["xyz_true"].astype(np.float64), arrays["quat_true"].astype(np.float64), arrays["index"])


def error_vectors(ev: Evaluation) -> Tuple[np.ndarray, np.ndarray]:
    """(N, 3) position errors (m) and rotation error vectors (rad, map axes) of an evaluation."""
    return ev.xyz_pred - ev.xyz_true, rotation_error_vectors(ev.quat_pred, ev.quat_true)


def summarize_uncertainty(position_errors: np.ndarray, rotation_errors: np.ndarray, log_var: np.ndarray,
                          shape: ErrorShape) -> UncertaintySummary:
    """The checks of ``UncertaintySummary`` on the parts of the errors that ``shape`` says the variances
    describe; the frames in time order."""
    var_t, var_r = np.exp(log_var[:, 0]), np.exp(log_var[:, 1])
    err_t, err_r = shape.error_norms(position_errors, rotation_errors)
    z_t, z_r = np.square(err_t) / var_t, np.square(err_r) / var_r
    return UncertaintySummary(
        shape=shape.name,
        within_1sigma_t=float(np.mean(z_t <= 1.0)), within_2sigma_t=float(np.mean(z_t <= 4.0)),
        within_1sigma_r=float(np.mean(z_r <= 1.0)), within_2sigma_r=float(np.mean(z_r <= 4.0)),
        expected_1sigma_t=float(chi2.cdf(1.0, shape.dof_translation)),
        expected_2sigma_t=float(chi2.cdf(4.0, shape.dof_translation)),
        expected_1sigma_r=float(chi2.cdf(1.0, shape.dof_rotation)),
        expected_2sigma_r=float(chi2.cdf(4.0, shape.dof_rotation)),
        spearman_t=spearman(var_t, err_t), spearman_r=spearman(var_r, err_r),
        spearman_t_interval=spearman_interval(var_t, err_t), spearman_r_interval=spearman_interval(var_r, err_r),
        median_sigma_t_m=float(np.median(np.sqrt(var_t))), median_sigma_r_deg=float(np.degrees(np.median(np.sqrt(var_r)))))


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device,
             shape: Optional[ErrorShape] = None, error_map: Optional[ErrorMap] = None) -> Evaluation:
    """Errors on one split; with ``shape`` (the one its calibration found:
    ``ErrorShape.from_calibration(metadata.calibration)``), a model with the uncertainty head also gets
    its checks, on the variances its ``error_map`` gives at the predicted poses where it has one
    (what the robot publishes), else on the head's. Model selection and calibration read only the
    errors and log-variances: without a shape they skip the checks, whose bootstrap interval takes
    about a second."""
    pred = predict(model, loader, device)
    quat = quat_canonical(pred.quat)
    t_err = np.asarray(translation_error(pred.xyz, pred.xyz_true))
    r_err = np.asarray(rotation_error_deg(quat, pred.quat_true))
    log_var = pred.log_var
    if error_map is not None and log_var is not None:
        log_var = error_map.log_variances(pred.xyz, quat)
    ev = Evaluation(summarize_errors(t_err, r_err), pred.xyz, quat, pred.xyz_true, pred.quat_true, t_err, r_err,
                    pred.index, log_var)
    if log_var is not None and shape is not None:
        order = np.argsort(pred.index, kind="stable")  # time order, for the rank correlation's interval
        position_errors, rotation_errors = error_vectors(ev)
        ev.uncertainty = summarize_uncertainty(position_errors[order], rotation_errors[order], log_var[order], shape)
    return ev
