"""Pose regression losses (PoseNet and learned homoscedastic weighting), sign-safe in q."""

from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import Tensor, nn

__all__ = ["PoseLoss", "quaternion_distance"]


def quaternion_distance(q_hat: Tensor, q: Tensor) -> Tensor:
    """Per-sample ||q - q_hat||, taking the closer of q and -q (the same rotation)."""
    return torch.minimum(torch.norm(q_hat - q, dim=1), torch.norm(q_hat + q, dim=1))


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
