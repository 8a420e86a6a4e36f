"""The node process's allocator setting, measured the way it matters: page faults per frame."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pose_regressor_node.ros.process import retain_freed_memory

_FAULTS_PER_FRAME = """
import resource, sys
if sys.argv[1] == "retain":
    from pose_regressor_node.ros.process import retain_freed_memory
    assert retain_freed_memory()
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
raw = serialize_message(Image(height=480, width=640, encoding="rgb8", step=1920, data=bytes(921600)))
keep = []
def frame():  # rclpy takes a message while the previous one is still referenced
    keep.append(deserialize_message(raw, Image))
    if len(keep) > 2:
        keep.pop(0)
for _ in range(20):
    frame()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    frame()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 200)
"""


def _faults_per_frame(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _FAULTS_PER_FRAME, mode], env=env, check=True,
                         capture_output=True, text=True)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_retained_memory_stops_page_faults_per_frame():
    default, retained = _faults_per_frame("default"), _faults_per_frame("retain")
    assert default > 50  # a 921600-byte frame spans 225 pages; with glibc's defaults many fault in again
    assert retained < 5


def test_an_explicit_malloc_environment_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert retain_freed_memory() is False
