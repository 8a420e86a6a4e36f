"""Backbones, the pose regressor, its losses and checkpoints (ROS-free)."""

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint, unwrap_model
from .losses import PoseLoss, UncertaintyLoss, quaternion_distance, rotation_angle
from .regressor import ARCHITECTURES, TAP_NAMES, InferenceGraph, PoseHead, PoseOutput, PoseRegressor, build_model

__all__ = [
    "ARCHITECTURES",
    "TAP_NAMES",
    "Checkpoint",
    "InferenceGraph",
    "PoseHead",
    "PoseLoss",
    "PoseOutput",
    "PoseRegressor",
    "UncertaintyLoss",
    "build_model",
    "load_checkpoint",
    "quaternion_distance",
    "rotation_angle",
    "save_checkpoint",
    "unwrap_model",
]
