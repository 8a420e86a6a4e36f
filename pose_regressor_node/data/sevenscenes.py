"""Microsoft 7-Scenes layout: ``{Train,Test}Split.txt`` naming ``sequenceN`` -> ``seq-0N/``,
``frame-XXXXXX.color.png`` (or ``.jpg``) and ``frame-XXXXXX.pose.txt`` (4x4 camera-to-world).

``ValidationSplit.txt`` is this project's addition (the simulator writes it); without it the
validation split is the last training sequence, never a test sequence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import numpy as np

from ..errors import DatasetError
from ..geometry import Pose
from .samples import Sample

__all__ = ["read_7scenes", "read_pose_txt", "sequences_of_split"]

SPLIT_FILES = {"train": "TrainSplit.txt", "val": "ValidationSplit.txt", "test": "TestSplit.txt"}


def read_pose_txt(path: Path) -> Pose:
    try:
        matrix = np.loadtxt(path, dtype=np.float64)
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: cannot read a 4x4 pose matrix ({err})") from err
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
        raise DatasetError(f"{path}: expected a finite 4x4 matrix, got shape {matrix.shape}")
    return Pose.from_matrix(matrix)


def _split_names(root: Path, split: str) -> List[str]:
    path = root / SPLIT_FILES[split]
    if not path.is_file():
        raise DatasetError(f"{path} not found; is {root} a 7-Scenes scene folder?")
    names = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = re.fullmatch(r"sequence(\d+)", line)
        if not match:
            raise DatasetError(f"{path}:{number}: expected 'sequenceN', got {line!r}")
        names.append(f"seq-{int(match.group(1)):02d}")
    return names


def sequences_of_split(root: Path, split: str) -> List[str]:
    if split not in SPLIT_FILES:
        raise DatasetError(f"unknown split {split!r}; choose train, val or test")
    if split == "val" and not (root / SPLIT_FILES["val"]).is_file():
        return _split_names(root, "train")[-1:]
    names = _split_names(root, split)
    if split == "train" and not (root / SPLIT_FILES["val"]).is_file():
        names = names[:-1] or names  # the last training sequence is held out for validation
    return names


def read_7scenes(root: Path, split: str) -> List[Sample]:
    root = Path(root)
    samples: List[Sample] = []
    for seq in sequences_of_split(root, split):
        folder = root / seq
        if not folder.is_dir():
            raise DatasetError(f"{folder} listed in the {split} split but missing")
        for pose_file in sorted(folder.glob("frame-*.pose.txt")):
            stem = pose_file.name[: -len(".pose.txt")]
            image = next((folder / f"{stem}.color{ext}" for ext in (".png", ".jpg")
                          if (folder / f"{stem}.color{ext}").is_file()), None)
            if image is None:
                raise DatasetError(f"{folder / stem}.color.png (or .jpg) missing for {pose_file}")
            samples.append(Sample(image, read_pose_txt(pose_file)))
    if not samples:
        raise DatasetError(f"no frames found for split {split} under {root}")
    return samples
