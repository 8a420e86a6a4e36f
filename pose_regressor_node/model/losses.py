"""Pose regression losses (PoseNet and learned homoscedastic weighting), sign-safe in q."""

from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import Tensor, nn

__all__ = ["PoseLoss", "UncertaintyLoss", "quaternion_distance", "rotation_angle"]


def quaternion_distance(q_hat: Tensor, q: Tensor) -> Tensor:
    """Per-sample ||q - q_hat||, taking the closer of q and -q (the same rotation)."""
    return torch.minimum(torch.norm(q_hat - q, dim=1), torch.norm(q_hat + q, dim=1))


def rotation_angle(q_hat: Tensor, q: Tensor) -> Tensor:
    """Per-sample angle (rad) of the rotation between q_hat and q: the chord ||q - q_hat|| between unit
    quaternions is 2 sin(angle / 4)."""
    return 4.0 * torch.asin(torch.clamp(quaternion_distance(q_hat, q) / 2.0, max=1.0))


class PoseLoss(nn.Module):
    """L = ||x - x_hat|| + beta ||q - q_hat||, or the learned form
    L = ||x - x_hat|| exp(-s_x) + s_x + ||q - q_hat|| exp(-s_q) + s_q (Kendall & Cipolla 2017).

    Both norms are per-sample Euclidean (not squared) and averaged over the batch.
    """

    def __init__(self, beta: float = 500.0, learn_weights: bool = False,
                 s_x: float = 0.0, s_q: float = -3.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f"beta must be positive, got {beta}")
        self.beta = float(beta)
        self.learn_weights = learn_weights
        if learn_weights:
            self.s_x = nn.Parameter(torch.tensor(float(s_x)))
            self.s_q = nn.Parameter(torch.tensor(float(s_q)))

    def forward(self, xyz_hat: Tensor, quat_hat: Tensor, xyz: Tensor, quat: Tensor) -> Tuple[Tensor, Dict[str, float]]:
        trans = torch.norm(xyz_hat - xyz, dim=1).mean()
        rot = quaternion_distance(quat_hat, quat).mean()
        if self.learn_weights:
            total = trans * torch.exp(-self.s_x) + self.s_x + rot * torch.exp(-self.s_q) + self.s_q
        else:
            total = trans + self.beta * rot
        return total, {"loss_xyz": float(trans.detach()), "loss_quat": float(rot.detach())}


class UncertaintyLoss(nn.Module):
    """Heteroscedastic negative log-likelihood of the pose errors under the predicted variances
    (Kendall & Gal 2017; per frame rather than per task as in Kendall & Cipolla 2017).

    The translation error is modelled as an isotropic 3-D Gaussian with variance exp(s_t), the
    rotation error as an isotropic Gaussian rotation vector with variance exp(s_r):
    NLL = 0.5 (|e_t|^2 exp(-s_t) + 3 s_t) + 0.5 (angle^2 exp(-s_r) + 3 s_r), constants dropped.
    The errors are detached: this loss trains the variances only, never the pose (``PoseHead``).
    """

    def forward(self, log_var: Tensor, xyz_hat: Tensor, quat_hat: Tensor, xyz: Tensor,
                quat: Tensor) -> Tuple[Tensor, Dict[str, float]]:
        with torch.no_grad():
            err_t2 = (xyz_hat - xyz).pow(2).sum(dim=1)
            err_r2 = rotation_angle(quat_hat, quat).pow(2)
        s_t, s_r = log_var[:, 0], log_var[:, 1]
        nll = 0.5 * (err_t2 * torch.exp(-s_t) + 3.0 * s_t) + 0.5 * (err_r2 * torch.exp(-s_r) + 3.0 * s_r)
        loss = nll.mean()
        return loss, {"loss_nll": float(loss.detach()),
                      "sigma_t_m": float(torch.exp(0.5 * s_t).mean().detach()),
                      "sigma_r_deg": float(torch.rad2deg(torch.exp(0.5 * s_r)).mean().detach())}
