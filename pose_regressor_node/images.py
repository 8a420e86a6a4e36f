"""sensor_msgs Image / CompressedImage -> RGB uint8, for rclpy and rosbags messages alike.

cv_bridge is used where ROS provides it (on the robot); otherwise ``rosbags.image``. Both accept
the message duck-typed, so the node and replay decode through this one function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..messages import rosbags_typestore
from .preprocess import to_rgb

__all__ = ["decode_image", "deserialize_image", "ImageDecodeError", "IMAGE_TYPES"]

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


class ImageDecodeError(ValueError):
    """The message cannot be turned into an image; the text says why."""


def _check_raw(msg: Any) -> None:
    encoding = str(msg.encoding)
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}.get(encoding)
    if channels is None:
        raise ImageDecodeError(f"unsupported image encoding {encoding!r}; use rgb8, bgr8, rgba8, bgra8 or mono8")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageDecodeError(f"empty image ({width}x{height})")
    if step < width * channels or len(msg.data) < step * height:
        raise ImageDecodeError(f"truncated image: {len(msg.data)} bytes for {width}x{height} {encoding} step {step}")


def _with_cv_bridge(msg: Any) -> np.ndarray:
    from cv_bridge import CvBridge  # noqa: PLC0415 - only on machines with ROS

    if hasattr(msg, "format"):
        return to_rgb(CvBridge().compressed_imgmsg_to_cv2(msg, "bgr8"), "bgr8")
    image = CvBridge().imgmsg_to_cv2(msg, desired_encoding="passthrough")
    return to_rgb(np.ascontiguousarray(image), str(msg.encoding))


def _with_rosbags(msg: Any) -> np.ndarray:
    from rosbags.image import message_to_cvimage  # noqa: PLC0415 - offline tools / tests

    if hasattr(msg, "format"):
        return to_rgb(message_to_cvimage(msg, "bgr8"), "bgr8")
    image = message_to_cvimage(msg)
    return to_rgb(np.ascontiguousarray(image), str(msg.encoding))


def _decoder():
    try:
        import cv_bridge  # noqa: F401, PLC0415

        return _with_cv_bridge
    except ImportError:
        return _with_rosbags


_DECODE = None


def deserialize_image(raw: bytes, msgtype: str) -> Any:
    """CDR bytes as DDS delivered them -> an Image or CompressedImage whose ``data`` views ``raw``.

    rclpy would copy the pixels twice (into a C message, then into a Python array); rosbags'
    deserialiser, the one replay reads bags with, copies them not at all.
    """
    if msgtype not in IMAGE_TYPES:
        raise ValueError(f"not an image type: {msgtype}")
    try:
        return rosbags_typestore().deserialize_cdr(raw, msgtype)
    except Exception as err:  # rosbags raises struct.error, ValueError, IndexError... on bad bytes
        raise ImageDecodeError(f"malformed {msgtype.rsplit('/', 1)[-1]} message: {err}") from err


def decode_image(msg: Any) -> np.ndarray:
    """RGB uint8 (H, W, 3); raises ImageDecodeError for anything it cannot decode."""
    global _DECODE  # noqa: PLW0603 - the backend choice is made once per process
    if _DECODE is None:
        _DECODE = _decoder()
    if hasattr(msg, "format"):
        if len(msg.data) == 0:
            raise ImageDecodeError("empty compressed image")
    else:
        _check_raw(msg)
    try:
        rgb = _DECODE(msg)
    except ImageDecodeError:
        raise
    except Exception as err:  # decoders raise cv2.error, ValueError, their own types...
        raise ImageDecodeError(f"cannot decode image: {err}") from err
    if rgb is None or rgb.size == 0:
        raise ImageDecodeError("decoder returned no pixels (corrupt data?)")
    return rgb
