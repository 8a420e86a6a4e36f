"""Write a simulated drive as a rosbag2 with every sensor topic: camera (raw or JPEG), camera_info,
odometry, ground truth, /tf (odom -> base_link) and /tf_static (base_link -> camera)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from tqdm import tqdm

from ..bags import FACTORY, TYPESTORE, BagWriter, compressed_image_msg, image_msg
from .camera import PinholeCamera
from .drive import Drive
from .renderer import Renderer, frame_options

__all__ = ["write_rosbag2", "camera_info_msg", "TOPICS"]

TOPICS = {
    "image": "/camera/image_raw",
    "compressed": "/camera/image_raw/compressed",
    "camera_info": "/camera/camera_info",
    "odom": "/odom",
    "ground_truth": "/ground_truth/pose",
    "tf": "/tf",
    "tf_static": "/tf_static",
}



def camera_info_msg(camera: PinholeCamera, stamp_ns: int, frame_id: str) -> Any:
    """sensor_msgs/CameraInfo of the simulated pinhole camera (no distortion)."""
    k = camera.k
    p = np.zeros((3, 4))
    p[:, :3] = k
    return TYPESTORE.types["sensor_msgs/msg/CameraInfo"](
        header=FACTORY.header(stamp_ns, frame_id), height=camera.height, width=camera.width,
        distortion_model="plumb_bob", d=np.zeros(5), k=k.reshape(-1), r=np.eye(3).reshape(-1),
        p=p.reshape(-1), binning_x=0, binning_y=0,
        roi=TYPESTORE.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )



def write_rosbag2(path: Path, renderer: Renderer, drive: Drive, storage: str = "sqlite3", compressed: bool = False,
                  realistic: bool = True, seed: int = 0, camera_frame: str = "camera_optical_frame",
                  max_frames: Optional[int] = None) -> Path:
    """One drive as a bag: camera, camera_info, odom, ground truth, /tf (odom->base_link), /tf_static."""
    rng = np.random.default_rng(seed)
    frames = list(drive.frames())[:max_frames]
    last_ns = frames[-1][0] if frames else int(drive.truth.stamps_ns[-1])
    frame_at = {stamp: pose for stamp, pose in frames}
    with BagWriter(path, storage) as bag:
        start = int(drive.truth.stamps_ns[0])
        static = FACTORY.tf_message([(start, "base_link", camera_frame, drive.extrinsic)])
        bag.write(TOPICS["tf_static"], start, static)
        for k, odom in enumerate(tqdm(drive.odometry, desc=f"bag {drive.name}", unit="odom", leave=False)):
            stamp = odom.stamp_ns
            if stamp > last_ns:
                break
            bag.write(TOPICS["odom"], stamp, FACTORY.odometry_sample(odom))
            bag.write(TOPICS["tf"], stamp, FACTORY.tf_message([(stamp, "odom", "base_link", odom.pose)]))
            bag.write(TOPICS["ground_truth"], stamp, FACTORY.pose_stamped(drive.truth.pose(k), stamp, "map"))
            if stamp in frame_at:
                rgb = renderer.render(frame_at[stamp], frame_options(stamp, realistic), rng)
                if compressed:
                    bag.write(TOPICS["compressed"], stamp, compressed_image_msg(rgb, stamp, camera_frame))
                else:
                    bag.write(TOPICS["image"], stamp, image_msg(rgb, stamp, camera_frame))
                bag.write(TOPICS["camera_info"], stamp, camera_info_msg(drive.camera, stamp, camera_frame))
    return path
