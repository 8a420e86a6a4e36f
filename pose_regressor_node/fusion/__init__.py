"""Fusion of regressed absolute poses with wheel odometry (ROS-free; used by the node and replay)."""

from .config import FusionConfig
from .fuser import Decision, FusedState, PoseFuser
from .motion import PlanarModel, SpatialModel

__all__ = ["Decision", "FusedState", "FusionConfig", "PlanarModel", "PoseFuser", "SpatialModel"]
