"""The node parameters replay shares with the live system, read from ``config/localize.yaml``.

The same typed settings the nodes declare their parameters from (``RegressorConfig``,
``FusionConfig``), so replay regresses and fuses exactly as the robot would with that file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from ..errors import ParameterError
from ..fusion import FusionConfig
from ..inference.config import RegressorConfig

__all__ = ["NodeSettings", "load_settings", "DEFAULT_PARAMS_FILE"]

DEFAULT_PARAMS_FILE = Path(__file__).resolve().parents[2] / "config" / "localize.yaml"


@dataclass(frozen=True)
class NodeSettings:
    regressor: RegressorConfig = field(default_factory=RegressorConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)


def load_settings(path: Optional[Path] = None) -> NodeSettings:
    """Both nodes' settings from a parameters file (defaults where it is absent); ParameterError names
    the file and what is wrong in it."""
    path = Path(path) if path else DEFAULT_PARAMS_FILE
    if not path.is_file():
        return NodeSettings()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ParameterError(f"{path} is not valid YAML: {err}") from err
    try:
        return NodeSettings(RegressorConfig.from_params(_section(data, "regressor_node")),
                            FusionConfig.from_params(_section(data, "fusion_node")))
    except ParameterError as err:
        raise ParameterError(f"{path}: {err}") from err


def _section(data: Dict[str, Any], node: str) -> Dict[str, Any]:
    return dict((data.get(node) or {}).get("ros__parameters") or {})
