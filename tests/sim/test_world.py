from __future__ import annotations

import numpy as np
import pytest

from pose_regressor_node.geometry import Pose
from pose_regressor_node.sim import (
    DRIVE_KINDS,
    PinholeCamera,
    Renderer,
    RenderOptions,
    build_world,
    default_extrinsic,
    drives_in_order,
    generate_trajectory,
    simulate_drive,
    split_drives,
)
from pose_regressor_node.sim.dataset_writer import write_7scenes
from pose_regressor_node.sim.trajectory import V_MAX, V_MIN


@pytest.fixture(scope="module")
def world():
    return build_world(7)


@pytest.fixture(scope="module")
def renderer(world):
    return Renderer(world, PinholeCamera(160, 120))


def test_same_seed_same_world_and_image(world, renderer):
    again = Renderer(build_world(7), PinholeCamera(160, 120))
    pose = Pose.from_xyz_yaw(2.0, 2.0, 0.5) @ default_extrinsic()
    np.testing.assert_array_equal(renderer.render(pose), again.render(pose))
    other = Renderer(build_world(8), PinholeCamera(160, 120))
    assert np.abs(renderer.render(pose).astype(int) - other.render(pose).astype(int)).mean() > 5


def test_image_changes_when_camera_moves(renderer):
    a = renderer.render(Pose.from_xyz_yaw(2.0, 2.0, 0.5) @ default_extrinsic())
    b = renderer.render(Pose.from_xyz_yaw(2.1, 2.0, 0.5) @ default_extrinsic())
    c = renderer.render(Pose.from_xyz_yaw(2.0, 2.0, 0.6) @ default_extrinsic())
    assert a.shape == (120, 160, 3) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 2
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 2


def test_perspective_depth_of_a_wall(world, renderer):
    """Looking straight at the x = size wall from x = 1 m: depth at the image centre is size - 1."""
    cam = Pose.from_xyz_yaw(1.0, 2.0, 0.0, z=1.5) @ default_extrinsic(height_m=0.0, forward_m=0.0)
    depth, surface, _ = renderer.render_depth(cam)
    assert surface[60, 80] == 5  # wall_x1
    assert depth[60, 80] == pytest.approx(world.size[0] - 1.0, abs=0.03)


def test_boxes_occlude_the_wall_behind(world, renderer):
    box = world.boxes[0]
    centre = np.array([(box.lo[0] + box.hi[0]) / 2, (box.lo[1] + box.hi[1]) / 2])
    target = centre + np.array([0.0, 0.0])
    start = np.array([world.size[0] / 2, world.size[1] / 2])
    yaw = float(np.arctan2(*(target - start)[::-1]))
    cam = Pose.from_xyz_yaw(start[0], start[1], yaw, z=0.05) @ default_extrinsic(height_m=0.0, forward_m=0.0)
    depth, surface, _ = renderer.render_depth(cam)
    assert surface[60, 80] >= 6  # a box face, not the wall
    assert depth[60, 80] < np.linalg.norm(target - start)


def test_photometric_options_need_rng_and_are_reproducible(renderer):
    pose = Pose.from_xyz_yaw(2.0, 2.0, 0.5) @ default_extrinsic()
    opts = RenderOptions(exposure=1.2, blur_sigma_px=1.0, noise_std=3.0)
    with pytest.raises(ValueError, match="rng"):
        renderer.render(pose, opts)
    a = renderer.render(pose, opts, np.random.default_rng(1))
    b = renderer.render(pose, opts, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", DRIVE_KINDS)
def test_trajectories_are_drivable(world, kind):
    traj = generate_trajectory(world, kind, seed=3, duration_s=20.0)
    assert V_MIN - 1e-6 <= traj.speed.min() and traj.speed.max() <= V_MAX + 1e-6
    assert all(world.is_free(x, y, margin=0.25) for x, y in traj.xy[::10])
    assert np.abs(traj.roll).max() < np.radians(3) and np.abs(traj.pitch).max() < np.radians(3)
    step = np.linalg.norm(np.diff(traj.xy, axis=0), axis=1)
    assert step.max() < V_MAX * 0.02 * 1.05  # no jumps at 50 Hz


def test_odometry_drifts_but_stays_close_at_first(world):
    drive = simulate_drive(world, "loop", seed=5, duration_s=60.0)
    first, last = drive.odometry[50], drive.odometry[-1]
    map_from_odom = drive.truth.pose(0)
    err_early = np.linalg.norm((map_from_odom @ first.pose).position - drive.truth.pose(50).position)
    err_late = np.linalg.norm((map_from_odom @ last.pose).position - drive.truth.pose(len(drive.truth) - 1).position)
    assert err_early < 0.05 and err_late > 0.1
    assert last.pose_covariance[0, 0] > first.pose_covariance[0, 0] > 0
    assert drive.odometry[1].stamp_ns - drive.odometry[0].stamp_ns == 20_000_000


def test_splits_do_not_share_frames(world):
    stamps_and_positions = {}
    for split in ("train", "val", "test"):
        for drive in split_drives(world, split, duration_s=5.0):
            stamps_and_positions[(split, drive.name)] = {tuple(np.round(p.position, 4)) for _, p in drive.frames()}
    keys = list(stamps_and_positions)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if a[0] != b[0]:
                assert not stamps_and_positions[a] & stamps_and_positions[b], (a, b)


def test_sequence_numbers_of_existing_drives_never_move(world):
    """A frame's sensor noise is seeded by its sequence number: drives added later (the validation
    split's loop and figure-eight) come after the test drive, which stays seq-09 as it always was."""
    coverage = simulate_drive(world, "loop", 99, duration_s=1.0)  # stands in for the coverage views
    order = drives_in_order(world, ["train", "val", "test"], duration_s=1.0, coverage=coverage)
    names = [(split, getattr(source, "name", "")) for split, source in order]
    assert names[:9] == [("train", "loop-1"), ("train", "figure8-2"), ("train", "waypoints-3"),
                         ("train", "waypoints-4"), ("train", "loop-5"), ("train", "waypoints-6"),
                         ("train", "loop-99"), ("val", "waypoints-11"), ("test", "waypoints-21")]
    assert names[9:] == [("val", "loop-12"), ("val", "figure8-13")]
    assert [s for s, _ in drives_in_order(world, ["val"], duration_s=1.0, coverage=coverage)] == ["val"] * 3
    with pytest.raises(ValueError, match="unknown split"):
        drives_in_order(world, ["holdout"])


def test_drives_written_in_order_number_their_sequences_in_that_order(world, renderer, tmp_path):
    first = simulate_drive(world, "loop", 1, duration_s=0.2)
    second = simulate_drive(world, "figure8", 2, duration_s=0.2)
    write_7scenes(tmp_path, renderer, [("val", first), ("test", second), ("val", second)], workers=1)
    assert (tmp_path / "ValidationSplit.txt").read_text().split() == ["sequence1", "sequence3"]
    assert (tmp_path / "TestSplit.txt").read_text().split() == ["sequence2"]
    assert len(list((tmp_path / "seq-01").glob("*.color.jpg"))) == len(list(first.frames()))
