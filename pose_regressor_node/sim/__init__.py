"""The synthetic indoor world: renderer, car trajectories, wheel odometry and writers."""

from .camera import PinholeCamera, default_extrinsic
from .drive import DRIVES, SPLITS, Drive, drives_in_order, simulate_drive, split_drives
from .odometry import OdometryNoise, simulate_odometry
from .renderer import Renderer, RenderOptions
from .trajectory import DRIVE_KINDS, Trajectory, generate_trajectory
from .world import DEMO_SEED, World, build_world, demo_world

__all__ = [
    "DEMO_SEED",
    "DRIVE_KINDS",
    "DRIVES",
    "SPLITS",
    "Drive",
    "OdometryNoise",
    "PinholeCamera",
    "RenderOptions",
    "Renderer",
    "Trajectory",
    "World",
    "build_world",
    "default_extrinsic",
    "demo_world",
    "drives_in_order",
    "generate_trajectory",
    "simulate_drive",
    "simulate_odometry",
    "split_drives",
]
