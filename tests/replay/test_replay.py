from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pose_regressor_node.bags import FACTORY, BagWriter
from pose_regressor_node.errors import BagError, EngineError
from pose_regressor_node.geometry import Pose
from pose_regressor_node.replay import ReplayOptions, read_tum, replay
from pose_regressor_node.replay.report import write_outputs
from pose_regressor_node.sim import PinholeCamera, Renderer, build_world, simulate_drive
from pose_regressor_node.sim.bag_writer import write_rosbag2

from ..conftest import ROOT


def _bag(tmp_path, storage):
    world = build_world(4)
    drive = simulate_drive(world, "loop", seed=2, duration_s=4.0, camera_rate_hz=5.0)
    drive.camera = PinholeCamera(96, 72)
    return write_rosbag2(tmp_path / f"drive_{storage}", Renderer(world, drive.camera), drive, storage=storage,
                         compressed=storage == "mcap"), drive


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_replay_generated_bag(tmp_path, tiny_checkpoint, storage):
    bag, drive = _bag(tmp_path, storage)
    result = replay(bag, tiny_checkpoint, ReplayOptions(backend="onnxruntime", device="cpu", latency_s=0.05, batch=4,
                                              progress=False))
    assert result.counts["images"] == 21 and result.counts["odometry"] == len(drive.odometry)
    assert set(result.evaluations) == {"regressor", "odometry", "fused"}
    odo = result.evaluations["odometry"]
    assert odo.matched == len(drive.odometry) and np.median(odo.ape_translation) < 0.1  # 4 s of dead reckoning
    assert any("chose /odom" in n for n in result.notes)
    files = write_outputs(result, tmp_path / "out")
    assert read_tum(files["fused_tum"]).stamps_ns.size == len(result.trajectories["fused"])
    report = files["report"].read_text()
    assert "| fused |" in report and "odometry only" in report
    assert all(files[k].stat().st_size > 1000 for k in ("topview_png", "error_time_png", "cdf_png"))
    assert (files["bag"] / "metadata.yaml").exists()


def test_replay_real_t265_ros1_bag_without_ground_truth(tmp_path, tiny_checkpoint, shared_data):
    bag = shared_data / "t265-office-ros1" / "trimmed_locoffice.bag"
    result = replay(bag, tiny_checkpoint, ReplayOptions(backend="onnxruntime", device="cpu", latency_s=0.0, progress=False))
    assert result.topics.image == "/camera/fisheye1/image_raw" and result.topics.truth is None
    assert any("no ground-truth topic" in n for n in result.notes)
    assert result.counts["images"] == 3 and result.counts["odometry"] == 19 and not result.evaluations
    files = write_outputs(result, tmp_path / "out")
    assert "No ground truth" in files["report"].read_text()
    assert len(read_tum(files["regressor_tum"])) == 3 and len(read_tum(files["odometry_tum"])) == 19


def test_bag_without_needed_topics_and_corrupt_bag(tmp_path, tiny_checkpoint):
    only_truth = tmp_path / "truth_only"
    with BagWriter(only_truth) as bag:
        bag.write("/ground_truth/pose", 1, FACTORY.pose_stamped(Pose(), 1, "map"))
    with pytest.raises(BagError, match="no Image or CompressedImage topic"):
        replay(only_truth, tiny_checkpoint, ReplayOptions(progress=False, device="cpu"))
    corrupt = tmp_path / "corrupt.bag"
    corrupt.write_bytes(b"#ROSBAG V2.0\n" + b"\x01" * 100)
    with pytest.raises(BagError, match="corrupt.bag"):
        replay(corrupt, tiny_checkpoint, ReplayOptions(progress=False, device="cpu"))
    with pytest.raises(EngineError, match="not found"):
        replay(corrupt, str(tmp_path / "missing.pt"), ReplayOptions(progress=False))


def test_cli_exits_non_zero_with_a_message(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pose_regressor_node", "replay", str(tmp_path / "nope"),
                           "--model", str(tmp_path / "m.pt")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: model file not found")


def test_outputs_replace_a_previous_run_and_an_interrupted_one_leaves_it(tmp_path, tiny_checkpoint):
    bag, _ = _bag(tmp_path, "sqlite3")
    result = replay(bag, tiny_checkpoint, ReplayOptions(backend="onnxruntime", device="cpu", latency_s=0.0,
                                                         progress=False))
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale_plot.png").write_bytes(b"from an earlier run")
    write_outputs(result, out)
    assert not (out / "stale_plot.png").exists() and (out / "report.md").exists()
    before = (out / "report.md").read_text()

    class Interrupted(Exception):
        pass

    from pose_regressor_node.atomic import atomic_directory

    with pytest.raises(Interrupted), atomic_directory(out) as tmp:
        (tmp / "report.md").write_text("half written")
        raise Interrupted
    assert (out / "report.md").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
