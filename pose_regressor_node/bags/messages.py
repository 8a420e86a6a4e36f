"""Message construction for bags: the shared ``MessageFactory`` over the rosbags typestore
(ROS 2 Jazzy definitions), plus the image messages only bag writers build."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..messages import MessageFactory, rosbags_typestore
from ..sim.camera import PinholeCamera

__all__ = ["TYPESTORE", "FACTORY", "image_msg", "compressed_image_msg", "camera_info_msg"]

TYPESTORE = rosbags_typestore()
FACTORY = MessageFactory(lambda name: TYPESTORE.types[name])
_T = TYPESTORE.types


def image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str) -> Any:
    h, w = rgb.shape[:2]
    return _T["sensor_msgs/msg/Image"](
        header=FACTORY.header(stamp_ns, frame_id), height=h, width=w, encoding="rgb8", is_bigendian=0,
        step=w * 3, data=np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1),
    )


def compressed_image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str, quality: int = 90) -> Any:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return _T["sensor_msgs/msg/CompressedImage"](header=FACTORY.header(stamp_ns, frame_id), format="jpeg",
                                                 data=buf.reshape(-1).astype(np.uint8))


def camera_info_msg(camera: PinholeCamera, stamp_ns: int, frame_id: str) -> Any:
    k = camera.k
    p = np.zeros((3, 4))
    p[:, :3] = k
    return _T["sensor_msgs/msg/CameraInfo"](
        header=FACTORY.header(stamp_ns, frame_id), height=camera.height, width=camera.width,
        distortion_model="plumb_bob", d=np.zeros(5), k=k.reshape(-1), r=np.eye(3).reshape(-1),
        p=p.reshape(-1), binning_x=0, binning_y=0,
        roi=_T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )
