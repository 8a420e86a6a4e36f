"""The main job end to end, as `make demo` runs it, on a 5 s drive: node processes over real DDS."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from ..conftest import ROOT


def test_demo_runs_live_and_agrees_with_offline_replay(tmp_path):
    env = dict(os.environ)  # ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST from tests/conftest.py
    env["ROS_DOMAIN_ID"] = str(1 + int(os.environ["ROS_DOMAIN_ID"]) % 100)  # not the in-process tests' domain
    proc = subprocess.run([sys.executable, "-m", "pose_regressor_node", "demo", "--duration", "5", "--out",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = re.search(r"fused median position error: live ([\d.]+) m, offline ([\d.]+) m", proc.stdout)
    assert found, proc.stdout[-3000:]
    live, offline = map(float, found.groups())
    assert abs(live - offline) <= 0.1 * offline  # the nodes and replay run the same objects
    regressed = re.findall(r"\| regressor only \| (\d+) \|", proc.stdout)
    assert len(regressed) == 2 and int(regressed[0]) >= 0.9 * int(regressed[1])  # live answered >= 90 % of frames
    for name in ("report.md", "trajectories.png", "error_over_time.png", "error_cdf.png", "fused.tum"):
        assert (tmp_path / "live" / name).stat().st_size > 0
