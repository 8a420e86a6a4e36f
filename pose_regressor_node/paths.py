"""Where the package keeps files it can rebuild: exported models, TensorRT engines, frame caches."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """``POSE_REGRESSOR_CACHE`` (default ``~/.cache/pose_regressor``), or a folder inside it; created."""
    path = Path(os.environ.get("POSE_REGRESSOR_CACHE", Path.home() / ".cache" / "pose_regressor"), *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
