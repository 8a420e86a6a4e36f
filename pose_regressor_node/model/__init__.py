"""Backbones, the pose regressor, its losses and checkpoints (ROS-free)."""

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint, unwrap_model
from .losses import PoseLoss, quaternion_distance
from .regressor import ARCHITECTURES, TAP_NAMES, PoseHead, PoseRegressor, build_model

__all__ = [
    "ARCHITECTURES",
    "TAP_NAMES",
    "Checkpoint",
    "PoseHead",
    "PoseLoss",
    "PoseRegressor",
    "build_model",
    "load_checkpoint",
    "quaternion_distance",
    "save_checkpoint",
    "unwrap_model",
]
