"""``label``: the geometry on synthetic point clouds with known answers, keyframe choice, the
self-check, camera models, and one small real pycolmap run on a short rendered drive."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from pose_regressor_node.data import read_folder
from pose_regressor_node.errors import DatasetError, ParameterError
from pose_regressor_node.geometry import Pose, quat_from_euler, rotation_error_deg
from pose_regressor_node.label.camera import colmap_camera
from pose_regressor_node.label.keyframes import KeyframePolicy, select_keyframes
from pose_regressor_node.label.metric import FloorSamples, floor_view_angles, metric_frame, wide_angle_height
from pose_regressor_node.label.selfcheck import self_check
from pose_regressor_node.measurements import OdometrySample
from pose_regressor_node.sim import Renderer, build_world, default_extrinsic, simulate_drive

MS = 1_000_000


def _scene(rng, n_cameras=60, camera_height=0.15):
    """Cameras on a car driving a circle on a textured floor (z = 0) with walls; the truth, in the map.
    Each point is seen from its nearest camera and the one eight places on (0.8 m away)."""
    extrinsic = default_extrinsic(height_m=camera_height)
    bases = [Pose.from_xyz_yaw(2.0 + math.cos(a), 1.5 + math.sin(a), a + math.pi / 2)
             for a in np.linspace(0.3, 2 * math.pi, n_cameras)]
    cameras = [b @ extrinsic for b in bases]
    floor = np.column_stack([rng.uniform(0, 5, 3000), rng.uniform(0, 4, 3000), np.zeros(3000)])
    wall = np.column_stack([rng.uniform(0, 5, 800), np.full(800, 4.0), rng.uniform(0, 2.5, 800)])
    points = np.vstack([floor, wall])
    centres = np.array([c.position for c in cameras])
    nearest = np.argmin(np.linalg.norm(points[:, None, :2] - centres[None, :, :2], axis=2), axis=1)
    viewpoints = [centres[[j, (j + 8) % n_cameras]] for j in nearest]
    return bases, cameras, points, viewpoints, extrinsic


def test_metric_frame_recovers_scale_up_and_the_first_base_link(rng):
    bases, cameras, points, viewpoints, extrinsic = _scene(rng)
    # an SfM frame: arbitrary rotation, translation and scale (0.37 units per metre)
    rot = Pose([0.0, 0.0, 0.0], quat_from_euler(0.4, -1.1, 2.0))
    k, t = 0.37, np.array([3.0, -7.0, 1.5])

    def to_sfm(pose):
        return Pose(k * rot.rotation @ pose.position + t, (rot @ pose).quaternion)

    def to_sfm_points(x):
        return k * x @ rot.rotation.T + t

    noisy = points + rng.normal(0, 0.001, points.shape)
    frame = metric_frame([to_sfm(c) for c in cameras], to_sfm_points(noisy), [to_sfm_points(v) for v in viewpoints],
                         0.15, extrinsic)
    assert frame.scale == pytest.approx(1.0 / k, rel=2e-3)
    assert frame.floor_points > 500
    first = frame.camera_pose(to_sfm(cameras[0])) @ extrinsic.inverse()
    assert first.is_close(Pose(), tol_m=1e-3, tol_deg=0.2)  # the map starts at the first base_link, heading +x
    for truth, camera in zip(bases[1:], cameras[1:]):  # and the others sit where they are, relative to it
        expected = bases[0].inverse() @ truth
        got = frame.camera_pose(to_sfm(camera)) @ extrinsic.inverse()
        assert np.linalg.norm(got.position - expected.position) < 3e-3
        assert rotation_error_deg(got.quaternion, expected.quaternion) < 0.2
    floor_z = frame.point(to_sfm_points(points[:3000]))[:, 2]
    assert np.median(np.abs(floor_z)) < 1e-3  # the floor is z = 0


def test_the_scale_comes_from_the_floor_near_the_cameras(rng):
    """Far floor, seen at grazing angles, comes out of SfM a few millimetres high (3-4 mm at 1-2 m on
    the synthetic drives): only the floor near the keyframes may set the camera's height."""
    _, cameras, points, viewpoints, extrinsic = _scene(rng)
    floor = points[:3000] + rng.normal(0, 0.001, (3000, 3))
    centres = np.array([c.position for c in cameras])
    reach = np.min(np.linalg.norm(floor[:, None, :2] - centres[None, :, :2], axis=2), axis=1)
    floor[:, 2] += 0.004 * np.clip(reach - 0.5, 0.0, None)  # 4 mm higher per metre beyond half a metre
    frame = metric_frame(cameras, np.vstack([floor, points[3000:]]), viewpoints, 0.15, extrinsic)
    assert frame.scale == pytest.approx(1.0, rel=2e-3)
    assert np.mean(floor[:, 2]) > 0.0015  # a plane through the whole floor would be 1 % (1.5 mm) off


