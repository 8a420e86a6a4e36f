"""Core types <-> ``rosbags`` message objects (ROS 2 Jazzy definitions)."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

import cv2
import numpy as np
from rosbags.typesys import Stores, get_typestore

from ..geometry import Pose
from ..measurements import OdometrySample
from ..sim.camera import PinholeCamera

__all__ = [
    "TYPESTORE",
    "header",
    "image_msg",
    "compressed_image_msg",
    "camera_info_msg",
    "odometry_msg",
    "odometry_from_msg",
    "pose_stamped_msg",
    "pose_with_covariance_msg",
    "pose_from_msg",
    "tf_message",
    "stamp_ns_of",
]

TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
_T = TYPESTORE.types


def _time(stamp_ns: int) -> Any:
    return _T["builtin_interfaces/msg/Time"](sec=int(stamp_ns // 10**9), nanosec=int(stamp_ns % 10**9))


def stamp_ns_of(msg: Any) -> int:
    """Capture stamp of any message with a header."""
    return int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)


def header(stamp_ns: int, frame_id: str) -> Any:
    return _T["std_msgs/msg/Header"](stamp=_time(stamp_ns), frame_id=frame_id)


def _geometry_pose(pose: Pose) -> Any:
    p, q = pose.position, pose.quaternion
    return _T["geometry_msgs/msg/Pose"](
        position=_T["geometry_msgs/msg/Point"](x=float(p[0]), y=float(p[1]), z=float(p[2])),
        orientation=_T["geometry_msgs/msg/Quaternion"](x=float(q[1]), y=float(q[2]), z=float(q[3]), w=float(q[0])),
    )


def pose_from_msg(msg: Any) -> Pose:
    """geometry_msgs/Pose -> Pose; rejects NaN and non-unit quaternions (ValueError)."""
    o = msg.orientation
    return Pose.checked([msg.position.x, msg.position.y, msg.position.z], [o.w, o.x, o.y, o.z])


def image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str) -> Any:
    h, w = rgb.shape[:2]
    return _T["sensor_msgs/msg/Image"](
        header=header(stamp_ns, frame_id), height=h, width=w, encoding="rgb8", is_bigendian=0,
        step=w * 3, data=np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1),
    )


def compressed_image_msg(rgb: np.ndarray, stamp_ns: int, frame_id: str, quality: int = 90) -> Any:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return _T["sensor_msgs/msg/CompressedImage"](header=header(stamp_ns, frame_id), format="jpeg",
                                                 data=buf.reshape(-1).astype(np.uint8))


def camera_info_msg(camera: PinholeCamera, stamp_ns: int, frame_id: str) -> Any:
    k = camera.k
    p = np.zeros((3, 4))
    p[:, :3] = k
    return _T["sensor_msgs/msg/CameraInfo"](
        header=header(stamp_ns, frame_id), height=camera.height, width=camera.width,
        distortion_model="plumb_bob", d=np.zeros(5), k=k.reshape(-1), r=np.eye(3).reshape(-1),
        p=p.reshape(-1), binning_x=0, binning_y=0,
        roi=_T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )


def odometry_msg(sample: OdometrySample, frame_id: str = "odom", child_frame_id: str = "base_link") -> Any:
    t = sample.twist
    twist = _T["geometry_msgs/msg/Twist"](
        linear=_T["geometry_msgs/msg/Vector3"](x=float(t[0]), y=float(t[1]), z=float(t[2])),
        angular=_T["geometry_msgs/msg/Vector3"](x=float(t[3]), y=float(t[4]), z=float(t[5])),
    )
    return _T["nav_msgs/msg/Odometry"](
        header=header(sample.stamp_ns, frame_id), child_frame_id=child_frame_id,
        pose=_T["geometry_msgs/msg/PoseWithCovariance"](pose=_geometry_pose(sample.pose),
                                                         covariance=sample.pose_covariance.reshape(-1)),
        twist=_T["geometry_msgs/msg/TwistWithCovariance"](twist=twist, covariance=sample.twist_covariance.reshape(-1)),
    )


def odometry_from_msg(msg: Any) -> OdometrySample:
    """nav_msgs/Odometry -> OdometrySample; ValueError on NaN, bad quaternion or bad covariance."""
    t = msg.twist.twist
    twist = np.array([t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z], float)
    if not np.all(np.isfinite(twist)):
        raise ValueError("odometry twist has NaN or inf")
    return OdometrySample(stamp_ns_of(msg), pose_from_msg(msg.pose.pose), twist,
                          np.asarray(msg.pose.covariance, float), np.asarray(msg.twist.covariance, float))


def pose_stamped_msg(pose: Pose, stamp_ns: int, frame_id: str) -> Any:
    return _T["geometry_msgs/msg/PoseStamped"](header=header(stamp_ns, frame_id), pose=_geometry_pose(pose))


def pose_with_covariance_msg(pose: Pose, covariance: np.ndarray, stamp_ns: int, frame_id: str) -> Any:
    return _T["geometry_msgs/msg/PoseWithCovarianceStamped"](
        header=header(stamp_ns, frame_id),
        pose=_T["geometry_msgs/msg/PoseWithCovariance"](pose=_geometry_pose(pose),
                                                         covariance=np.asarray(covariance, float).reshape(-1)),
    )


def tf_message(transforms: List[Tuple[int, str, str, Pose]]) -> Any:
    """tf2_msgs/TFMessage from (stamp_ns, parent, child, pose of child in parent)."""
    items: List[Any] = []
    for stamp_ns, parent, child, pose in transforms:
        p, q = pose.position, pose.quaternion
        items.append(_T["geometry_msgs/msg/TransformStamped"](
            header=header(stamp_ns, parent), child_frame_id=child,
            transform=_T["geometry_msgs/msg/Transform"](
                translation=_T["geometry_msgs/msg/Vector3"](x=float(p[0]), y=float(p[1]), z=float(p[2])),
                rotation=_T["geometry_msgs/msg/Quaternion"](x=float(q[1]), y=float(q[2]), z=float(q[3]), w=float(q[0])),
            ),
        ))
    return _T["tf2_msgs/msg/TFMessage"](transforms=items)


def transform_to_pose(transform: Any) -> Pose:
    t, q = transform.translation, transform.rotation
    return Pose.checked([t.x, t.y, t.z], [q.w, q.x, q.y, q.z])


def optional_frame(msg: Any) -> Optional[str]:
    return getattr(getattr(msg, "header", None), "frame_id", None)
