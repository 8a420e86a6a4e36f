"""The algorithm modules stay ROS-free: the nodes and replay share them (STYLE.md, point 1)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT

CORE_MODULES = [
    "pose_regressor_node.geometry",
    "pose_regressor_node.measurements",
    "pose_regressor_node.model",
    "pose_regressor_node.fusion",
    "pose_regressor_node.inference",
    "pose_regressor_node.sim",
    "pose_regressor_node.data",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_rclpy(module):
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rclpy', 'rosidl_runtime_py', 'tf2_ros'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulled in {out.stdout.strip()}"
