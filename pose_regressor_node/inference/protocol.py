"""The ``Engine`` protocol every backend implements, and what ``infer`` returns."""

from __future__ import annotations

from typing import NamedTuple, Optional, Protocol

import numpy as np

from ..metadata import ModelMetadata

__all__ = ["Engine", "EngineOutput", "OUTPUT_NAMES"]

# The network's outputs by name, in order; log_var exists only for models with an uncertainty head.
OUTPUT_NAMES = ("xyz", "quat", "log_var")


class EngineOutput(NamedTuple):
    """float64 arrays: camera position (N,3), unit quaternion wxyz (N,4), and for models with an
    uncertainty head the calibrated log-variances (N,2: translation m^2, rotation rad^2), else None."""

    xyz: np.ndarray
    quat: np.ndarray
    log_var: Optional[np.ndarray] = None


class Engine(Protocol):
    """``infer(batch float32 [N,3,H,W]) -> EngineOutput``; ``metadata`` is what the model file carries."""

    backend: str
    device: str
    metadata: ModelMetadata

    def infer(self, batch: np.ndarray) -> EngineOutput: ...