def test_floor_view_angle_is_measured_on_the_floor_not_at_the_estimate():
    """Two cameras 0.2 m apart, 0.15 m up, see a floor point under 2 atan(0.1 / 0.15) = 67.38 deg. An
    estimate 5 cm too high on the same rays would span 90 deg: the angle must not reward it."""
    up = np.array([0.0, 0.0, 1.0])
    cameras = np.array([[-0.1, 0.0, 0.15], [0.1, 0.0, 0.15]])
    on_floor, too_high = [0.0, 0.0, 0.0], [0.0, 0.0, 0.05]
    angles = floor_view_angles([cameras, cameras, cameras[:1]], np.array([on_floor, too_high, on_floor]), up, 0.0)
    assert angles == pytest.approx([67.380135, 67.380135, 0.0], abs=1e-5)  # one camera: no angle


def test_wide_angle_height_fits_the_intercept_and_drops_a_box_foot():
    """height = 0.4 - 0.01 / angle at 2, 4, 8, 16 and 32 deg (0.395, 0.3975, ...), twice each, and one
    point 5 cm up a box (height 0.35): the fit gives h0 = 0.4 and k = 0.01 exactly."""
    angles = np.array([2.0, 4.0, 8.0, 16.0, 32.0] * 2 + [10.0])
    heights = 0.4 - 0.01 / angles
    heights[-1] = 0.35
    h0, k = wide_angle_height(FloorSamples(heights, angles))
    assert (h0, k) == (pytest.approx(0.4, abs=1e-12), pytest.approx(0.01, abs=1e-12))


def test_the_floor_height_is_taken_at_a_wide_view_angle(rng):
    """SfM puts floor points high by about k / angle (k 8-14 mm deg on the synthetic drives). Here each
    floor point is seen from its nearest camera and from a second place 2-50 cm beside it, and lifted
    by 12 mm deg / angle: the median point is lifted over 1 mm, 0.7 % of the camera height; the fit of
    height = h0 - k / angle finds h0 and k."""
    _, cameras, points, scene_viewpoints, extrinsic = _scene(rng)
    centres = np.array([c.position for c in cameras])
    floor = points[:3000]
    heading = rng.uniform(0, 2 * np.pi, 3000)
    beside = rng.uniform(0.02, 0.5, (3000, 1)) * np.column_stack([np.cos(heading), np.sin(heading), np.zeros(3000)])
    viewpoints = [np.array([seen[0], seen[0] + b]) for seen, b in zip(scene_viewpoints, beside)]  # nearest camera
    angles = floor_view_angles(viewpoints, floor, np.array([0.0, 0.0, 1.0]), 0.0)
    lifted = floor + rng.normal(0, 0.002, floor.shape)
    lifted[:, 2] += 0.012 / angles
    assert np.median(0.012 / angles) > 0.001  # what a median height would be off by: 0.7 % and more
    cloud = np.vstack([lifted, points[3000:]])
    frame = metric_frame(cameras, cloud, viewpoints + [centres[:2]] * 800, 0.15, extrinsic)
    assert frame.scale == pytest.approx(1.0, rel=2e-3)
    assert frame.floor_excess_m_deg == pytest.approx(0.012, rel=0.1)
    with pytest.raises(ValueError, match="viewpoint sets"):
        metric_frame(cameras, cloud, viewpoints, 0.15, extrinsic)


def test_metric_frame_needs_floor_points(rng):
    _, cameras, points, viewpoints, extrinsic = _scene(rng)
    high = np.flatnonzero(points[:, 2] > 0.2)
    with pytest.raises(DatasetError, match="floor cannot be found"):
        metric_frame(cameras, points[high], [viewpoints[i] for i in high], 0.15, extrinsic)


def _odometry(speeds, dt_ms=20):
    x, out = 0.0, []
    for k, v in enumerate(speeds):
        x += v * dt_ms / 1000
        out.append(OdometrySample(k * dt_ms * MS, Pose.from_xyz_yaw(x, 0.0, 0.0)))
    return out


def test_keyframes_skip_standing_still_and_keep_three_per_second_while_moving():
    odometry = _odometry([0.0] * 100 + [0.5] * 250)  # 2 s still, then 5 s at 0.5 m/s
    stamps = [k * 100 * MS for k in range(70)]  # a 10 Hz camera
    keep = select_keyframes(stamps, odometry, KeyframePolicy(rate_hz=3.4))
    assert keep[0] == 0 and not any(0 < i < 20 for i in keep)  # nothing while standing still
    moving = [i for i in keep if i >= 20]
    assert np.all(np.diff(moving) == 3)  # every 3rd frame: 3.3 Hz
    fast = select_keyframes(stamps, _odometry([2.0] * 350), KeyframePolicy(rate_hz=3.4, max_step_m=0.25))
    assert np.all(np.diff(fast) <= 2)  # 2 m/s: every 0.2 m is a new view, sooner than the rate asks


