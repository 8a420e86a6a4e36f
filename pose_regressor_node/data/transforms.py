"""The evaluation transform: exactly what every inference engine does to a frame (``Preprocess``).

Training augmentation (random crop inside a cached margin, colour jitter) works on whole batches of
cached frames instead: ``data.cache.augment``.
"""

from __future__ import annotations

import numpy as np

from ..inference.preprocess import Preprocess
from ..metadata import PreprocessSpec

__all__ = ["EvalTransform"]


class EvalTransform:
    """RGB uint8 -> normalised float32 CHW, into a fresh array (DataLoader workers keep what they return)."""

    def __init__(self, spec: PreprocessSpec) -> None:
        self._preprocess = Preprocess(spec)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self._preprocess(rgb, out=np.empty((3, self._preprocess.spec.crop, self._preprocess.spec.crop), np.float32))
