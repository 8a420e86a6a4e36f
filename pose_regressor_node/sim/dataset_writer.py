"""Write simulated drives (and coverage views) as a 7-Scenes-style dataset: one folder per sequence,
``frame-XXXXXX.color.jpg`` and ``frame-XXXXXX.pose.txt`` (camera-to-world), and the split files."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Protocol, Sequence, Tuple, Union

import cv2
import numpy as np
from tqdm import tqdm

from ..geometry import Pose
from .camera import PinholeCamera
from .renderer import Renderer, frame_options
from .world import World

__all__ = ["write_7scenes", "FrameSource", "SPLIT_FILES"]


class FrameSource(Protocol):
    """A drive or a set of coverage views: (stamp_ns, camera-to-map pose) per frame."""

    def frames(self) -> Iterator[Tuple[int, Pose]]: ...



SPLIT_FILES = {"train": "TrainSplit.txt", "val": "ValidationSplit.txt", "test": "TestSplit.txt"}



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
    cv2.setNumThreads(1)  # the pool is the parallelism: OpenCV's own threads per worker only oversubscribe the cores
    _WORKER = _FrameWriter(*args)


def _write_frame(job) -> None:
    if _WORKER is None:
        raise RuntimeError("frame writer process was not initialised")
    _WORKER(job)


def write_7scenes(out: Path, renderer: Renderer,
                  drives: Union[Mapping[str, Sequence[FrameSource]], Sequence[Tuple[str, FrameSource]]],
                  realistic: bool = True, image_ext: str = ".jpg", seed: int = 0, workers: Optional[int] = None) -> Path:
    """``out/seq-XX/frame-XXXXXX.{color.jpg,pose.txt}`` plus the split files (val is our addition).

    ``drives``: split -> sources, or (split, source) pairs in the order their sequences are numbered;
    a source is a drive or coverage views (anything with ``frames()``). Frames render in ``workers``
    processes (default: one per core); each frame's sensor noise is seeded by its sequence and index,
    so the output does not depend on the number of workers. Sequence numbers continue after the
    ``seq-XX`` folders already in ``out``, so splits written one call at a time never overwrite each
    other's frames.
    """
    out.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name[4:]) for p in out.glob("seq-*") if p.is_dir() and p.name[4:].isdigit()]
    sequence = max(existing, default=0)
    pairs = [(split, source) for split, sources in drives.items() for source in sources] \
        if isinstance(drives, Mapping) else list(drives)
    jobs: List[Tuple[str, int, int, int, np.ndarray]] = []
    names: Dict[str, List[str]] = {}
    for split, source in pairs:
        sequence += 1
        folder = out / f"seq-{sequence:02d}"
        folder.mkdir(exist_ok=True)
        names.setdefault(split, []).append(f"sequence{sequence}")
        jobs += [(str(folder), sequence, i, stamp_ns, pose.as_matrix())
                 for i, (stamp_ns, pose) in enumerate(source.frames())]
    args = (renderer.world, renderer.camera, realistic, image_ext, seed)
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    progress = tqdm(total=len(jobs), desc=f"rendering {', '.join(names)}", unit="frame")
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
