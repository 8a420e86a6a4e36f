"""Message construction for bags: the shared ``MessageFactory`` over the rosbags typestore
(ROS 2 Jazzy definitions), plus the image messages bag writers build."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..messages import MessageFactory, rosbags_typestore

__all__ = ["TYPESTORE", "FACTORY", "image_msg", "compressed_image_msg"]

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
