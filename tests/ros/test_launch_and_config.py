from __future__ import annotations

from pathlib import Path

import yaml

from pose_regressor_node.fusion import FusionConfig
from pose_regressor_node.inference.config import RegressorConfig
from pose_regressor_node.replay.settings import load_settings
from pose_regressor_node.ros.fusion_node import FusionNodeConfig

ROOT = Path(__file__).resolve().parents[2]


def test_config_file_sets_only_declared_parameters_and_they_are_valid():
    config = yaml.safe_load((ROOT / "config" / "localize.yaml").read_text())
    for node, classes in (("regressor_node", [RegressorConfig]), ("fusion_node", [FusionConfig, FusionNodeConfig])):
        declared = {info.name for cls in classes for info in cls.infos()}
        assert set(config[node]["ros__parameters"]) <= declared, node
        for cls in classes:
            cls.from_params(config[node]["ros__parameters"])  # raises on anything out of range
    settings = load_settings(ROOT / "config" / "localize.yaml")
    assert settings.fusion.two_d_mode and settings.regressor.covariance_source == "model"
