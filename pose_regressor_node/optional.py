"""Optional dependencies: whether one can be imported on this machine.

TensorRT, onnxruntime, torch, tf2_ros, cv_bridge and rosbags each exist on some machines only
(the Jetson, a desktop, a ROS install); code asks here before taking a path that needs one. The
module is really imported (and stays imported), so a package that is installed but broken (a
TensorRT whose CUDA libraries are missing) counts as absent instead of failing later.
"""

from __future__ import annotations

import importlib

__all__ = ["importable"]


def importable(module: str) -> bool:
    """True if ``module`` (dotted names too) imports here."""
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False
