"""Reading and writing real rosbag2 (sqlite3, MCAP) and ROS 1 bags through ``rosbags``."""

from .messages import FACTORY, TYPESTORE, compressed_image_msg, image_msg
from .reader import BagReader, find_topic
from .writer import BagWriter

__all__ = ["FACTORY", "TYPESTORE", "BagReader", "BagWriter", "compressed_image_msg",
           "find_topic", "image_msg"]
