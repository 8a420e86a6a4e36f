"""Training-time image transforms: random crop and colour jitter, then the shared normalisation.

Only photometric changes and the random crop of the documents are applied; nothing that would
make the image disagree with its pose label (no flips, no rotations). Randomness comes from
torch's per-worker generator, so runs are reproducible from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..inference.preprocess import Preprocess, resize_shorter
from ..metadata import PreprocessSpec

__all__ = ["TrainTransform", "EvalTransform", "ColorJitter"]


@dataclass(frozen=True)
class ColorJitter:
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 RGB -> jittered uint8 RGB (vectorised; order fixed: brightness, contrast, saturation)."""
        b, c, s = (1.0 + (torch.rand(3) * 2 - 1) * torch.tensor([self.brightness, self.contrast, self.saturation])).tolist()
        image = rgb.astype(np.float32) * b
        mean = image.mean()
        image = (image - mean) * c + mean
        gray = image @ np.array([0.299, 0.587, 0.114], np.float32)
        image = (image - gray[..., None]) * s + gray[..., None]
        return np.clip(image, 0, 255).astype(np.uint8)


class TrainTransform:
    def __init__(self, spec: PreprocessSpec, jitter: ColorJitter = ColorJitter()) -> None:
        self.spec = spec
        self.jitter = jitter
        self._preprocess = Preprocess(spec)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        resized = resize_shorter(rgb, self.spec.resize)
        h, w = resized.shape[:2]
        top = int(torch.randint(0, h - self.spec.crop + 1, ()).item())
        left = int(torch.randint(0, w - self.spec.crop + 1, ()).item())
        crop = resized[top:top + self.spec.crop, left:left + self.spec.crop]
        return self._preprocess.normalize(self.jitter(crop), out=np.empty((3, self.spec.crop, self.spec.crop), np.float32))


class EvalTransform:
    """Exactly what every inference engine does: the shared ``Preprocess``."""

    def __init__(self, spec: PreprocessSpec) -> None:
        self._preprocess = Preprocess(spec)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self._preprocess(rgb, out=np.empty((3, self._preprocess.spec.crop, self._preprocess.spec.crop), np.float32))
