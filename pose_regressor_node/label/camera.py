"""sensor_msgs/CameraInfo -> a COLMAP camera model and its parameters (known intrinsics are not re-estimated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List

from ..errors import DatasetError

__all__ = ["ColmapCamera", "colmap_camera"]


@dataclass(frozen=True)
class ColmapCamera:
    model: str  # PINHOLE, OPENCV, FULL_OPENCV or OPENCV_FISHEYE
    width: int
    height: int
    params: List[float]

    @property
    def params_text(self) -> str:
        return ",".join(f"{v:.10g}" for v in self.params)


def colmap_camera(info: Any) -> ColmapCamera:
    """ROS distortion models -> COLMAP's: plumb_bob -> OPENCV (k1 k2 p1 p2; a non-zero k3 -> FULL_OPENCV),
    rational_polynomial -> FULL_OPENCV, equidistant -> OPENCV_FISHEYE, no distortion -> PINHOLE."""
    k = [float(v) for v in info.k]
    # ROS (OpenCV) puts the centre of the top-left pixel at (0, 0), COLMAP at (0.5, 0.5)
    fx, fy, cx, cy = k[0], k[4], k[2] + 0.5, k[5] + 0.5
    if fx <= 0 or fy <= 0:
        raise DatasetError(f"camera_info has no focal length (K = {k}); calibrate the camera first")
    d = [float(v) for v in info.d]
    model = str(info.distortion_model)
    width, height = int(info.width), int(info.height)
    if not any(d):
        return ColmapCamera("PINHOLE", width, height, [fx, fy, cx, cy])
    if model == "plumb_bob":
        d = (d + [0.0] * 5)[:5]
        if d[4]:
            return ColmapCamera("FULL_OPENCV", width, height, [fx, fy, cx, cy, d[0], d[1], d[2], d[3], d[4], 0, 0, 0])
        return ColmapCamera("OPENCV", width, height, [fx, fy, cx, cy, d[0], d[1], d[2], d[3]])
    if model == "rational_polynomial":
        d = (d + [0.0] * 8)[:8]
        return ColmapCamera("FULL_OPENCV", width, height, [fx, fy, cx, cy, *d])
    if model == "equidistant":
        d = (d + [0.0] * 4)[:4]
        return ColmapCamera("OPENCV_FISHEYE", width, height, [fx, fy, cx, cy, *d])
    raise DatasetError(f"camera_info distortion model {model!r} is not supported; use plumb_bob, "
                       "rational_polynomial or equidistant")
