"""Cambridge Landmarks: ``dataset_{train,test}.txt``, three header lines, then
``path X Y Z W P Q R``.

X Y Z is the camera centre in world coordinates; W P Q R is the (VisualSFM) world-to-camera
rotation, so the camera-to-world quaternion is its conjugate.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np

from ..errors import DatasetError
from ..geometry import Pose, quat_conjugate
from .samples import Sample

__all__ = ["read_cambridge", "parse_cambridge_file"]

HEADER_LINES = 3


def parse_cambridge_file(path: Path, root: Path) -> List[Sample]:
    if not path.is_file():
        raise DatasetError(f"{path} not found; is {root} a Cambridge Landmarks scene folder?")
    samples: List[Sample] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if number <= HEADER_LINES or not line.strip():
            continue
        fields = line.split()
        if len(fields) != 8:
            raise DatasetError(f"{path}:{number}: expected 'path X Y Z W P Q R', got {line!r}")
        try:
            values = np.array([float(v) for v in fields[1:]])
            pose = Pose(values[:3], quat_conjugate(values[3:] / np.linalg.norm(values[3:])))
        except ValueError as err:
            raise DatasetError(f"{path}:{number}: {err}") from err
        image = root / fields[0]
        if not image.is_file():
            raise DatasetError(f"{path}:{number}: image {image} missing")
        samples.append(Sample(image, pose))
    return samples


def read_cambridge(root: Path, split: str) -> List[Sample]:
    """Cambridge has no validation split: it is every 10th training frame, removed from train."""
    root = Path(root)
    if split == "test":
        return parse_cambridge_file(root / "dataset_test.txt", root)
    train = parse_cambridge_file(root / "dataset_train.txt", root)
    if split == "val":
        return train[::10]
    if split == "train":
        return [s for i, s in enumerate(train) if i % 10 != 0]
    raise DatasetError(f"unknown split {split!r}; choose train, val or test")
