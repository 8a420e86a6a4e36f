"""What replay needs from a bag: image, odometry and ground-truth topics (by name or by type),
the camera extrinsic, and the bag's messages in bag order as typed events."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from ..bags import BagReader, find_topic
from ..errors import BagError
from ..geometry import Pose
from ..images import IMAGE_TYPES
from ..measurements import OdometrySample
from ..messages import odometry_from_msg, stamp_ns_of, stamped_pose_from_msg

__all__ = ["BagTopics", "choose_topics", "ReplaySource", "ImageMessage", "OdometryMessage", "BadOdometry",
           "TruthPose", "Event", "ODOM_TYPE", "TRUTH_TYPES"]

ODOM_TYPE = "nav_msgs/msg/Odometry"
TRUTH_TYPES = ("geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/PoseWithCovarianceStamped")


@dataclass(frozen=True)
class ImageMessage:
    """A camera frame, still encoded (decoding is the next stage's work)."""

    msg: Any


@dataclass(frozen=True)
class OdometryMessage:
    sample: OdometrySample


@dataclass(frozen=True)
class BadOdometry:
    """An odometry message that does not convert (NaN, a non-unit quaternion): counted, not used."""

    reason: str


@dataclass(frozen=True)
class TruthPose:
    stamp_ns: int
    pose: Pose


Event = Union[ImageMessage, OdometryMessage, BadOdometry, TruthPose]


@dataclass
class BagTopics:
    image: str
    odometry: str
    truth: Optional[str]
    notes: List[str] = field(default_factory=list)


def choose_topics(topics: Dict[str, str], image: Optional[str] = None, odometry: Optional[str] = None,
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
    """``with ReplaySource(bag) as source: for event in source.events(): ...``"""

    def __init__(self, path: Path, image: Optional[str] = None, odometry: Optional[str] = None,
                 truth: Optional[str] = None) -> None:
        self.path = Path(path)
        self._reader = BagReader(self.path)
        self._wanted = (image, odometry, truth)

    def __enter__(self) -> ReplaySource:
        self._reader.__enter__()
        try:
            self.topics = choose_topics(self._reader.topics, *self._wanted)
        except BagError:
            self._reader.__exit__()
            raise
        self.image_count = self._reader.message_counts.get(self.topics.image, 0)
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.__exit__()

    def extrinsic(self, base_frame: str = "base_link") -> Optional[Tuple[str, Pose]]:
        """base_frame -> camera frame from /tf_static, if the bag has it."""
        return self._reader.static_transform(base_frame)

    def events(self) -> Iterator[Event]:
        wanted = [t for t in (self.topics.image, self.topics.odometry, self.topics.truth) if t]
        for topic, _, msg in self._reader.messages(wanted):
            if topic == self.topics.image:
                yield ImageMessage(msg)
            elif topic == self.topics.odometry:
                try:
                    yield OdometryMessage(odometry_from_msg(msg))
                except ValueError as err:
                    yield BadOdometry(str(err))
            else:
                yield TruthPose(stamp_ns_of(msg), stamped_pose_from_msg(msg))
