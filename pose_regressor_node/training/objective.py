"""What a training step minimises, assembled from the losses a run's configuration asks for."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from ..model import PoseLoss, PoseRegressor, UncertaintyLoss, load_checkpoint
from ..model.distillation import DistillationLoss, DistillWeights
from .config import DistillConfig, TrainConfig

__all__ = ["TrainingObjective"]


class TrainingObjective:
    """What a step minimises: the pose loss (with its learned weights), the uncertainty head's NLL
    and, when distilling, the frozen teacher's taps compared by the distillation loss (with its
    adapters). Its trainable parts live outside the DDP wrapper: their gradients are averaged by hand."""

    def __init__(self, config: TrainConfig, distill: Optional[DistillConfig], student: PoseRegressor,
                 extent: float, device: torch.device) -> None:
        self.extent = extent  # the training scene's diagonal: distillation's pose similarity is relative to it
        self.criterion = PoseLoss(beta=config.beta, learn_weights=config.learn_beta).to(device)
        self.uncertainty = UncertaintyLoss() if config.uncertainty else None
        self.uncertainty_weight = config.uncertainty_weight
        self.teacher: Optional[PoseRegressor] = None
        self.distiller: Optional[DistillationLoss] = None
        if distill is not None:
            self.teacher = load_checkpoint(distill.teacher_path, arch=distill.teacher_model,
                                           map_location=str(device)).model
            self.teacher.eval().requires_grad_(False)
            self.distiller = DistillationLoss(student.tap_channels, self.teacher.tap_channels, distill.cs_taps,
                                              distill.hint_tap, distill.kl,
                                              DistillWeights(distill.alpha, distill.sigma)).to(device)

    @property
    def taps(self) -> Tuple[int, ...]:
        return self.distiller.taps if self.distiller is not None else ()

    @property
    def trainable(self) -> Tuple[nn.Module, ...]:
        return tuple(m for m in (self.criterion, self.distiller) if m is not None)

    def state(self) -> Dict[str, Any]:
        state = {"criterion": self.criterion.state_dict()}
        if self.distiller is not None:
            state["distiller"] = self.distiller.state_dict()
        return state

    def load_state(self, state: Dict[str, Any]) -> None:
        if "criterion" in state:
            self.criterion.load_state_dict(state["criterion"])
        if self.distiller is not None and "distiller" in state:
            self.distiller.load_state_dict(state["distiller"])

    def __call__(self, model: nn.Module, images: Tensor, xyz: Tensor, quat: Tensor) -> Tuple[Tensor, Dict[str, float]]:
        """The loss of one batch and its parts (floats, for the logs)."""
        out = model(images, taps=self.taps)  # through the DDP wrapper, taps included
        pred_xyz, pred_quat = out.xyz.float(), out.quat.float()
        loss, parts = self.criterion(pred_xyz, pred_quat, xyz, quat)
        parts["loss_pose"] = float(loss.detach())
        if self.uncertainty is not None and out.log_var is not None:
            nll, nll_parts = self.uncertainty(out.log_var.float(), pred_xyz, pred_quat, xyz, quat)
            loss = loss + self.uncertainty_weight * nll
            parts.update(nll_parts)
        if self.distiller is not None and self.teacher is not None:
            with torch.no_grad():
                teacher_taps = self.teacher(images, taps=self.taps).taps
            extra_loss, distill_parts = self.distiller({k: v.float() for k, v in out.taps.items()},
                                                       {k: v.float() for k, v in teacher_taps.items()},
                                                       xyz, quat, self.extent)
            loss = loss + extra_loss
            parts.update(distill_parts)
        return loss, parts
