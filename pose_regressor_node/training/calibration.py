"""Calibrating a model's per-frame uncertainty on the validation split: the error shape, one
variance scale per output for the head, and the error map of its training views.

Run by ``train`` at its end and by ``calibrate``. Both uncertainties are calibrated the same way
(one factor per output that makes the validation split's squared errors follow chi-square at its
median), so ``covariance_source: head`` and ``model`` publish comparable covariances. Never run on
the test split: its figures would no longer be honest.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from scipy.stats import chi2
from torch.utils.data import DataLoader

from ..error_map import NEIGHBOURS, ErrorMap
from ..error_shape import ErrorShape, detect_planar
from ..model import Checkpoint, PoseRegressor
from .evaluate import Evaluation, error_vectors, evaluate

__all__ = ["variance_scale", "calibrate_checkpoint", "calibrate_head", "fit_error_map", "describe_calibration"]


def variance_scale(squared_errors: np.ndarray, variances: np.ndarray, dof: int) -> float:
    """The one factor c that makes ``squared_errors / (c variances)`` follow chi-square(dof) at its median.

    The median rather than the mean: a few gross errors (a frame the network cannot place) would
    otherwise inflate every frame's variance, and what the filter and the checks use are quantiles.
    """
    ratio = np.asarray(squared_errors, float) / np.asarray(variances, float)
    if ratio.size == 0:
        raise ValueError("cannot calibrate on an empty split")
    return float(np.median(ratio) / chi2.median(dof))


def _squared_error_norms(ev: Evaluation, shape: ErrorShape) -> Tuple[np.ndarray, np.ndarray]:
    err_t, err_r = shape.error_norms(*error_vectors(ev))
    return np.square(err_t), np.square(err_r)


def _scales(ev: Evaluation, shape: ErrorShape, log_var: np.ndarray) -> Tuple[float, float]:
    sq_t, sq_r = _squared_error_norms(ev, shape)
    return (variance_scale(sq_t, np.exp(log_var[:, 0]), shape.dof_translation),
            variance_scale(sq_r, np.exp(log_var[:, 1]), shape.dof_rotation))


def calibrate_head(model: PoseRegressor, val: Evaluation, shape: ErrorShape) -> Dict[str, float]:
    """Fold the head's variance scales on the validation split into its ``log_var_offset``, so every
    engine exported from the weights returns calibrated variances."""
    if val.log_var is None:
        raise ValueError("the model has no uncertainty head to calibrate")
    scale_t, scale_r = _scales(val, shape, val.log_var)
    head = model.head
    with torch.no_grad():
        head.log_var_offset += torch.log(torch.tensor([scale_t, scale_r], dtype=head.log_var_offset.dtype,
                                                      device=head.log_var_offset.device))
    return {"variance_scale_translation": scale_t, "variance_scale_rotation": scale_r}


def fit_error_map(model: PoseRegressor, train_loader: DataLoader, val: Evaluation, shape: ErrorShape,
                  device: torch.device) -> ErrorMap:
    """The model's errors on its training views (centre crops, unaugmented), as an ``ErrorMap``
    scaled to the validation split's errors."""
    train = evaluate(model, train_loader, device)
    order = np.argsort(train.indices, kind="stable")
    sq_t, sq_r = _squared_error_norms(train, shape)
    raw = ErrorMap.build(train.xyz_true[order], train.quat_true[order], np.stack([sq_t, sq_r], axis=1)[order],
                         (shape.dof_translation, shape.dof_rotation), neighbours=min(NEIGHBOURS, len(order)))
    return raw.with_scales(*_scales(val, shape, raw.log_variances(val.xyz_pred, val.quat_pred)))


def calibrate_checkpoint(ckpt: Checkpoint, path: str, val_loader: DataLoader, device: torch.device,
                         train_loader: Optional[DataLoader] = None) -> Dict[str, Any]:
    """Calibrate ``ckpt`` (read from ``path``) on the validation split and rewrite the file in place,
    in its own precision: the head's weights, the calibration and, with ``train_loader``, the error
    map. A second run on the same split finds scales of about 1. Returns the calibration entries,
    plus ``error_map_views`` and the map's scales where it built one."""
    model = ckpt.model.to(device)
    val = evaluate(model, val_loader, device)
    shape = ErrorShape.fit(detect_planar(val.xyz_true, val.quat_true), *error_vectors(val))
    calibration: Dict[str, float] = {**calibrate_head(model, val, shape), "frames": float(len(val.t_err)),
                                     **shape.to_calibration()}
    error_map = fit_error_map(model, train_loader, val, shape, device) if train_loader is not None else None
    ckpt.metadata = dataclasses.replace(ckpt.metadata, calibration=calibration,
                                        error_map=error_map.to_metadata() if error_map is not None else {})
    ckpt.save(path)
    if error_map is None:
        return dict(calibration)
    return {**calibration, "error_map_views": float(len(error_map.positions)),
            "error_map_scale_translation": error_map.scale_translation,
            "error_map_scale_rotation": error_map.scale_rotation}


def describe_calibration(calibration: Dict[str, float]) -> str:
    shape = ErrorShape.from_calibration(calibration)
    text = (f"calibrated on {int(calibration['frames'])} validation frames, {shape.name} error shape: head variance x "
            f"{calibration['variance_scale_translation']:.3f} (translation), "
            f"x {calibration['variance_scale_rotation']:.3f} (rotation)")
    if "error_map_views" in calibration:
        text += (f"; error map of {int(calibration['error_map_views'])} training views, variance x "
                 f"{calibration['error_map_scale_translation']:.3f}, x {calibration['error_map_scale_rotation']:.3f}")
    return text
