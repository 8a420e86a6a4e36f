"""Similarity-based knowledge distillation: teacher ResNet34/50 -> student ResNet18.

Feature taps are numbered 1..6 (stem, layer1..4, pooled). For each similarity tap the batch's
N x N cosine-similarity matrix of flattened features is computed for student (G_s) and teacher
(G_t); the ground-truth poses give a third N x N matrix G_p (Gaussian in translation scaled by the
scene extent, times quaternion agreement, so it does not depend on where the origin is). The
similarity loss pulls G_s towards G_t and towards G_p ("cross-similarity"); the optional KL form
compares row-wise softmax distributions instead of squared differences. The hint loss matches
the student's features at one tap to the teacher's, through a trained 1x1 adapter where the
channel counts differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["DistillationLoss", "DistillWeights", "feature_similarity", "pose_similarity"]


def feature_similarity(features: Tensor) -> Tensor:
    """N x N cosine similarity of flattened per-sample features."""
    flat = F.normalize(features.flatten(1), p=2.0, dim=1, eps=1e-8)
    return flat @ flat.t()


def pose_similarity(xyz: Tensor, quat: Tensor, extent: float, bandwidth: float = 0.1) -> Tensor:
    """N x N similarity of poses in [0, 1]: exp(-|t_i - t_j|^2 / (2 (bandwidth * extent)^2)) * |<q_i, q_j>|."""
    scaled = xyz / max(float(extent), 1e-6)
    dist2 = torch.cdist(scaled, scaled).pow(2)
    return torch.exp(-dist2 / (2.0 * bandwidth ** 2)) * (quat @ quat.t()).abs()


def _matrix_loss(student: Tensor, target: Tensor, kl: bool, temperature: float) -> Tensor:
    n = student.shape[0]
    if kl:
        log_p_student = F.log_softmax(student / temperature, dim=1)
        p_target = F.softmax(target / temperature, dim=1)
        return F.kl_div(log_p_student, p_target, reduction="batchmean")
    return (student - target).pow(2).sum() / (n * n)


@dataclass(frozen=True)
class DistillWeights:
    alpha: float = 100.0  # hint loss weight
    sigma: float = 100.0  # similarity loss weight


class DistillationLoss(nn.Module):
    """Holds the trained hint adapter; ``forward`` returns (alpha*hint + sigma*sim, per-term floats).

    Register it with the optimizer together with the student so the adapter trains.
    """

    def __init__(self, student_channels: Dict[int, int], teacher_channels: Dict[int, int],
                 cs_taps: Sequence[int] = (3, 4), hint_tap: int | None = 5, kl: bool = False,
                 weights: DistillWeights = DistillWeights(), temperature: float = 0.1) -> None:
        super().__init__()
        for tap in [*cs_taps, *([hint_tap] if hint_tap else [])]:
            if tap not in student_channels:
                raise ValueError(f"unknown feature tap {tap}; valid taps are 1..6")
        self.cs_taps = tuple(cs_taps)
        self.hint_tap = hint_tap
        self.kl = kl
        self.weights = weights
        self.temperature = temperature
        self.adapter: nn.Module = nn.Identity()
        if hint_tap is not None and student_channels[hint_tap] != teacher_channels[hint_tap]:
            conv = nn.Conv2d(student_channels[hint_tap], teacher_channels[hint_tap], kernel_size=1, bias=False)
            self.adapter = conv if hint_tap != 6 else nn.Linear(student_channels[6], teacher_channels[6], bias=False)

    @property
    def taps(self) -> Tuple[int, ...]:
        return tuple(sorted(set(self.cs_taps) | ({self.hint_tap} if self.hint_tap else set())))

    def forward(self, student: Dict[int, Tensor], teacher: Dict[int, Tensor], xyz: Tensor, quat: Tensor,
                extent: float) -> Tuple[Tensor, Dict[str, float]]:
        zero = xyz.new_zeros(())
        sim = zero
        if self.cs_taps:
            g_pose = pose_similarity(xyz, quat, extent)
            for tap in self.cs_taps:
                g_student = feature_similarity(student[tap])
                g_teacher = feature_similarity(teacher[tap].detach())
                sim = sim + _matrix_loss(g_student, g_teacher, self.kl, self.temperature)
                sim = sim + _matrix_loss(g_student, g_pose, self.kl, self.temperature)
            sim = sim / len(self.cs_taps)
        hint = zero
        if self.hint_tap is not None:
            hint = F.mse_loss(self.adapter(student[self.hint_tap]), teacher[self.hint_tap].detach())
        total = self.weights.alpha * hint + self.weights.sigma * sim
        return total, {"loss_hint": float(hint.detach()), "loss_similarity": float(sim.detach())}
