"""Fusion of regressed absolute poses with wheel odometry (ROS-free; used by the node and replay)."""

from .config import FusionConfig
from .fuser import Decision, FilterHealth, FusedState, PoseFuser
from .motion import PlanarModel, SpatialModel
from .output import OutputClock
from .playback import PlaybackResult, fuse_in_arrival_order

__all__ = ["Decision", "FilterHealth", "FusedState", "FusionConfig", "OutputClock", "PlanarModel", "PlaybackResult",
           "PoseFuser", "SpatialModel", "fuse_in_arrival_order"]
