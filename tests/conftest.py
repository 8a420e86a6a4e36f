"""Test-session settings that must hold before anything imports rclpy.

DDS stays on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) and each test session gets a
ROS_DOMAIN_ID of its own so that parallel sessions on one machine never see each other.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Property tests are derandomised: the same examples on every run and every machine.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.load_profile("repeatable")

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)  # 1..100: the safe range
os.environ.setdefault("RCUTILS_LOGGING_BUFFERED_STREAM", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (only present beside the project checkout)")
    return SHARED_DATA


def write_resnet18_checkpoint(path: Path, resize: int, crop: int) -> str:
    """An untrained ResNet18 regressor saved as a real checkpoint, for tests that need a model file."""
    from pose_regressor_node.metadata import ModelMetadata, PreprocessSpec
    from pose_regressor_node.model import build_model, save_checkpoint

    model = build_model("resnet18").eval()
    save_checkpoint(str(path), model, ModelMetadata(arch="resnet18", arch_options=model.options,
                                                    preprocess=PreprocessSpec(resize=resize, crop=crop)))
    return str(path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> str:
    """ResNet18 at 32 x 32 input: real engines, quick runs (bench, replay)."""
    return write_resnet18_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", resize=40, crop=32)


@pytest.fixture(autouse=True)
def _seed_torch():
    try:
        import torch
    except ImportError:  # torch-free test environments
        yield
        return
    torch.manual_seed(0)
    yield
