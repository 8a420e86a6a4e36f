"""Camera images: the encodings the package reads, and sensor_msgs Image / CompressedImage -> RGB
uint8, for rclpy and rosbags messages alike.

cv_bridge is used where ROS provides it (on the robot); otherwise ``rosbags.image``. Both accept
the message duck-typed, so the node, replay, ``extract`` and ``label`` decode through this one
function. ``ENCODINGS`` is the one table of raw encodings: their channel count and the OpenCV
conversion to RGB.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Optional, Tuple

import cv2
import numpy as np

from .messages import rosbags_typestore

__all__ = ["decode_image", "deserialize_image", "to_rgb", "ImageDecodeError", "IMAGE_TYPES", "ENCODINGS",
           "SUPPORTED_ENCODINGS"]

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")

# encoding -> (channels, OpenCV conversion to RGB; None: already RGB)
ENCODINGS: Dict[str, Tuple[int, Optional[int]]] = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
}
SUPPORTED_ENCODINGS = tuple(ENCODINGS)


class ImageDecodeError(ValueError):
    """The message cannot be turned into an image; the text says why."""


def to_rgb(image: np.ndarray, encoding: str = "rgb8") -> np.ndarray:
    """Any supported 8-bit encoding -> (H, W, 3) RGB uint8. ValueError names what is supported."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected an 8-bit image, got dtype {image.dtype}")
    if encoding == "mono8" and image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    code = ENCODINGS[encoding][1]
    return image if code is None else cv2.cvtColor(image, code)


def _check_raw(msg: Any) -> None:
    encoding = str(msg.encoding)
    if encoding not in ENCODINGS:
        raise ImageDecodeError(f"unsupported image encoding {encoding!r}; use {', '.join(SUPPORTED_ENCODINGS)}")
    channels = ENCODINGS[encoding][0]
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


@functools.lru_cache(maxsize=1)
def _decoder() -> Callable[[Any], np.ndarray]:
    """cv_bridge where ROS provides it, else rosbags.image; chosen once per process."""
    try:
        import cv_bridge  # noqa: F401, PLC0415

        return _with_cv_bridge
    except ImportError:
        return _with_rosbags


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
    if hasattr(msg, "format"):
        if len(msg.data) == 0:
            raise ImageDecodeError("empty compressed image")
    else:
        _check_raw(msg)
    try:
        rgb = _decoder()(msg)
    except ImageDecodeError:
        raise
    except Exception as err:  # decoders raise cv2.error, ValueError, their own types...
        raise ImageDecodeError(f"cannot decode image: {err}") from err
    if rgb is None or rgb.size == 0:
        raise ImageDecodeError("decoder returned no pixels (corrupt data?)")
    return rgb
