"""Where in the room the regressor is unsure: its errors on its own training views, looked up at
the pose it predicts.

The uncertainty head judges a frame from the frame's own features, and on a drive it has never
seen that ranks the frames' errors only weakly (Spearman 0.17-0.27 on the demo room's held-out
drives, -0.06 on the test drive: there the model errs most where its features look most
familiar). What does carry over to new drives is *where* the model is weak: a view it cannot fit
well during training is a part of the room whose images it confuses, and a new frame taken from
about the same place, looking about the same way, inherits that. So the map keeps, for every
training view, its camera position, its viewing direction and the model's squared errors on it;
a frame's variances are the mean over the ``NEIGHBOURS`` training views nearest to the predicted
camera pose, times one scale per output fitted on the validation split (as for the head).

Chosen on the nine held-out drives of the demo room that are not the test drive (mean Spearman
0.437 in translation, 0.389 in rotation over a grid of 5-80 neighbours, 0.1-12.8 m per radian,
mean / median / root-mean-square); see models/README.md for the figures. It runs on the robot
after any engine, so ONNX Runtime, TensorRT and torch return the same covariances.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional, Tuple

import numpy as np
from scipy.spatial import cKDTree

from .errors import ParameterError
from .geometry import quat_rotate

__all__ = ["ErrorMap", "view_directions", "NEIGHBOURS", "METRES_PER_RADIAN"]

NEIGHBOURS = 20
# How far apart two viewing directions are, in metres of camera position: 1.6 m per radian, so a
# view turned by 10 deg counts like one moved by 28 cm.
METRES_PER_RADIAN = 1.6
_MIN_VARIANCE = 1e-12  # a view the model fits exactly must not give a zero (singular) covariance


def view_directions(quaternions: np.ndarray) -> np.ndarray:
    """(N, 3) unit optical axes (camera z, REP-103 optical frame) in map axes of camera-to-map rotations."""
    return quat_rotate(np.atleast_2d(np.asarray(quaternions, dtype=np.float64)), np.array([0.0, 0.0, 1.0]))


def _encode(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _decode(text: str, columns: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(-1, columns).astype(np.float64)


@dataclass(frozen=True, eq=False)
class ErrorMap:
    """Training views' camera positions (N, 3), viewing directions (N, 3) and per-axis error
    variances (N, 2: translation, rotation, each already divided by the error shape's degrees of
    freedom), with the validation split's scales."""

    positions: np.ndarray
    directions: np.ndarray
    variances_per_view: np.ndarray
    scale_translation: float = 1.0
    scale_rotation: float = 1.0
    neighbours: int = NEIGHBOURS
    metres_per_radian: float = METRES_PER_RADIAN
    _tree: cKDTree = field(init=False, repr=False)  # over the views' lookup keys, built once

    def __post_init__(self) -> None:
        n = len(self.positions)
        if self.positions.shape != (n, 3) or self.directions.shape != (n, 3) or self.variances_per_view.shape != (n, 2):
            raise ValueError(f"error map arrays disagree: positions {self.positions.shape}, directions "
                             f"{self.directions.shape}, variances {self.variances_per_view.shape}")
        if n < self.neighbours:
            raise ValueError(f"an error map needs at least {self.neighbours} training views, got {n}")
        # a k-d tree, not a distance to every view: for the demo model's 12,558 views a frame's lookup
        # takes 0.1 ms here (0.46-0.60 ms right after an inference, whose buffers have filled the cache)
        object.__setattr__(self, "_tree", cKDTree(self._keys(self.positions, self.directions)))

    @classmethod
    def build(cls, positions: np.ndarray, quaternions: np.ndarray, squared_errors: np.ndarray,
              dof: Tuple[int, int], neighbours: int = NEIGHBOURS) -> ErrorMap:
        """From the training views' true camera poses and the model's squared error norms on them
        (N, 2: translation, rotation, the parts the error shape's ``dof`` degrees of freedom describe)."""
        variances = np.asarray(squared_errors, dtype=np.float64) / np.asarray(dof, dtype=np.float64)
        return cls(np.asarray(positions, dtype=np.float64), view_directions(quaternions), variances,
                   neighbours=neighbours)

    def with_scales(self, scale_translation: float, scale_rotation: float) -> ErrorMap:
        return replace(self, scale_translation=scale_translation, scale_rotation=scale_rotation)

    def variances(self, positions: np.ndarray, quaternions: np.ndarray) -> np.ndarray:
        """(M, 2) calibrated per-axis variances (m^2, rad^2) of frames whose camera is predicted at
        these poses: the mean over the nearest training views, in position and viewing direction."""
        keys = self._keys(np.atleast_2d(np.asarray(positions, dtype=np.float64)), view_directions(quaternions))
        _, nearest = self._tree.query(keys, k=self.neighbours)
        nearest = np.asarray(nearest).reshape(len(keys), self.neighbours)
        out = self.variances_per_view[nearest].mean(axis=1) * np.array([self.scale_translation, self.scale_rotation])
        return np.maximum(out, _MIN_VARIANCE)

    def log_variances(self, positions: np.ndarray, quaternions: np.ndarray) -> np.ndarray:
        """The same as ``variances``, as the head's (M, 2) log-variances are given."""
        return np.log(self.variances(positions, quaternions))

    def _keys(self, positions: np.ndarray, directions: np.ndarray) -> np.ndarray:
        return np.concatenate([positions, self.metres_per_radian * directions], axis=1)

    def to_metadata(self) -> Dict[str, Any]:
        """JSON-ready entries (arrays as base64 little-endian float32) for ``ModelMetadata.error_map``."""
        return {"views": len(self.positions), "positions": _encode(self.positions),
                "directions": _encode(self.directions), "variances": _encode(self.variances_per_view),
                "scale_translation": self.scale_translation, "scale_rotation": self.scale_rotation,
                "neighbours": self.neighbours, "metres_per_radian": self.metres_per_radian}

    @classmethod
    def from_metadata(cls, entries: Dict[str, Any]) -> Optional[ErrorMap]:
        """The map a model file carries; None for one calibrated without (or before) error maps."""
        if not entries:
            return None
        try:
            return cls(_decode(entries["positions"], 3), _decode(entries["directions"], 3),
                       _decode(entries["variances"], 2), float(entries["scale_translation"]),
                       float(entries["scale_rotation"]), int(entries["neighbours"]), float(entries["metres_per_radian"]))
        except (KeyError, TypeError, ValueError) as err:  # binascii.Error is a ValueError
            raise ParameterError(f"the model's error map is incomplete or malformed: {err}") from err
