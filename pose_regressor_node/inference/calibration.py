"""Sample images of the scene for INT8 calibration, preprocessed exactly as the engine will see them.

TensorRT's entropy calibrator and ONNX Runtime's static quantizer both read them through here, so
the two INT8 paths can never calibrate on differently prepared inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import cv2
import numpy as np

from ..errors import EngineError
from ..metadata import PreprocessSpec
from .preprocess import Preprocess

__all__ = ["calibration_batches", "IMAGE_SUFFIXES", "MAX_IMAGES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGES = 512  # ranges settle long before this; more only slows the export


def calibration_batches(calib_dir: str, spec: PreprocessSpec, batch: int = 1) -> List[np.ndarray]:
    """Up to ``MAX_IMAGES`` images under ``calib_dir`` (recursively, in name order) as (batch, 3, crop, crop)
    float32 arrays; a last partial batch is left out (TensorRT's calibrator takes fixed batches).

    Calibrate on frames of the room the model will run in, never on the test split.
    """
    root = Path(calib_dir)
    if not root.is_dir():
        raise EngineError(f"calibration folder {calib_dir} does not exist; pass --calib DIR with sample images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:MAX_IMAGES]
    if len(files) < batch:
        raise EngineError(f"{len(files)} calibration images (.png/.jpg) under {calib_dir}; at least {batch} needed")
    preprocess = Preprocess(spec)
    images = []
    for path in files:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise EngineError(f"cannot read calibration image {path}: corrupt or not an image; remove it")
        images.append(preprocess(bgr, "bgr8").copy())
    return [np.stack(images[i:i + batch]) for i in range(0, len(images) - batch + 1, batch)]
