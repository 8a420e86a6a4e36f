"""Real rclpy nodes over real Fast DDS, spun in-process (no mocks); DDS stays on loopback."""

from __future__ import annotations

import gc
import time
import uuid
from typing import Callable, List

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy (ROS 2 Jazzy wheels) is not installed")

from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402

from pose_regressor_node.ros.parameters import node_options  # noqa: E402
from pose_regressor_node.ros.spin import BackgroundSpin  # noqa: E402

from ..conftest import write_resnet18_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def ros_context():
    import os

    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    rclpy.init()
    yield
    rclpy.shutdown()


class Harness:
    """Spins the node under test and a helper node in a background executor."""

    def __init__(self, *nodes: Node) -> None:
        self.helper = rclpy.create_node(f"test_helper_{uuid.uuid4().hex[:8]}", **node_options())
        self.executor = MultiThreadedExecutor(num_threads=3)
        self.nodes = [*nodes, self.helper]
        for node in self.nodes:
            self.executor.add_node(node)
        self._spin = BackgroundSpin(self.executor)

    def collect(self, msg_type, topic: str, qos=10) -> List:
        received: List = []
        self.helper.create_subscription(msg_type, topic, received.append, qos)
        return received

    def publisher(self, msg_type, topic: str, qos=10):
        pub = self.helper.create_publisher(msg_type, topic, qos)
        self.wait_for(lambda: pub.get_subscription_count() > 0, what=f"a subscriber on {topic}")
        return pub

    @staticmethod
    def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def call(self, srv_type, name: str, request, timeout: float = 10.0):
        client = self.helper.create_client(srv_type, name)
        assert client.wait_for_service(timeout_sec=timeout), f"service {name} not available"
        future = client.call_async(request)
        self.wait_for(future.done, timeout, what=f"a reply from {name}")
        return future.result()

    def close(self) -> None:
        self._spin.stop()
        for node in self.nodes:
            node.destroy_node()
        # callbacks cut short by the destruction leave futures whose exception nobody retrieves; rclpy
        # prints that when they are collected, so collect them here, not in whichever test runs next
        gc.collect()


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> str:
    return write_resnet18_checkpoint(tmp_path_factory.mktemp("model") / "small.pt", resize=72, crop=64)
