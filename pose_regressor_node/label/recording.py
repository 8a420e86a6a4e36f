"""What ``label`` needs from each recorded drive: frame stamps, odometry, camera_info and the
base_link -> camera extrinsic, read in a first pass; then the chosen keyframes decoded and written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Sequence

import cv2
from tqdm import tqdm

from ..bags import BagReader, find_topic
from ..errors import BagError
from ..geometry import Pose
from ..images import IMAGE_TYPES, ImageDecodeError, decode_image
from ..measurements import OdometrySample
from ..messages import odometry_from_msg, stamp_ns_of

__all__ = ["RecordedDrive", "read_drive", "write_keyframes", "ODOMETRY_TYPE", "CAMERA_INFO_TYPE"]

ODOMETRY_TYPE = "nav_msgs/msg/Odometry"
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"


@dataclass
class RecordedDrive:
    bag: Path
    name: str
    split: str
    image_topic: str
    camera_frame: str
    stamps_ns: List[int]
    odometry: List[OdometrySample]
    camera_info: Any
    extrinsic: Optional[Pose]  # base_link -> camera from /tf_static, if the bag has it
    keyframes: List[int] = field(default_factory=list)  # indices into stamps_ns
    names: List[str] = field(default_factory=list)  # image names (relative to the image folder) of the keyframes


def read_drive(bag: Path, split: str, image_topic: Optional[str] = None, odom_topic: Optional[str] = None,
               base_frame: str = "base_link", progress: bool = True) -> RecordedDrive:
    with BagReader(bag) as reader:
        topics = reader.topics
        image = find_topic(topics, IMAGE_TYPES, image_topic, role="images")
        odom = find_topic(topics, (ODOMETRY_TYPE,), odom_topic, role="odometry")
        info = find_topic(topics, (CAMERA_INFO_TYPE,), None, role="camera calibration")
        if image is None or odom is None or info is None:
            missing = [what for what, topic in (("an Image or CompressedImage", image), ("a nav_msgs/Odometry", odom),
                                                ("a sensor_msgs/CameraInfo", info)) if topic is None]
            raise BagError(f"{bag} has no {' and no '.join(missing)} topic (topics: {sorted(topics)}); label needs "
                           "the camera, its calibration and wheel odometry")
        stamps: List[int] = []
        odometry: List[OdometrySample] = []
        camera_info, camera_frame = None, ""
        total = sum(n for t, n in reader.message_counts.items() if t in (image, odom, info))
        for topic, _, msg in tqdm(reader.messages([image, odom, info]), total=total, unit="msg",
                                  desc=f"reading {bag.name}", disable=not progress, leave=False):
            if topic == image:
                stamps.append(stamp_ns_of(msg))
                camera_frame = camera_frame or str(msg.header.frame_id)
            elif topic == odom:
                try:
                    odometry.append(odometry_from_msg(msg))
                except ValueError:
                    continue  # a NaN or broken sample: the keyframe choice interpolates over it
            elif camera_info is None:
                camera_info = msg
        found = reader.static_transform(base_frame, camera_frame or None)
    if not stamps or not odometry:
        raise BagError(f"{bag}: {len(stamps)} frames and {len(odometry)} usable odometry samples; both are needed")
    odometry.sort(key=lambda o: o.stamp_ns)
    order = sorted(range(len(stamps)), key=stamps.__getitem__)
    return RecordedDrive(bag, bag.stem, split, image, camera_frame, [stamps[i] for i in order], odometry, camera_info,
                         found[1] if found else None)


def write_keyframes(drive: RecordedDrive, image_dir: Path, progress: bool = True) -> List[str]:
    """Decode the keyframes and write them as PNG named by capture stamp (ns) under ``image_dir/<drive>/``;
    returns their names relative to ``image_dir`` (undecodable frames are left out)."""
    wanted = {drive.stamps_ns[i] for i in drive.keyframes}
    folder = image_dir / drive.name
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    with BagReader(drive.bag) as reader:
        bar = tqdm(total=len(wanted), unit="frame", desc=f"keyframes of {drive.name}", disable=not progress,
                   leave=False)
        for _, _, msg in reader.messages([drive.image_topic]):
            stamp = stamp_ns_of(msg)
            if stamp not in wanted:
                continue
            try:
                rgb = decode_image(msg)
            except ImageDecodeError:
                continue
            cv2.imwrite(str(folder / f"{stamp}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            names.append(f"{drive.name}/{stamp}.png")
            bar.update()
        bar.close()
    return sorted(names)


def stamps_of(names: Sequence[str]) -> List[int]:
    return [int(Path(n).stem) for n in names]
