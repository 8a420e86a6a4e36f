"""Frames decoded and resized once, into a uint8 memmap on disk, for training.

Decoding a 640x480 JPEG and resizing it costs about as much as a ResNet18 train step on a small
input; done per sample and per epoch it took two thirds of this 2-core machine (52 images/s
against 160 for the bare step at 64 px). The cache does that work once: each frame's centre
region, as ``Preprocess`` would crop it, plus ``margin`` pixels on every side for random crops,
stored as RGB uint8. Augmentation (random crop inside the margin, colour jitter, normalisation)
then runs on whole batches of those small arrays in the training process (``augment``). On a GPU
machine this keeps the GPU fed; here it keeps both cores on the model.

The file name is a hash of the image files (path, size, mtime), the preprocessing and the margin,
so a changed dataset or input size builds a new cache and a stale one is never read. It is written
to a temporary name and renamed when complete: an interrupted build leaves nothing to reuse.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from ..errors import DatasetError
from ..inference.preprocess import Preprocess
from ..metadata import PreprocessSpec
from .samples import Sample

__all__ = ["FrameCache", "CachedPoseDataset", "ColorJitter", "augment", "cached_loader", "CACHE_VERSION"]

CACHE_VERSION = 1


def _key(samples: Sequence[Sample], spec: PreprocessSpec, margin: int) -> str:
    h = hashlib.sha256(json.dumps({"version": CACHE_VERSION, "resize": spec.resize, "crop": spec.crop,
                                   "margin": margin}).encode())
    for s in samples:
        st = os.stat(s.image)
        h.update(f"{Path(s.image).resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


class _Cropper:
    """Decode + centre region + resize of one image; picklable, so a process pool can run it."""

    def __init__(self, spec: PreprocessSpec, margin: int) -> None:
        side = spec.crop + 2 * margin
        # The region Preprocess crops, widened by the margin: the same geometry at a larger output size.
        self._region = Preprocess(PreprocessSpec(spec.resize, side, spec.mean, spec.std))

    def __call__(self, path: str) -> np.ndarray:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise DatasetError(f"cannot decode image {path} (missing or corrupt)")
        region = self._region.crop(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _cv_one_thread() -> None:
    cv2.setNumThreads(1)


@dataclass
class FrameCache:
    """``images``: (N, crop + 2 margin, crop + 2 margin, 3) RGB uint8, memory-mapped, in sample order."""

    path: Path
    images: np.ndarray
    spec: PreprocessSpec
    margin: int

    @classmethod
    def build(cls, samples: Sequence[Sample], spec: PreprocessSpec, margin: int, directory: Path,
              workers: Optional[int] = None, progress: bool = True) -> FrameCache:
        """Open the cache for these samples, building it first if it does not exist yet."""
        if margin < 0 or spec.crop + 2 * margin > spec.resize:
            raise DatasetError(f"a crop margin of {margin} px needs resize >= crop + 2 * margin "
                               f"(resize {spec.resize}, crop {spec.crop}); lower the margin or raise --resize")
        if not samples:
            raise DatasetError("cannot cache an empty dataset")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"frames-{_key(samples, spec, margin)}.npy"
        if not path.exists():
            cls._write(path, samples, spec, margin, workers, progress)
        images = np.load(path, mmap_mode="r")
        side = spec.crop + 2 * margin
        if images.shape != (len(samples), side, side, 3) or images.dtype != np.uint8:
            raise DatasetError(f"frame cache {path} has shape {images.shape}, expected "
                               f"{(len(samples), side, side, 3)}; delete it and run again")
        return cls(path, images, spec, margin)

    @staticmethod
    def _write(path: Path, samples: Sequence[Sample], spec: PreprocessSpec, margin: int, workers: Optional[int],
               progress: bool) -> None:
        side = spec.crop + 2 * margin
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(samples), side, side, 3))
        cropper = _Cropper(spec, margin)
        paths = [str(s.image) for s in samples]
        workers = max(1, min(os.cpu_count() or 1 if workers is None else workers, len(paths)))
        bar = tqdm(total=len(paths), desc=f"caching frames at {side} px", unit="frame", disable=not progress)
        try:
            if workers == 1:
                for i, p in enumerate(paths):
                    out[i] = cropper(p)
                    bar.update()
            else:
                with mp.get_context("spawn").Pool(workers, initializer=_cv_one_thread) as pool:
                    for i, region in enumerate(pool.imap(cropper, paths, chunksize=16)):
                        out[i] = region
                        bar.update()
            out.flush()
            del out
            os.replace(tmp, path)
        finally:
            bar.close()
            if tmp.exists():
                tmp.unlink()


@dataclass(frozen=True)
class ColorJitter:
    """Random brightness, contrast and saturation factors in [1 - x, 1 + x], per image."""

    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3


def augment(images: torch.Tensor, crop: int, jitter: Optional[ColorJitter], generator: torch.Generator) -> torch.Tensor:
    """(B, S, S, 3) uint8 -> (B, S', S', 3) float 0..255: a random ``crop`` window (the centre one if
    ``jitter`` is None, as at evaluation) and colour jitter. Photometric changes and the small crop
    shift only: nothing that would make an image disagree with its pose label."""
    batch, side = images.shape[0], images.shape[1]
    if jitter is None or side == crop:
        start = (side - crop) // 2
        return images[:, start:start + crop, start:start + crop].float()
    offsets = torch.randint(0, side - crop + 1, (batch, 2), generator=generator).tolist()
    out = torch.stack([images[i, r:r + crop, c:c + crop] for i, (r, c) in enumerate(offsets)]).float()
    factors = 1.0 + (torch.rand(batch, 3, generator=generator) * 2 - 1) * torch.tensor(
        [jitter.brightness, jitter.contrast, jitter.saturation])
    out *= factors[:, 0].view(-1, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * factors[:, 1].view(-1, 1, 1, 1) + mean
    gray = (out * torch.tensor([0.299, 0.587, 0.114])).sum(dim=3, keepdim=True)
    out = (out - gray) * factors[:, 2].view(-1, 1, 1, 1) + gray
    return out.clamp_(0, 255)


def normalize(images: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    """(B, H, W, 3) float 0..255 -> (B, 3, H, W) ``(x / 255 - mean) / std``, as ``Preprocess`` does."""
    mean = torch.tensor(spec.mean).view(1, 1, 1, 3)
    std = torch.tensor(spec.std).view(1, 1, 1, 3)
    return ((images / 255.0 - mean) / std).permute(0, 3, 1, 2).contiguous()


class CachedPoseDataset(Dataset):
    """Batches straight from a ``FrameCache``: (images float32 N3HW, xyz N3, quat N4, index N).

    ``__getitems__`` builds a whole batch at once (DataLoader calls it for batched fetches), so the
    per-image Python work is one slice; ``jitter`` None gives the centre crop, unaugmented.
    """

    def __init__(self, samples: Sequence[Sample], cache: FrameCache, jitter: Optional[ColorJitter],
                 seed: int = 0) -> None:
        if len(samples) != len(cache.images):
            raise DatasetError(f"{len(samples)} samples but {len(cache.images)} cached frames in {cache.path}")
        self.cache, self.jitter = cache, jitter
        self._xyz = torch.tensor(np.array([s.pose.position for s in samples]), dtype=torch.float32)
        self._quat = torch.tensor(np.array([s.pose.quaternion for s in samples]), dtype=torch.float32)
        self._generator = torch.Generator()
        self._generator.manual_seed(seed)

    def __len__(self) -> int:
        return len(self._xyz)

    def __getitems__(self, indices: List[int]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        order = np.argsort(indices)  # a memmap reads fastest in file order
        raw = np.empty((len(indices),) + self.cache.images.shape[1:], np.uint8)
        raw[order] = self.cache.images[np.asarray(indices)[order]]
        pixels = augment(torch.from_numpy(raw), self.cache.spec.crop, self.jitter, self._generator)
        return normalize(pixels, self.cache.spec), self._xyz[index], self._quat[index], index

    def __getitem__(self, i: int):
        images, xyz, quat, index = self.__getitems__([i])
        return images[0], xyz[0], quat[0], int(index[0])


def _whole_batch(batch):
    return batch


def cached_loader(dataset: CachedPoseDataset, batch_size: int, shuffle: bool, sampler: Optional[Sampler] = None,
                  seed: int = 0, drop_last: bool = False, pin_memory: bool = False) -> DataLoader:
    """A DataLoader in the training process itself: the batches are cheap, worker processes would only
    take cores from the model."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=0, collate_fn=_whole_batch, generator=generator, drop_last=drop_last,
                      pin_memory=pin_memory)
