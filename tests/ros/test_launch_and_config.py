from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from pose_regressor_node.fusion import FusionConfig
from pose_regressor_node.ros import fusion_node, regressor_node

ROOT = Path(__file__).resolve().parents[2]


def test_config_file_sets_only_declared_parameters():
    config = yaml.safe_load((ROOT / "config" / "localize.yaml").read_text())
    for node, params in (("regressor_node", regressor_node.PARAMS), ("fusion_node", fusion_node.PARAMS)):
        declared = {p.name for p in params}
        assert set(config[node]["ros__parameters"]) <= declared, node
    fusion = FusionConfig.from_params({**{p.name: p.default for p in fusion_node.PARAMS},
                                       **config["fusion_node"]["ros__parameters"]})
    assert fusion.two_d_mode


def test_launch_description_builds():
    pytest.importorskip("launch", reason="ROS 2 `launch` is not on PyPI; it comes with a ROS install")
    pytest.importorskip("launch_ros", reason="launch_ros comes with a ROS install")
    pytest.importorskip("ament_index_python", reason="needs the ament index of an installed package")
    spec = importlib.util.spec_from_file_location("localize_launch", ROOT / "launch" / "localize.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert len(description.entities) >= 10
