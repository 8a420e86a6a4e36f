"""``spin_node``'s stopping: Ctrl-C exits 0, and a teardown that hangs is ended by the watchdog with
every thread's stack on stderr, well before launch would escalate to SIGKILL. Real rclpy processes."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pose_regressor_node.ros.spin import TEARDOWN_S

_NODE = """
import sys, time
from rclpy.node import Node
from pose_regressor_node.ros.spin import spin_node

class Probe(Node):
    def __init__(self):
        super().__init__("spin_probe")
        self._timer = self.create_timer(0.05, self._ready)

    def _ready(self):
        print("spinning", flush=True)
        self._timer.cancel()

    def destroy_node(self):
        if sys.argv[1] == "hang":
            time.sleep(120)  # a middleware teardown that never returns
        super().destroy_node()

spin_node(Probe, "spin_probe")
"""


def _start(mode: str) -> subprocess.Popen:
    env = dict(os.environ)  # DDS on loopback and a domain of this session's, from tests/conftest.py
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    process = subprocess.Popen([sys.executable, "-c", _NODE, mode], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 60)
    if not ready or process.stdout is None or "spinning" not in process.stdout.readline():
        process.kill()
        pytest.fail(f"the probe node did not start: {process.communicate()[1][-2000:]}")
    return process


def _ctrl_c(process: subprocess.Popen) -> tuple[int, float, str]:
    start = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=TEARDOWN_S + 20)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the node was still alive 20 s after its teardown deadline")
    return process.returncode, time.monotonic() - start, stderr


@pytest.mark.slow
def test_ctrl_c_exits_zero_without_the_watchdog():
    code, _, stderr = _ctrl_c(_start("clean"))
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr and "Timeout" not in stderr, stderr[-2000:]


@pytest.mark.slow
def test_a_hung_teardown_is_ended_by_the_watchdog_with_its_stacks():
    code, seconds, stderr = _ctrl_c(_start("hang"))
    assert code == 1, stderr[-2000:]
    assert TEARDOWN_S - 0.5 < seconds < TEARDOWN_S + 5.0  # launch sends SIGTERM at 5 s and SIGKILL at 15 s
    assert "Timeout (" in stderr and "in destroy_node" in stderr, stderr[-2000:]  # faulthandler: where it hung
