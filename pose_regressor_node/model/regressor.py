"""The pose regressor: a backbone plus the PoseNet head of the documents, and one builder."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ..errors import CheckpointError
from .mobilenet import MobileNetV2, mobilenet_v2
from .resnet import ResNet, resnet18, resnet34, resnet50

__all__ = ["PoseHead", "PoseOutput", "PoseRegressor", "InferenceGraph", "build_model", "ARCHITECTURES", "TAP_NAMES"]

TAP_NAMES = {1: "stem", 2: "layer1", 3: "layer2", 4: "layer3", 5: "layer4", 6: "pooled"}

Backbone = Union[ResNet, MobileNetV2]  # both: out_channels, tap_channels, forward_features(x, taps)

_BACKBONES: Dict[str, Callable[..., Backbone]] = {
    "resnet18": lambda: resnet18(num_classes=0),
    "resnet34": lambda: resnet34(num_classes=0),
    "resnet50": lambda: resnet50(num_classes=0),
    "mobilenet_v2": lambda width_mult=1.0: mobilenet_v2(width_mult=width_mult, num_classes=0),
}
ARCHITECTURES = tuple(_BACKBONES)


# Initial log-variances of the uncertainty head: (0.5 m)^2 and (0.1 rad)^2, the errors of an untrained model.
_INITIAL_LOG_VAR = (math.log(0.5 ** 2), math.log(0.1 ** 2))


class PoseOutput(NamedTuple):
    """What ``PoseRegressor`` returns: camera position (N,3), unit quaternion wxyz (N,4), the
    log-variances (N,2: translation m^2, rotation rad^2; None without an uncertainty head) and the
    requested feature taps."""

    xyz: Tensor
    quat: Tensor
    log_var: Optional[Tensor]
    taps: Dict[int, Tensor]


class PoseHead(nn.Module):
    """Linear(C->hidden) + ReLU + Dropout, then xyz (3) and an L2-normalised quaternion (4).

    With ``uncertainty`` a third branch predicts per-frame log-variances of the translation error
    (isotropic, m^2) and of the rotation error (isotropic rotation vector, rad^2). It reads the shared
    hidden features detached, so the pose branches train exactly as without it (the heteroscedastic
    NLL's pull on the mean lets a network give up on hard frames: Seitzer et al. 2022). The buffer
    ``log_var_offset`` holds the calibration fitted on the validation split; it is part of the
    weights, so every exported engine returns calibrated log-variances.
    """

    log_var_offset: Tensor  # a buffer, registered with the uncertainty head

    def __init__(self, in_features: int, hidden: int = 1024, dropout: float = 0.5, uncertainty: bool = False) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.fc_xyz = nn.Linear(hidden, 3)
        self.fc_quat = nn.Linear(hidden, 4)
        nn.init.normal_(self.fc_xyz.weight, std=0.01)
        nn.init.zeros_(self.fc_xyz.bias)
        nn.init.normal_(self.fc_quat.weight, std=0.01)
        with torch.no_grad():  # start near the identity rotation instead of a random one
            self.fc_quat.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.uncertainty = uncertainty
        if uncertainty:
            self.fc_log_var = nn.Linear(hidden, 2)
            nn.init.normal_(self.fc_log_var.weight, std=0.001)
            with torch.no_grad():
                self.fc_log_var.bias.copy_(torch.tensor(_INITIAL_LOG_VAR))
            self.register_buffer("log_var_offset", torch.zeros(2))

    def forward(self, features: Tensor) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        hidden = self.relu(self.fc(features))
        dropped = self.dropout(hidden)
        quat = nn.functional.normalize(self.fc_quat(dropped), p=2.0, dim=1, eps=1e-8)
        log_var = self.fc_log_var(hidden.detach()) + self.log_var_offset if self.uncertainty else None
        return self.fc_xyz(dropped), quat, log_var


class PoseRegressor(nn.Module):
    """Image (N,3,H,W), normalised -> ``PoseOutput``: camera-to-world pose, log-variances, taps."""

    def __init__(self, arch: str, backbone: Backbone, hidden: int = 1024, dropout: float = 0.5,
                 uncertainty: bool = False, options: Dict[str, Any] | None = None) -> None:
        super().__init__()
        self.arch = arch
        self.options = dict(options or {})
        self.backbone = backbone
        self.head = PoseHead(backbone.out_channels, hidden=hidden, dropout=dropout, uncertainty=uncertainty)

    @property
    def tap_channels(self) -> Dict[int, int]:
        return dict(self.backbone.tap_channels)

    @property
    def has_uncertainty(self) -> bool:
        return self.head.uncertainty

    def forward(self, x: Tensor, taps: Sequence[int] = ()) -> PoseOutput:
        """The pose, and the feature taps (1..6) that distillation compares. Taps go through
        ``forward`` so that wrappers (DistributedDataParallel) see every call."""
        bad = [t for t in taps if t not in TAP_NAMES]
        if bad:
            raise ValueError(f"unknown feature taps {bad}; valid taps are 1..6 ({TAP_NAMES})")
        pooled, tapped = self.backbone.forward_features(x, taps)
        xyz, quat, log_var = self.head(pooled)
        return PoseOutput(xyz, quat, log_var, tapped)

    def load_backbone_weights(self, path: str) -> None:
        """Load an ImageNet classification checkpoint (torchvision names) from a local file.

        The classifier (``fc``/``classifier``) is dropped; every other key must match exactly.
        """
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError as err:
            raise CheckpointError(f"pretrained weights not found: {path}") from err
        except Exception as err:  # torch raises many types for corrupt files
            raise CheckpointError(f"cannot read pretrained weights {path}: {err}") from err
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        state = {k: v for k, v in state.items() if not k.startswith(("fc.", "classifier."))}
        result = self.backbone.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise CheckpointError(
                f"{path} does not fit backbone {self.arch}: missing {result.missing_keys[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}; pass ImageNet weights of the same architecture"
            )


class InferenceGraph(nn.Module):
    """A ``PoseRegressor`` as engines run it: image in, a plain tuple of tensors out,
    ``(xyz, quat)`` or ``(xyz, quat, log_var)``; what TorchScript traces and ONNX exports."""

    def __init__(self, model: PoseRegressor) -> None:
        super().__init__()
        self.model = model

    @property
    def output_names(self) -> Tuple[str, ...]:
        return ("xyz", "quat", "log_var") if self.model.has_uncertainty else ("xyz", "quat")

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        out = self.model(x)
        return (out.xyz, out.quat) if out.log_var is None else (out.xyz, out.quat, out.log_var)


def build_model(arch: str = "resnet18", hidden: int = 1024, dropout: float = 0.5, uncertainty: bool = False,
                **options: Any) -> PoseRegressor:
    """The one builder for teachers and students alike.

    ``options`` go to the backbone (``width_mult`` for mobilenet_v2) and are stored in checkpoints
    so that a checkpoint rebuilds the same network. Checkpoints from before the uncertainty head
    have no ``uncertainty`` option and rebuild without it.
    """
    if arch not in _BACKBONES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    try:
        backbone = _BACKBONES[arch](**options)
    except TypeError as err:
        raise ValueError(f"{arch} does not take options {sorted(options)}: {err}") from err
    stored = dict(options, hidden=hidden, dropout=dropout)
    if uncertainty:
        stored["uncertainty"] = True
    return PoseRegressor(arch, backbone, hidden=hidden, dropout=dropout, uncertainty=uncertainty, options=stored)
