"""The pose regressor: a backbone plus the PoseNet head of the documents, and one builder."""

from __future__ import annotations

from typing import Any, Callable, Dict, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..errors import CheckpointError
from .mobilenet import mobilenet_v2
from .resnet import resnet18, resnet34, resnet50

__all__ = ["PoseHead", "PoseRegressor", "build_model", "ARCHITECTURES", "TAP_NAMES"]

TAP_NAMES = {1: "stem", 2: "layer1", 3: "layer2", 4: "layer3", 5: "layer4", 6: "pooled"}

_BACKBONES: Dict[str, Callable[..., nn.Module]] = {
    "resnet18": lambda: resnet18(num_classes=0),
    "resnet34": lambda: resnet34(num_classes=0),
    "resnet50": lambda: resnet50(num_classes=0),
    "mobilenet_v2": lambda width_mult=1.0: mobilenet_v2(width_mult=width_mult, num_classes=0),
}
ARCHITECTURES = tuple(_BACKBONES)


class PoseHead(nn.Module):
    """Linear(C->hidden) + ReLU + Dropout, then xyz (3) and an L2-normalised quaternion (4)."""

    def __init__(self, in_features: int, hidden: int = 1024, dropout: float = 0.5) -> None:
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

    def forward(self, features: Tensor) -> Tuple[Tensor, Tensor]:
        hidden = self.dropout(self.relu(self.fc(features)))
        quat = nn.functional.normalize(self.fc_quat(hidden), p=2.0, dim=1, eps=1e-8)
        return self.fc_xyz(hidden), quat


class PoseRegressor(nn.Module):
    """Image (N,3,H,W), normalised -> camera-to-world position (N,3) and quaternion wxyz (N,4)."""

    def __init__(self, arch: str, backbone: nn.Module, hidden: int = 1024, dropout: float = 0.5,
                 options: Dict[str, Any] | None = None) -> None:
        super().__init__()
        self.arch = arch
        self.options = dict(options or {})
        self.backbone = backbone
        self.head = PoseHead(backbone.out_channels, hidden=hidden, dropout=dropout)

    @property
    def tap_channels(self) -> Dict[int, int]:
        return dict(self.backbone.tap_channels)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        pooled, _ = self.backbone.forward_features(x)
        return self.head(pooled)

    def forward_with_taps(self, x: Tensor, taps: Sequence[int]) -> Tuple[Tensor, Tensor, Dict[int, Tensor]]:
        """Pose plus the feature taps (1..6) that distillation compares."""
        bad = [t for t in taps if t not in TAP_NAMES]
        if bad:
            raise ValueError(f"unknown feature taps {bad}; valid taps are 1..6 ({TAP_NAMES})")
        pooled, tapped = self.backbone.forward_features(x, taps)
        xyz, quat = self.head(pooled)
        return xyz, quat, tapped

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


def build_model(arch: str = "resnet18", hidden: int = 1024, dropout: float = 0.5, **options: Any) -> PoseRegressor:
    """The one builder for teachers and students alike.

    ``options`` go to the backbone (``width_mult`` for mobilenet_v2) and are stored in checkpoints
    so that a checkpoint rebuilds the same network.
    """
    if arch not in _BACKBONES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    try:
        backbone = _BACKBONES[arch](**options)
    except TypeError as err:
        raise ValueError(f"{arch} does not take options {sorted(options)}: {err}") from err
    return PoseRegressor(arch, backbone, hidden=hidden, dropout=dropout,
                         options=dict(options, hidden=hidden, dropout=dropout))
