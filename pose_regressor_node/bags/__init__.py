"""Reading and writing real rosbag2 (sqlite3, MCAP) and ROS 1 bags through ``rosbags``.

One place builds and parses bag messages from the core types, shared by the simulator's bag
writer, the dataset extractor and replay.
"""

from .messages import (
    TYPESTORE,
    camera_info_msg,
    compressed_image_msg,
    image_msg,
    odometry_from_msg,
    odometry_msg,
    pose_from_msg,
    pose_stamped_msg,
    pose_with_covariance_msg,
    tf_message,
)
from .reader import BagReader, find_topic
from .writer import BagWriter

__all__ = [
    "TYPESTORE",
    "BagReader",
    "BagWriter",
    "camera_info_msg",
    "compressed_image_msg",
    "find_topic",
    "image_msg",
    "odometry_from_msg",
    "odometry_msg",
    "pose_from_msg",
    "pose_stamped_msg",
    "pose_with_covariance_msg",
    "tf_message",
]
