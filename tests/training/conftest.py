"""A tiny rendered scene (train, val and test drives of 1.6 s, 96 x 72) for the training tests."""

from __future__ import annotations

import pytest

from pose_regressor_node.sim import PinholeCamera, Renderer, build_world, simulate_drive
from pose_regressor_node.sim.dataset_writer import write_7scenes


@pytest.fixture(scope="session")
def tiny_scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    world = build_world(11)
    drives = {s: [simulate_drive(world, "loop", seed, duration_s=1.6, camera_rate_hz=10.0)]
              for s, seed in (("train", 1), ("val", 2), ("test", 3))}
    write_7scenes(root, Renderer(world, PinholeCamera(96, 72)), drives)
    return root


