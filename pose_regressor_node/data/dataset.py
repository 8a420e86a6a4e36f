"""A torch Dataset over ``Sample`` lists and a DataLoader that keeps the accelerator fed.

Decoding, resizing and augmentation happen in DataLoader worker processes; on CUDA the batches
are pinned and prefetched so that host-to-device copies overlap compute.
"""

from __future__ import annotations

import os
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import DatasetError
from ..metadata import PreprocessSpec
from .samples import Sample
from .transforms import EvalTransform

__all__ = ["PoseDataset", "make_loader", "eval_loader", "default_workers"]


def default_workers() -> int:
    """Worker processes for decoding: all cores but leave one for the training loop when possible."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cores - 1)) if cores > 2 else cores


class PoseDataset(Dataset):
    """Items: (image float32 CHW, xyz float32 (3,), quaternion wxyz float32 (4,), index)."""

    def __init__(self, samples: Sequence[Sample], transform: Callable[[np.ndarray], np.ndarray]) -> None:
        if not samples:
            raise DatasetError("empty dataset")
        self.samples: List[Sample] = list(samples)
        self.transform = transform
        self._xyz = torch.tensor(np.array([s.pose.position for s in self.samples]), dtype=torch.float32)
        self._quat = torch.tensor(np.array([s.pose.quaternion for s in self.samples]), dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        path = self.samples[index].image
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DatasetError(f"cannot decode image {path} (missing or corrupt)")
        image = self.transform(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return torch.from_numpy(image), self._xyz[index], self._quat[index], index


def make_loader(dataset: PoseDataset, batch_size: int, shuffle: bool, device: torch.device | str = "cpu",
                workers: Optional[int] = None, sampler: Optional[Sampler] = None, seed: int = 0,
                drop_last: bool = False) -> DataLoader:
    workers = default_workers() if workers is None else workers
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
        num_workers=workers, pin_memory=torch.device(device).type == "cuda",
        persistent_workers=workers > 0, prefetch_factor=4 if workers > 0 else None,
        generator=generator, drop_last=drop_last,
    )


def eval_loader(samples: Sequence[Sample], spec: PreprocessSpec, batch_size: int, device: torch.device | str = "cpu",
                workers: Optional[int] = None) -> DataLoader:
    """The frames in order, preprocessed as the model's engines will see them (no augmentation): what
    ``test`` and ``calibrate`` evaluate."""
    return make_loader(PoseDataset(samples, EvalTransform(spec)), batch_size, shuffle=False, device=device,
                       workers=workers)
