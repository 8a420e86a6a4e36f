"""Where the default (demo) model lives: the package share on the robot, the repo in a checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_model_path"]

DEMO_MODEL = "demo-resnet18.pt"


def default_model_path() -> str:
    try:
        from ament_index_python.packages import get_package_share_directory  # noqa: PLC0415

        shared = Path(get_package_share_directory("pose_regressor")) / "models" / DEMO_MODEL
        if shared.is_file():
            return str(shared)
    except (ImportError, LookupError, ValueError, OSError):  # no ROS install, no AMENT_PREFIX_PATH, not installed
        pass
    return str(Path(__file__).resolve().parents[2] / "models" / DEMO_MODEL)
