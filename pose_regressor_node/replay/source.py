"""What replay needs from a bag: image, odometry and ground-truth topics (by name or by type),
the camera extrinsic, and the streams read in bag order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

from ..bags import BagReader, find_topic
from ..errors import BagError
from ..geometry import Pose
from ..inference.decode import IMAGE_TYPES
from ..messages import odometry_from_msg, stamp_ns_of, stamped_pose_from_msg

__all__ = ["BagTopics", "choose_topics", "ReplaySource", "IMAGE_TYPES", "ODOM_TYPE", "TRUTH_TYPES"]

ODOM_TYPE = "nav_msgs/msg/Odometry"
TRUTH_TYPES = ("geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/PoseWithCovarianceStamped")


@dataclass
class BagTopics:
    image: str
    odometry: str
    truth: Optional[str]
    notes: List[str] = field(default_factory=list)


def choose_topics(topics, image: Optional[str] = None, odometry: Optional[str] = None,
                  truth: Optional[str] = None) -> BagTopics:
    notes = []
    image_topic = find_topic(topics, IMAGE_TYPES, image, role="images")
    if image_topic is None:
        raise BagError(f"the bag has no Image or CompressedImage topic (topics: {sorted(topics)}); pass --image-topic")
    odom_topic = find_topic(topics, (ODOM_TYPE,), odometry, role="odometry")
    if odom_topic is None:
        raise BagError(f"the bag has no nav_msgs/Odometry topic (topics: {sorted(topics)}); pass --odom-topic")
    truth_topic = find_topic(topics, TRUTH_TYPES, truth, role="ground truth")
    for role, topic, given in (("images", image_topic, image), ("odometry", odom_topic, odometry),
                               ("ground truth", truth_topic, truth)):
        if topic is not None and given is None:
            notes.append(f"{role}: chose {topic} ({topics[topic]}) by type")
    if truth_topic is None:
        notes.append("no ground-truth topic (PoseStamped / PoseWithCovarianceStamped): trajectories are written, "
                     "no errors can be computed")
    return BagTopics(image_topic, odom_topic, truth_topic, notes)


class ReplaySource:
    """Opens a bag and yields its messages in bag order, converted where they are small."""

    def __init__(self, path: Path, image: Optional[str] = None, odometry: Optional[str] = None,
                 truth: Optional[str] = None) -> None:
        self.path = Path(path)
        self._reader = BagReader(self.path)
        self._reader.__enter__()
        self.topics = choose_topics(self._reader.topics, image, odometry, truth)
        self.image_count = self._reader.message_counts.get(self.topics.image, 0)

    def close(self) -> None:
        self._reader.__exit__()

    def extrinsic(self, base_frame: str = "base_link") -> Optional[Tuple[str, Pose]]:
        """base_frame -> camera frame from /tf_static, if the bag has it."""
        return self._reader.static_transform(base_frame)

    def messages(self) -> Iterator[Tuple[str, Any]]:
        """(kind, payload): ("image", msg), ("odometry", OdometrySample), ("truth", (stamp_ns, Pose))."""
        wanted = [t for t in (self.topics.image, self.topics.odometry, self.topics.truth) if t]
        for topic, _, msg in self._reader.messages(wanted):
            if topic == self.topics.image:
                yield "image", msg
            elif topic == self.topics.odometry:
                try:
                    yield "odometry", odometry_from_msg(msg)
                except ValueError:
                    yield "bad_odometry", msg
            else:
                yield "truth", (stamp_ns_of(msg), stamped_pose_from_msg(msg))


