from __future__ import annotations

import numpy as np
import pytest

from pose_regressor_node.bags import BagReader
from pose_regressor_node.data import load_samples, read_7scenes, read_cambridge, read_folder, write_folder_split
from pose_regressor_node.data.extract import extract_dataset
from pose_regressor_node.data.samples import Sample
from pose_regressor_node.errors import BagError, DatasetError
from pose_regressor_node.geometry import Pose, quat_conjugate
from pose_regressor_node.sim import Renderer, build_world, simulate_drive
from pose_regressor_node.sim.bag_writer import write_rosbag2
from pose_regressor_node.sim.camera import PinholeCamera
from pose_regressor_node.sim.dataset_writer import write_7scenes


@pytest.fixture(scope="module")
def small_world():
    world = build_world(3)
    return world, Renderer(world, PinholeCamera(160, 120))


def _drive(world, seconds=2.0):
    drive = simulate_drive(world, "loop", seed=1, duration_s=seconds, camera_rate_hz=5.0)
    drive.camera = PinholeCamera(160, 120)
    return drive


def test_real_7scenes_sample(shared_data):
    root = shared_data / "7scenes-stairs-sample" / "stairs"
    test = read_7scenes(root, "test")
    assert len(test) == 6 and all(s.image.suffix == ".jpg" for s in test)
    first = test[0]
    matrix = np.loadtxt(root / "seq-01" / "frame-000000.pose.txt")
    np.testing.assert_allclose(first.pose.position, matrix[:3, 3])
    # camera-to-world: the camera's optical axis in the world is the third column of R
    np.testing.assert_allclose(first.pose.rotation[:, 2], matrix[:3, 2] / np.linalg.norm(matrix[:3, 2]), atol=2e-3)
    # no ValidationSplit.txt: the last training sequence is validation, never a test one
    assert {s.image.parent.name for s in read_7scenes(root, "val")} == {"seq-03"}
    assert {s.image.parent.name for s in read_7scenes(root, "train")} == {"seq-02"}


def test_7scenes_round_trip(tmp_path, small_world):
    world, renderer = small_world
    drive = _drive(world)
    write_7scenes(tmp_path, renderer, {"train": [drive], "test": [drive]}, image_ext=".png")
    samples = read_7scenes(tmp_path, "test")
    frames = list(drive.frames())
    assert len(samples) == len(frames)
    for sample, (_, pose) in zip(samples, frames):
        assert sample.pose.is_close(pose, tol_m=1e-9, tol_deg=1e-6)


def test_7scenes_splits_written_one_at_a_time_keep_each_others_frames(tmp_path, small_world):
    world, renderer = small_world
    first, second = _drive(world, 0.5), simulate_drive(world, "figure8", seed=2, duration_s=0.5, camera_rate_hz=5.0)
    second.camera = PinholeCamera(160, 120)
    write_7scenes(tmp_path, renderer, {"val": [first]})
    write_7scenes(tmp_path, renderer, {"test": [second]})
    val, test = read_7scenes(tmp_path, "val"), read_7scenes(tmp_path, "test")
    assert {s.image.parent.name for s in val} == {"seq-01"} and {s.image.parent.name for s in test} == {"seq-02"}
    assert val[0].pose.is_close(next(iter(first.frames()))[1], tol_m=1e-9, tol_deg=1e-6)
    assert test[0].pose.is_close(next(iter(second.frames()))[1], tol_m=1e-9, tol_deg=1e-6)


def test_7scenes_errors_name_the_file(tmp_path, small_world):
    world, renderer = small_world
    write_7scenes(tmp_path, renderer, {"train": [_drive(world, 0.5)], "test": [_drive(world, 0.5)]})
    bad = tmp_path / "seq-02" / "frame-000000.pose.txt"
    bad.write_text("1 2 3\n")
    with pytest.raises(DatasetError, match="frame-000000.pose.txt"):
        read_7scenes(tmp_path, "test")
    (tmp_path / "seq-01" / "frame-000001.color.jpg").unlink()
    with pytest.raises(DatasetError, match=r"frame-000001.color.png \(or .jpg\) missing"):
        read_7scenes(tmp_path, "train")


