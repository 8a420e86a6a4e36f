"""Dataset readers (7-Scenes, Cambridge Landmarks, this project's folder format, bags) and loading."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List

from ..errors import DatasetError
from .cambridge import read_cambridge
from .folder import read_folder, write_folder_split
from .samples import Sample, scene_extent
from .sevenscenes import read_7scenes

__all__ = ["READERS", "Sample", "load_samples", "read_7scenes", "read_cambridge", "read_folder",
           "scene_extent", "write_folder_split"]

READERS: Dict[str, Callable[[Path, str], List[Sample]]] = {
    "7scenes": read_7scenes,
    "cambridge": read_cambridge,
    "folder": read_folder,
}


def load_samples(dataset: str, root: Path, split: str) -> List[Sample]:
    if dataset not in READERS:
        raise DatasetError(f"unknown dataset type {dataset!r}; choose one of {', '.join(READERS)}")
    if not Path(root).is_dir():
        raise DatasetError(f"dataset folder {root} not found")
    return READERS[dataset](Path(root), split)
