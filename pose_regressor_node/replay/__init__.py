"""Offline evaluation: bag replay through the robot's own objects, evo-style metrics, reports."""

from .metrics import ErrorStats, Evaluation, PoseRelation, ape, associate, evaluate, rpe, statistics
from .pipeline import ReplayOptions, ReplayResult, replay
from .trajectory import Trajectory, read_tum, write_tum

__all__ = ["ErrorStats", "Evaluation", "PoseRelation", "ReplayOptions", "ReplayResult", "Trajectory", "ape",
           "associate", "evaluate", "read_tum", "replay", "rpe", "statistics", "write_tum"]
