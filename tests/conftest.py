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


@pytest.fixture(autouse=True)
def _seed_torch():
    try:
        import torch
    except ImportError:  # torch-free test environments
        yield
        return
    torch.manual_seed(0)
    yield