def test_self_check_passes_a_consistent_model_and_rejects_a_bent_one():
    t = np.arange(0, 30, 0.3)
    odometry = np.column_stack([np.cos(t / 3) * 2, np.sin(t / 3) * 2, np.zeros_like(t)])
    stamps = (t * 1e9).astype(np.int64)
    names = [f"d/{s}.png" for s in stamps]
    good = self_check(stamps, odometry * 1.03, odometry, [True] * len(t), names)  # odometry 3 % short: absorbed
    assert good.passed and good.median_ratio == pytest.approx(1.03, rel=1e-6) and good.bad_share == 0.0
    bent = odometry.copy()
    half = len(t) // 2
    bent[half:] = bent[half] + (odometry[half:] - odometry[half]) * 0.5  # the second half at half scale
    check = self_check(stamps, bent, odometry, [True] * len(t), names)
    assert not check.passed and "disagree with odometry" in check.problems[0] and "texture" in check.problems[0]
    missing = self_check(stamps, odometry, odometry, [i % 3 != 0 for i in range(len(t))], names)
    assert not missing.passed and len(missing.unregistered) == 34 and "registered" in missing.problems[0]


@pytest.mark.parametrize("model, d, expected", [
    ("plumb_bob", [0.0] * 5, "PINHOLE"), ("plumb_bob", [0.1, -0.2, 0.001, 0.002, 0.0], "OPENCV"),
    ("plumb_bob", [0.1, -0.2, 0.001, 0.002, 0.05], "FULL_OPENCV"), ("equidistant", [0.1, 0.01, 0, 0], "OPENCV_FISHEYE"),
])
def test_camera_info_maps_to_colmap_models(model, d, expected):
    info = SimpleNamespace(k=[300, 0, 160, 0, 310, 120, 0, 0, 1], d=d, distortion_model=model, width=320, height=240)
    camera = colmap_camera(info)
    # COLMAP puts the centre of the top-left pixel at (0.5, 0.5), ROS at (0, 0)
    assert camera.model == expected and camera.params[:4] == [300, 310, 160.5, 120.5]
    with pytest.raises(DatasetError, match="not supported"):
        colmap_camera(SimpleNamespace(**{**info.__dict__, "distortion_model": "weird", "d": [0.1]}))


@pytest.mark.slow
def test_label_a_short_rendered_drive_with_real_pycolmap(tmp_path):
    """An 8 s drive (about 28 keyframes) through pycolmap: labels in the map frame, metric, checked.

    How accurate labels get on 40-60 s drives is bench/label_accuracy.py's to say; a short drive sees
    little floor, so only a loose scale bound holds here."""
    pytest.importorskip("pycolmap", reason="pycolmap (the label command's SfM) is not installed")
    from pose_regressor_node.bags import BagReader
    from pose_regressor_node.fusion.monitor import umeyama
    from pose_regressor_node.label.pipeline import LabelOptions, label
    from pose_regressor_node.messages import stamp_ns_of, stamped_pose_from_msg
    from pose_regressor_node.sim.bag_writer import write_rosbag2

    world = build_world(20261122)
    drive = simulate_drive(world, "loop", 41, duration_s=8.0)
    bag = write_rosbag2(tmp_path / "drive", Renderer(world), drive)
    with pytest.raises(ParameterError, match="one split per bag"):
        label([bag], tmp_path / "ds", LabelOptions(splits=["train", "val"], progress=False))
    result = label([bag], tmp_path / "ds", LabelOptions(progress=False))
    assert result.passed, result.checks
    samples = read_folder(tmp_path / "ds", "train")
    assert len(samples) >= 0.9 * len(result.drives[0].names) >= 20
    with BagReader(bag) as reader:
        truth = {stamp_ns_of(m): stamped_pose_from_msg(m) for _, _, m in reader.messages(["/ground_truth/pose"])}
    first = truth[int(samples[0].image.stem)]  # the map frame starts at the first keyframe's base_link, level
    start = Pose.from_xyz_yaw(first.position[0], first.position[1], first.yaw)
    labels = np.array([s.pose.position for s in samples])
    exact = np.array([(start.inverse() @ truth[int(s.image.stem)] @ drive.extrinsic).position for s in samples])
    rotation, translation, scale = umeyama(labels, exact, np.ones(len(labels)), with_scale=True)
    shape_error = np.linalg.norm(scale * labels @ rotation.T + translation - exact, axis=1)
    assert np.median(shape_error) < 0.01  # the reconstruction's shape
    assert abs(scale - 1.0) < 0.1  # metric, from the camera height alone
    assert np.median(np.abs(labels[:, 2] - 0.15)) < 0.01  # cameras 15 cm above a floor at z = 0
    assert (tmp_path / "ds" / "label_report" / "topview.png").stat().st_size > 0
    assert (tmp_path / "ds" / "sfm" / "images.txt").exists()
    again = label([bag], tmp_path / "again", LabelOptions(progress=False))  # the same bag, the same labels
    assert set(again.camera_to_map) == set(result.camera_to_map)
    assert max(np.abs(again.camera_to_map[n].position - p.position).max() for n, p in result.camera_to_map.items()) < 1e-6
