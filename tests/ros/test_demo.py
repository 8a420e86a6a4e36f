"""The main job end to end, as `make demo` runs it, on a 10 s drive: node processes over real DDS."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np

from ..conftest import ROOT


def _tum(path) -> dict:
    rows = np.loadtxt(path)
    return {round(float(t) * 1000): row[:3] for t, row in zip(rows[:, 0], rows[:, 1:])}  # ms -> position


def test_demo_runs_live_and_agrees_with_offline_replay(tmp_path):
    env = dict(os.environ)  # ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST from tests/conftest.py
    env["ROS_DOMAIN_ID"] = str(1 + int(os.environ["ROS_DOMAIN_ID"]) % 100)  # not the in-process tests' domain
    proc = subprocess.run([sys.executable, "-m", "pose_regressor_node", "demo", "--duration", "10", "--out",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = re.search(r"fused median position error: live ([\d.]+) m, offline ([\d.]+) m", proc.stdout)
    assert found, proc.stdout[-3000:]
    # the nodes and replay run the same objects: where both published a fused pose for the same data
    # stamp, it is the same pose, to within what a frame the live regressor dropped under load changes
    # (identical in most runs; up to 6.5 cm right after initialisation, fading to 1 cm, when it dropped
    # one). Their medians alone are no test: the node's 50 Hz output timer skips about one odometry stamp
    # in ten at random phases, which on a short drive moved them by up to 30 %.
    assert abs(float(found.group(1)) - float(found.group(2))) <= 0.3 * float(found.group(2)), found.group(0)
    live, offline = _tum(tmp_path / "live" / "fused.tum"), _tum(tmp_path / "offline" / "fused.tum")
    # Live output starts when the filter has initialised from the regressed poses that reached it: the
    # first best-effort frames after DDS matched the camera topic are sometimes lost (the regressor's
    # first live pose came 0.1-0.3 s into the drive in 4 of 11 runs), and with them up to 0.9 s of output.
    assert min(live) <= min(offline) + 2000, (min(live), min(offline))
    # From then on it must keep up: the node's 50 Hz timer publishes at least 80 % of the odometry stamps
    # (it skipped 7-17 % in 11 runs here; see above).
    common = sorted(set(live) & set(offline))
    running = [t for t in offline if t >= min(live)]
    assert len(common) >= 0.8 * len(running), (len(common), len(running), len(offline))
    differences = np.array([np.linalg.norm(live[t] - offline[t]) for t in common])
    assert np.median(differences) <= 0.03 and np.percentile(differences, 95) <= 0.08, differences.max()
    regressed = re.findall(r"\| regressor only \| (\d+) \|", proc.stdout)
    assert len(regressed) == 2 and int(regressed[0]) >= 0.9 * int(regressed[1])  # live answered >= 90 % of frames
    for name in ("report.md", "trajectories.png", "error_over_time.png", "error_cdf.png", "fused.tum"):
        assert (tmp_path / "live" / name).stat().st_size > 0


def test_demo_reuses_a_bag_only_when_it_was_written_completely(tmp_path):
    from pose_regressor_node.atomic import is_complete
    from pose_regressor_node.replay.demo import _ensure_bag

    truncated = tmp_path / "demo_bag_2s"
    truncated.mkdir()
    (truncated / "metadata.yaml").write_text("truncated: true\n")  # an interrupted run's leftovers
    bag = _ensure_bag(tmp_path, 2.0)
    assert is_complete(bag) and "truncated" not in (bag / "metadata.yaml").read_text()


def test_ctrl_c_during_the_live_phase_exits_130_without_a_traceback(tmp_path):
    import signal
    import time

    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(1 + (int(os.environ["ROS_DOMAIN_ID"]) + 20) % 100)
    env["PYTHONUNBUFFERED"] = "1"
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pose_regressor_node", "demo", "--duration", "8", "--out",
                                 str(tmp_path / "demo")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.monotonic() + 240
        while "starting regressor_node" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(4.0)  # nodes starting, the bag about to play
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
        code = proc.wait(timeout=60)
    output = log.read_text()
    assert code == 130, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert not (tmp_path / "demo" / "live").exists()  # nothing half written
