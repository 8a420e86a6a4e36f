"""Write simulated drives as a 7-Scenes-style dataset or as a rosbag2 with every sensor topic."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Optional

import cv2
import numpy as np
from tqdm import tqdm

from ..bags import FACTORY, BagWriter, camera_info_msg, compressed_image_msg, image_msg
from .drive import Drive
from .renderer import Renderer, RenderOptions

__all__ = ["write_7scenes", "write_rosbag2", "frame_options", "TOPICS"]

TOPICS = {
    "image": "/camera/image_raw",
    "compressed": "/camera/image_raw/compressed",
    "camera_info": "/camera/camera_info",
    "odom": "/odom",
    "ground_truth": "/ground_truth/pose",
    "tf": "/tf",
    "tf_static": "/tf_static",
}
SPLIT_FILES = {"train": "TrainSplit.txt", "val": "ValidationSplit.txt", "test": "TestSplit.txt"}


def frame_options(stamp_ns: int, realistic: bool) -> RenderOptions:
    """Slow auto-exposure drift, slight defocus and sensor noise, as a cheap camera shows."""
    if not realistic:
        return RenderOptions()
    t = stamp_ns * 1e-9
    return RenderOptions(exposure=1.0 + 0.12 * math.sin(0.4 * t) + 0.05 * math.sin(2.3 * t),
                         blur_sigma_px=0.6, noise_std=2.0)


def write_7scenes(out: Path, renderer: Renderer, drives: Dict[str, List[Drive]], realistic: bool = True,
                  image_ext: str = ".jpg", seed: int = 0) -> Path:
    """``out/seq-XX/frame-XXXXXX.{color.jpg,pose.txt}`` plus the split files (val is our addition).

    Sequence numbers continue after the ``seq-XX`` folders already in ``out``, so splits written one
    call at a time into one folder never overwrite each other's frames.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    existing = [int(p.name[4:]) for p in out.glob("seq-*") if p.is_dir() and p.name[4:].isdigit()]
    sequence = max(existing, default=0)
    for split, split_drives in drives.items():
        names = []
        for drive in split_drives:
            sequence += 1
            folder = out / f"seq-{sequence:02d}"
            folder.mkdir(exist_ok=True)
            names.append(f"sequence{sequence}")
            for i, (stamp_ns, cam_pose) in enumerate(tqdm(list(drive.frames()), desc=f"{split} {drive.name}",
                                                         unit="frame", leave=False)):
                rgb = renderer.render(cam_pose, frame_options(stamp_ns, realistic), rng)
                cv2.imwrite(str(folder / f"frame-{i:06d}.color{image_ext}"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                np.savetxt(folder / f"frame-{i:06d}.pose.txt", cam_pose.as_matrix(), fmt="%.9e", delimiter="\t")
        (out / SPLIT_FILES[split]).write_text("\n".join(names) + "\n")
    return out


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