def test_cambridge_reader_and_conventions(tmp_path):
    (tmp_path / "seq1").mkdir()
    (tmp_path / "seq1" / "frame00001.png").write_bytes(b"")
    q_world_to_cam = np.array([0.9, 0.1, -0.3, 0.2]) / np.linalg.norm([0.9, 0.1, -0.3, 0.2])
    header = "Visual Landmark Dataset V1\nImageFile, Camera Position [X Y Z W P Q R]\n\n"
    line = "seq1/frame00001.png 1.5 -2.0 0.25 " + " ".join(f"{v:.12f}" for v in q_world_to_cam)
    (tmp_path / "dataset_test.txt").write_text(header + line + "\n")
    (sample,) = read_cambridge(tmp_path, "test")
    np.testing.assert_allclose(sample.pose.position, [1.5, -2.0, 0.25])
    assert sample.pose.is_close(Pose([1.5, -2.0, 0.25], quat_conjugate(q_world_to_cam)))
    (tmp_path / "dataset_test.txt").write_text(header + "seq1/frame00001.png 1 2 3 oops 0 0 0\n")
    with pytest.raises(DatasetError, match=r"dataset_test.txt:4"):
        read_cambridge(tmp_path, "test")


def test_folder_round_trip_and_errors(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    pose = Pose([0.1, 0.2, 0.3], [0.5, 0.5, 0.5, 0.5])
    write_folder_split(tmp_path, "val", [Sample(tmp_path / "a.png", pose)])
    (sample,) = read_folder(tmp_path, "val")
    assert sample.pose.is_close(pose, tol_m=1e-9, tol_deg=1e-6)
    (tmp_path / "dataset_val.txt").write_text("a.png 1 2 3\n")
    with pytest.raises(DatasetError, match=r"dataset_val.txt:1: expected 7 numbers"):
        read_folder(tmp_path, "val")
    with pytest.raises(DatasetError, match="unknown dataset type"):
        load_samples("kitti", tmp_path, "val")


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
@pytest.mark.parametrize("compressed", [False, True])
def test_rosbag2_round_trip_through_extractor(tmp_path, small_world, storage, compressed):
    world, renderer = small_world
    drive = _drive(world)
    bag = write_rosbag2(tmp_path / "drive", renderer, drive, storage=storage, compressed=compressed)
    with BagReader(bag) as reader:
        topics = reader.topics
        counts = reader.message_counts
    image_topic = "/camera/image_raw/compressed" if compressed else "/camera/image_raw"
    assert {image_topic, "/odom", "/ground_truth/pose", "/tf", "/tf_static", "/camera/camera_info"} <= set(topics)
    assert counts["/odom"] == len(drive.odometry)
    report = extract_dataset(bag, tmp_path / "ds", max_diff_s=0.001)
    samples = read_folder(tmp_path / "ds", "train")
    assert report.written == len(list(drive.frames())) == len(samples)
    for sample, (_, pose) in zip(samples, drive.frames()):
        assert sample.pose.is_close(pose, tol_m=1e-9, tol_deg=1e-6)  # extrinsic from /tf_static applied


def test_real_ros1_t265_bag(tmp_path, shared_data):
    bag = shared_data / "t265-office-ros1" / "trimmed_locoffice.bag"
    with BagReader(bag) as reader:
        assert reader.topics["/camera/fisheye1/image_raw"] == "sensor_msgs/msg/Image"
        assert reader.message_counts["/camera/odom/sample"] == 19
    report = extract_dataset(bag, tmp_path, image_topic="/camera/fisheye1/image_raw",
                             pose_topic="/camera/odom/sample", max_diff_s=0.01)
    samples = read_folder(tmp_path, "train")
    assert report.frames == 3 and len(samples) == report.written >= 1
    import cv2

    assert cv2.imread(str(samples[0].image)).shape == (800, 848, 3)  # mono8 decoded to RGB


def test_unreadable_bag_and_missing_topic(tmp_path, shared_data):
    broken = tmp_path / "broken.bag"
    broken.write_bytes(b"#ROSBAG V2.0\n" + b"\x00" * 64)
    with pytest.raises(BagError, match="broken.bag"):
        extract_dataset(broken, tmp_path / "out")
    bag = shared_data / "t265-office-ros1" / "trimmed_locoffice.bag"
    with pytest.raises(BagError, match="no topic '/nope'"):
        extract_dataset(bag, tmp_path / "out", pose_topic="/nope")
