"""The node parameters replay must share with the live system, read from ``config/localize.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from ..errors import ParameterError
from ..fusion import FusionConfig
from ..geometry import Pose, quat_from_euler
from ..inference.frame_regressor import (
    DEFAULT_EXTRINSIC_RPY,
    DEFAULT_EXTRINSIC_XYZ,
    DEFAULT_ORIENTATION_STD,
    DEFAULT_POSITION_STD,
)
from .pipeline import ReplayOptions

__all__ = ["NodeSettings", "load_settings", "DEFAULT_PARAMS_FILE"]

DEFAULT_PARAMS_FILE = Path(__file__).resolve().parents[2] / "config" / "localize.yaml"


class NodeSettings:
    def __init__(self, regressor: Dict[str, Any], fusion: Dict[str, Any]) -> None:
        self.regressor = regressor
        self.fusion = fusion

    @property
    def position_std(self) -> float:
        return float(self.regressor.get("position_std", DEFAULT_POSITION_STD))

    @property
    def orientation_std(self) -> float:
        return float(self.regressor.get("orientation_std", DEFAULT_ORIENTATION_STD))

    @property
    def extrinsic(self) -> Pose:
        xyz = self.regressor.get("extrinsic_xyz", list(DEFAULT_EXTRINSIC_XYZ))
        rpy = self.regressor.get("extrinsic_rpy", list(DEFAULT_EXTRINSIC_RPY))
        return Pose(xyz, quat_from_euler(*rpy))

    def fusion_config(self) -> FusionConfig:
        return FusionConfig.from_params(self.fusion)

    def replay_options(self, **options: Any) -> ReplayOptions:
        """Replay set up as the nodes are (filter, extrinsic fallback, pose covariance), plus ``options``."""
        return ReplayOptions(fusion=self.fusion_config(), default_extrinsic=self.extrinsic,
                             position_std=self.position_std, orientation_std=self.orientation_std, **options)


def load_settings(path: Optional[Path] = None) -> NodeSettings:
    path = Path(path) if path else DEFAULT_PARAMS_FILE
    if not path.is_file():
        return NodeSettings({}, {})
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ParameterError(f"{path} is not valid YAML: {err}") from err
    return NodeSettings(_section(data, "regressor_node"), _section(data, "fusion_node"))


def _section(data: Dict[str, Any], node: str) -> Dict[str, Any]:
    return dict((data.get(node) or {}).get("ros__parameters") or {})
