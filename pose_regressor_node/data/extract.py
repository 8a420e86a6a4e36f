"""Bag -> training dataset: frames of an image topic paired with ground truth by stamp.

Ground truth comes from a pose topic (PoseStamped, PoseWithCovarianceStamped or Odometry) or
from one TF edge; association is nearest-stamp within an explicit ``max_diff``. Poses are of the
robot (or camera) frame; the base->camera extrinsic from ``/tf_static`` (or given) turns them
into camera-to-world poses.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import cv2

from ..bags import BagReader, find_topic
from ..errors import BagError
from ..geometry import Pose
from ..images import IMAGE_TYPES, ImageDecodeError, decode_image
from ..messages import stamp_ns_of, stamped_pose_from_msg, transform_to_pose
from .folder import write_folder_split
from .samples import Sample

__all__ = ["ExtractReport", "extract_dataset", "IMAGE_TYPES", "POSE_TYPES", "associate"]

POSE_TYPES = ("geometry_msgs/msg/PoseStamped", "geometry_msgs/msg/PoseWithCovarianceStamped",
              "nav_msgs/msg/Odometry")


@dataclass
class ExtractReport:
    image_topic: str
    pose_source: str
    frames: int
    written: int
    unmatched: int
    undecodable: int
    path: Path


def associate(stamps: List[int], stamp: int, max_diff_ns: int) -> Optional[int]:
    """Index of the nearest stamp within ``max_diff_ns`` of ``stamp`` (stamps sorted), else None."""
    i = bisect.bisect_left(stamps, stamp)
    best = min((j for j in (i - 1, i) if 0 <= j < len(stamps)), key=lambda j: abs(stamps[j] - stamp), default=None)
    return best if best is not None and abs(stamps[best] - stamp) <= max_diff_ns else None


def extract_dataset(bag: Path, out: Path, split: str = "train", image_topic: Optional[str] = None,
                    pose_topic: Optional[str] = None, tf_edge: Optional[Tuple[str, str]] = None,
                    max_diff_s: float = 0.02, extrinsic: Optional[Pose] = None, append: bool = False,
                    every: int = 1) -> ExtractReport:
    out = Path(out)
    with BagReader(bag) as reader:
        topics = reader.topics
        image_topic = find_topic(topics, IMAGE_TYPES, image_topic, role="images")
        if image_topic is None:
            raise BagError(f"{bag} has no Image or CompressedImage topic; topics: {topics}")
        if tf_edge is None:
            pose_topic = find_topic(topics, POSE_TYPES, pose_topic, role="ground truth")
            if pose_topic is None:
                raise BagError(f"{bag} has no ground-truth pose topic ({', '.join(POSE_TYPES)}); "
                               "pass --pose-topic or --tf PARENT CHILD")
            truth = [(stamp_ns_of(m), stamped_pose_from_msg(m)) for _, _, m in reader.messages([pose_topic])]
            source = pose_topic
            robot_frame = None
        else:
            parent, child = tf_edge
            truth = [(stamp_ns_of(t), transform_to_pose(t.transform)) for _, _, m in reader.messages(["/tf"])
                     for t in m.transforms if t.header.frame_id == parent and t.child_frame_id == child]
            source, robot_frame = f"/tf {parent}->{child}", child
        truth.sort(key=lambda item: item[0])
        stamps = [s for s, _ in truth]
        frames, undecodable, unmatched = 0, 0, 0
        samples: List[Sample] = []
        image_dir = out / "images" / Path(bag).stem
        image_dir.mkdir(parents=True, exist_ok=True)
        for _, _, msg in reader.messages([image_topic]):
            frames += 1
            if (frames - 1) % every:
                continue
            stamp = stamp_ns_of(msg)
            match = associate(stamps, stamp, int(max_diff_s * 1e9))
            if match is None:
                unmatched += 1
                continue
            if extrinsic is None:
                found = reader.static_transform(robot_frame or "base_link", msg.header.frame_id)
                extrinsic = found[1] if found else Pose()
            try:
                rgb = decode_image(msg)
            except ImageDecodeError:
                undecodable += 1
                continue
            path = image_dir / f"{stamp}.png"
            cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            samples.append(Sample(path.relative_to(out), truth[match][1] @ extrinsic))
    if not samples:
        raise BagError(f"no frame of {image_topic} has ground truth within {max_diff_s} s on {source}")
    written = write_folder_split(out, split, samples, append=append)
    return ExtractReport(image_topic, source, frames, len(samples), unmatched, undecodable, written)
