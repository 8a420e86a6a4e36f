"""Core types <-> ROS messages, for rclpy (the nodes) and rosbags (bags, replay) alike.

Both libraries' messages have the same field names, so reading is duck-typed and building goes
through a ``MessageFactory`` given a resolver from type name to class. The nodes and the bag
tools therefore share one conversion code path. No ROS import here (runs on Python 3.8).
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .geometry import Pose
from .measurements import OdometrySample, PoseEstimate

__all__ = [
    "MessageFactory",
    "rclpy_factory",
    "rclpy_message_class",
    "rosbags_typestore",
    "stamp_ns_of",
    "time_to_ns",
    "pose_from_msg",
    "stamped_pose_from_msg",
    "pose_estimate_from_msg",
    "odometry_from_msg",
    "transform_to_pose",
    "covariance_from_msg",
]


Vector = Union[Sequence[float], np.ndarray]


def time_to_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def stamp_ns_of(msg: Any) -> int:
    """Capture stamp of any message with a header."""
    return time_to_ns(msg.header.stamp)


def pose_from_msg(msg: Any) -> Pose:
    """geometry_msgs/Pose -> Pose; ValueError on NaN or a non-unit quaternion."""
    o = msg.orientation
    return Pose.checked([msg.position.x, msg.position.y, msg.position.z], [o.w, o.x, o.y, o.z])


def stamped_pose_from_msg(msg: Any) -> Pose:
    """The pose in a PoseStamped, PoseWithCovarianceStamped or Odometry message."""
    pose = msg.pose
    return pose_from_msg(pose.pose if hasattr(pose, "pose") else pose)


def covariance_from_msg(values: Sequence[float]) -> np.ndarray:
    cov = np.asarray(values, dtype=np.float64)
    if cov.size != 36:
        raise ValueError(f"covariance must have 36 values, got {cov.size}")
    return cov.reshape(6, 6)


def pose_estimate_from_msg(msg: Any) -> PoseEstimate:
    """PoseWithCovarianceStamped -> PoseEstimate (the stamp is the image's capture time)."""
    return PoseEstimate(stamp_ns_of(msg), pose_from_msg(msg.pose.pose), covariance_from_msg(msg.pose.covariance))


def odometry_from_msg(msg: Any) -> OdometrySample:
    """nav_msgs/Odometry -> OdometrySample; ValueError on NaN twist, bad quaternion or covariance."""
    t = msg.twist.twist
    twist = np.array([t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z], dtype=np.float64)
    if not np.all(np.isfinite(twist)):
        raise ValueError("odometry twist has NaN or inf")
    return OdometrySample(stamp_ns_of(msg), pose_from_msg(msg.pose.pose), twist,
                          covariance_from_msg(msg.pose.covariance), covariance_from_msg(msg.twist.covariance))


def transform_to_pose(transform: Any) -> Pose:
    t, q = transform.translation, transform.rotation
    return Pose.checked([t.x, t.y, t.z], [q.w, q.x, q.y, q.z])


class MessageFactory:
    """Builds geometry/nav/tf messages from core types with whichever message classes ``resolve`` gives."""

    def __init__(self, resolve: Callable[[str], Any]) -> None:
        self._resolve = resolve
        self._types: Dict[str, Any] = {}  # resolved once: the regressor builds a message per frame

    def _t(self, name: str) -> Any:
        if name not in self._types:
            self._types[name] = self._resolve(name)
        return self._types[name]

    def time(self, stamp_ns: int) -> Any:
        return self._t("builtin_interfaces/msg/Time")(sec=int(stamp_ns // 1_000_000_000),
                                                       nanosec=int(stamp_ns % 1_000_000_000))

    def header(self, stamp_ns: int, frame_id: str) -> Any:
        return self._t("std_msgs/msg/Header")(stamp=self.time(stamp_ns), frame_id=frame_id)

    def vector3(self, v: Vector) -> Any:
        return self._t("geometry_msgs/msg/Vector3")(x=float(v[0]), y=float(v[1]), z=float(v[2]))

    def quaternion(self, q: Vector) -> Any:
        return self._t("geometry_msgs/msg/Quaternion")(x=float(q[1]), y=float(q[2]), z=float(q[3]), w=float(q[0]))

    def pose(self, pose: Pose) -> Any:
        p = pose.position
        return self._t("geometry_msgs/msg/Pose")(
            position=self._t("geometry_msgs/msg/Point")(x=float(p[0]), y=float(p[1]), z=float(p[2])),
            orientation=self.quaternion(pose.quaternion))

    def pose_stamped(self, pose: Pose, stamp_ns: int, frame_id: str) -> Any:
        return self._t("geometry_msgs/msg/PoseStamped")(header=self.header(stamp_ns, frame_id), pose=self.pose(pose))

    def pose_with_covariance(self, pose: Pose, covariance: np.ndarray) -> Any:
        return self._t("geometry_msgs/msg/PoseWithCovariance")(
            pose=self.pose(pose), covariance=np.asarray(covariance, dtype=np.float64).reshape(36))

    def pose_with_covariance_stamped(self, pose: Pose, covariance: np.ndarray, stamp_ns: int, frame_id: str) -> Any:
        return self._t("geometry_msgs/msg/PoseWithCovarianceStamped")(
            header=self.header(stamp_ns, frame_id), pose=self.pose_with_covariance(pose, covariance))

    def odometry(self, stamp_ns: int, frame_id: str, child_frame_id: str, pose: Pose, pose_covariance: np.ndarray,
                 twist: Vector = (0.0,) * 6, twist_covariance: Optional[np.ndarray] = None) -> Any:
        twist_msg = self._t("geometry_msgs/msg/Twist")(linear=self.vector3(twist[:3]), angular=self.vector3(twist[3:]))
        twist_cov = np.eye(6) * 1e-3 if twist_covariance is None else np.asarray(twist_covariance, dtype=np.float64)
        return self._t("nav_msgs/msg/Odometry")(
            header=self.header(stamp_ns, frame_id), child_frame_id=child_frame_id,
            pose=self.pose_with_covariance(pose, pose_covariance),
            twist=self._t("geometry_msgs/msg/TwistWithCovariance")(twist=twist_msg, covariance=twist_cov.reshape(36)))

    def odometry_sample(self, sample: OdometrySample, frame_id: str = "odom", child_frame_id: str = "base_link") -> Any:
        return self.odometry(sample.stamp_ns, frame_id, child_frame_id, sample.pose, sample.pose_covariance,
                             sample.twist, sample.twist_covariance)

    def transform_stamped(self, stamp_ns: int, parent: str, child: str, pose: Pose) -> Any:
        return self._t("geometry_msgs/msg/TransformStamped")(
            header=self.header(stamp_ns, parent), child_frame_id=child,
            transform=self._t("geometry_msgs/msg/Transform")(translation=self.vector3(pose.position),
                                                             rotation=self.quaternion(pose.quaternion)))

    def tf_message(self, transforms: List[Tuple[int, str, str, Pose]]) -> Any:
        """tf2_msgs/TFMessage from (stamp_ns, parent, child, pose of child in parent)."""
        return self._t("tf2_msgs/msg/TFMessage")(transforms=[self.transform_stamped(*t) for t in transforms])


def rclpy_message_class(name: str) -> Any:
    """``pkg/msg/Name`` -> the rclpy message class (imported on first use)."""
    package, _, message = name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), message)


def rclpy_factory() -> MessageFactory:
    """Factory over the rclpy message classes (imported on first use)."""
    return MessageFactory(rclpy_message_class)


@functools.lru_cache(maxsize=None)
def rosbags_typestore() -> Any:
    """The one rosbags typestore (ROS 2 Jazzy definitions) for bags, replay and the node's CDR frames.

    Imported on first use: rosbags needs Python 3.10, the robot's modules import on 3.8.
    """
    from rosbags.typesys import Stores, get_typestore  # noqa: PLC0415

    return get_typestore(Stores.ROS2_JAZZY)
