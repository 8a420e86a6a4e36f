"""Play a bag into running nodes over DDS (with /clock) and record what they publish.

Messages are published as the raw CDR bytes stored in the bag, so nothing is re-encoded on the way;
/clock follows the bag time, for nodes started with use_sim_time. The recorder keeps the regressed
and fused poses the nodes publish, for scoring with the same metrics as offline replay.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import rclpy
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from tqdm import tqdm

from ..bags import BagReader
from ..errors import BagError
from ..geometry import Pose
from ..messages import pose_from_msg, rclpy_factory, rclpy_message_class, stamp_ns_of
from ..ros.parameters import node_options
from ..ros.spin import BackgroundSpin
from .trajectory import Trajectory

__all__ = ["BagPlayer", "play_and_record"]


class BagPlayer(Node):
    """Publishes selected topics of a rosbag2 in bag time, paced at ``rate`` x real time, with /clock."""

    def __init__(self, topics: List[str], record: Dict[str, str]) -> None:
        super().__init__("demo_bag_player", **node_options())
        self.topics = topics
        self.clock_pub = self.create_publisher(Clock, "/clock", 10)
        self.recorded: Dict[str, List[Tuple[int, Pose]]] = {name: [] for name in record}
        qos = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self._recorders = [self.create_subscription(Odometry if name == "fused" else PoseWithCovarianceStamped,
                                                    topic, functools.partial(self._record, name), qos)
                           for name, topic in record.items()]
        self._pubs: Dict[str, Any] = {}
        self.factory = rclpy_factory()

    def _record(self, name: str, msg) -> None:
        self.recorded[name].append((stamp_ns_of(msg), pose_from_msg(msg.pose.pose)))

    def publishers_for(self, topics: Dict[str, str]) -> None:
        """A publisher per topic -> message type name (``sensor_msgs/msg/Image``)."""
        for topic, msgtype in topics.items():
            if topic not in self._pubs:
                self._pubs[topic] = self.create_publisher(rclpy_message_class(msgtype), topic, 50)

    def wait_until_connected(self, inputs: List[str], links: Dict[str, int], timeout_s: float) -> None:
        """Until each of ``inputs`` (topics this player publishes) has a subscriber, each recorded topic
        a publisher, and each topic of ``links`` at least that many subscribers in the graph: links
        the bag's first messages depend on (the nodes' /clock, the fusion node's subscription to the
        regressor's poses). Volatile topics drop what is sent before a link exists, so a live run that
        starts before the fusion node hears the regressor, or its clock, starts later than replay does."""
        def missing() -> List[str]:
            gaps = [f"a subscriber to {t}" for t in inputs if self._pubs[t].get_subscription_count() == 0]
            gaps += [f"a publisher of {r.topic_name}" for r in self._recorders if r.get_publisher_count() == 0]
            return gaps + [f"{n} subscribers to {t}" for t, n in links.items() if self.count_subscribers(t) < n]

        deadline = time.monotonic() + timeout_s
        while missing():
            if time.monotonic() > deadline:
                raise BagError(f"no {', '.join(missing())} within {timeout_s:.0f} s; did the nodes start?")
            time.sleep(0.1)

    def publish_raw(self, topic: str, raw: bytes, stamp_ns: int) -> None:
        self.clock_pub.publish(Clock(clock=self.factory.time(stamp_ns)))
        self._pubs[topic].publish(bytes(raw))


def play_and_record(bag: Path, topics: List[str], record: Dict[str, str], wait_for: List[str],
                    rate: float = 1.0, settle_s: float = 2.0, startup_timeout_s: float = 120.0,
                    links: Optional[Dict[str, int]] = None) -> Dict[str, Trajectory]:
    """Play ``topics`` of ``bag``; return the recorded trajectories keyed like ``record``. Playing starts
    once ``wait_for`` have subscribers, the recorded topics publishers and ``links`` their subscribers.

    A Ctrl-C is a KeyboardInterrupt, whatever it lands in: rclpy's SIGINT handler shuts the context
    down from the signal itself, so a call into rclpy under way (a publish) can fail with "context is
    invalid" before Python raises the KeyboardInterrupt; that failure is the Ctrl-C too."""
    rclpy.init()
    player = BagPlayer(topics, record)
    executor = SingleThreadedExecutor()
    executor.add_node(player)
    spinner = BackgroundSpin(executor)
    try:
        with BagReader(bag) as reader:
            player.publishers_for({t: m for t, m in reader.topics.items() if t in topics})
            player.wait_until_connected(wait_for, links or {}, startup_timeout_s)
            total = sum(n for t, n in reader.message_counts.items() if t in topics)
            start_wall, start_bag = None, None
            for topic, bag_ns, raw in tqdm(reader.raw_messages(topics), total=total, unit="msg", desc="playing bag"):
                if start_wall is None:
                    start_wall, start_bag = time.monotonic(), bag_ns
                delay = (bag_ns - start_bag) * 1e-9 / rate - (time.monotonic() - start_wall)
                if delay > 0:
                    time.sleep(delay)
                player.publish_raw(topic, raw, bag_ns)
        time.sleep(settle_s)  # let the last frames through the regressor and the filter
    except Exception:
        if player.context.ok():
            raise
        raise KeyboardInterrupt from None  # the signal shut rclpy down under the call
    finally:
        spinner.stop()
        recorded = player.recorded
        player.destroy_node()
        rclpy.try_shutdown()  # after a Ctrl-C rclpy has shut down already
    out = {}
    for name, items in recorded.items():
        items.sort(key=lambda item: item[0])
        out[name] = Trajectory.from_poses([s for s, _ in items], [p for _, p in items])
    return out
