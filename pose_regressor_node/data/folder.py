"""This project's plain dataset format (what ``extract`` writes from bags):
``dataset_{train,val,test}.txt`` with lines ``relative/path.png x y z qw qx qy qz``
(camera-to-world, metres); ``#`` starts a comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

from ..errors import DatasetError
from .samples import Sample, parse_pose_fields

__all__ = ["read_folder", "write_folder_split"]


def read_folder(root: Path, split: str) -> List[Sample]:
    root = Path(root)
    path = root / f"dataset_{split}.txt"
    if not path.is_file():
        raise DatasetError(f"{path} not found; write it with `python -m pose_regressor_node extract`")
    samples: List[Sample] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        try:
            pose = parse_pose_fields(fields[1:], f"{path}:{number}")
        except ValueError as err:
            raise DatasetError(str(err)) from err
        image = root / fields[0]
        if not image.is_file():
            raise DatasetError(f"{path}:{number}: image {image} missing")
        samples.append(Sample(image, pose))
    if not samples:
        raise DatasetError(f"{path} lists no frames")
    return samples


def write_folder_split(root: Path, split: str, samples: Sequence[Sample], append: bool = False) -> Path:
    path = Path(root) / f"dataset_{split}.txt"
    lines = []
    for s in samples:
        p, q = s.pose.position, s.pose.quaternion
        rel = s.image.relative_to(root) if s.image.is_absolute() else s.image
        lines.append(f"{rel} " + " ".join(f"{v:.9f}" for v in (*p, *q)))
    with open(path, "a" if append else "w") as f:
        if not append:
            f.write("# image x y z qw qx qy qz (camera-to-world)\n")
        f.write("\n".join(lines) + "\n")
    return path
