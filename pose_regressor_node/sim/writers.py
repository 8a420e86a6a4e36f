"""Write simulated drives as a 7-Scenes-style dataset or as a rosbag2 with every sensor topic."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Protocol, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from ..bags import FACTORY, TYPESTORE, BagWriter, compressed_image_msg, image_msg
from ..geometry import Pose
from .camera import PinholeCamera
from .drive import Drive
from .renderer import Renderer, RenderOptions
from .world import World

__all__ = ["write_7scenes", "write_rosbag2", "frame_options", "camera_info_msg", "FrameSource", "TOPICS"]

TOPICS = {
    "image": "/camera/image_raw",
    "compressed": "/camera/image_raw/compressed",
    "camera_info": "/camera/camera_info",
    "odom": "/odom",
    "ground_truth": "/ground_truth/pose",
    "tf": "/tf",
    "tf_static": "/tf_static",
}


class FrameSource(Protocol):
    """A drive or a set of coverage views: (stamp_ns, camera-to-map pose) per frame."""

    def frames(self) -> Iterator[Tuple[int, Pose]]: ...


SPLIT_FILES = {"train": "TrainSplit.txt", "val": "ValidationSplit.txt", "test": "TestSplit.txt"}


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


def frame_options(stamp_ns: int, realistic: bool) -> RenderOptions:
    """Slow auto-exposure drift, slight defocus and sensor noise, as a cheap camera shows."""
    if not realistic:
        return RenderOptions()
    t = stamp_ns * 1e-9
    return RenderOptions(exposure=1.0 + 0.12 * math.sin(0.4 * t) + 0.05 * math.sin(2.3 * t),
                         blur_sigma_px=0.6, noise_std=2.0)


class _FrameWriter:
    """Renders and writes one 7-Scenes frame; one per worker process (the renderer is built once there)."""

    def __init__(self, world: World, camera: PinholeCamera, realistic: bool, image_ext: str, seed: int) -> None:
        self.renderer = Renderer(world, camera)
        self.realistic, self.image_ext, self.seed = realistic, image_ext, seed

    def __call__(self, job: Tuple[str, int, int, int, np.ndarray]) -> None:
        folder, sequence, index, stamp_ns, matrix = job
        rng = np.random.default_rng([self.seed, sequence, index])  # the frame's own noise: any order gives the same pixels
        rgb = self.renderer.render(Pose.from_matrix(matrix), frame_options(stamp_ns, self.realistic), rng)
        stem = Path(folder) / f"frame-{index:06d}"
        cv2.imwrite(f"{stem}.color{self.image_ext}", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        np.savetxt(f"{stem}.pose.txt", matrix, fmt="%.9e", delimiter="\t")


_WORKER: Optional[_FrameWriter] = None


def _start_worker(*args) -> None:
    global _WORKER  # noqa: PLW0603 - one renderer per worker process, built once
    _WORKER = _FrameWriter(*args)


def _write_frame(job) -> None:
    if _WORKER is None:
        raise RuntimeError("frame writer process was not initialised")
    _WORKER(job)


def write_7scenes(out: Path, renderer: Renderer, drives: Mapping[str, Sequence[FrameSource]], realistic: bool = True,
                  image_ext: str = ".jpg", seed: int = 0, workers: Optional[int] = None) -> Path:
    """``out/seq-XX/frame-XXXXXX.{color.jpg,pose.txt}`` plus the split files (val is our addition).

    A split holds drives or coverage views (anything with ``name`` and ``frames()``). Frames render in
    ``workers`` processes (default: one per core); each frame's sensor noise is seeded by its sequence
    and index, so the output does not depend on the number of workers. Sequence numbers continue after
    the ``seq-XX`` folders already in ``out``, so splits written one call at a time never overwrite
    each other's frames.
    """
    out.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name[4:]) for p in out.glob("seq-*") if p.is_dir() and p.name[4:].isdigit()]
    sequence = max(existing, default=0)
    jobs: List[Tuple[str, int, int, int, np.ndarray]] = []
    names: Dict[str, List[str]] = {}
    for split, sources in drives.items():
        names[split] = []
        for source in sources:
            sequence += 1
            folder = out / f"seq-{sequence:02d}"
            folder.mkdir(exist_ok=True)
            names[split].append(f"sequence{sequence}")
            jobs += [(str(folder), sequence, i, stamp_ns, pose.as_matrix())
                     for i, (stamp_ns, pose) in enumerate(source.frames())]
    args = (renderer.world, renderer.camera, realistic, image_ext, seed)
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    progress = tqdm(total=len(jobs), desc=f"rendering {', '.join(drives)}", unit="frame")
    if workers <= 1:
        writer = _FrameWriter(*args)
        for job in jobs:
            writer(job)
            progress.update()
    else:
        with mp.get_context("spawn").Pool(workers, initializer=_start_worker, initargs=args) as pool:
            for _ in pool.imap_unordered(_write_frame, jobs, chunksize=8):
                progress.update()
    progress.close()
    for split, split_names in names.items():
        (out / SPLIT_FILES[split]).write_text("\n".join(split_names) + "\n")
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

