"""fusion_node: wheel odometry + regressed poses -> fused pose in map (REP-105: owns map->odom).

Thin by design: converts messages, holds parameters, and calls ``PoseFuser``, the object replay
uses too. Publishes at odometry rate, stamped with the odometry stamps.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import fields
from typing import Any, List, Optional

import numpy as np
import rclpy
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from std_srvs.srv import Trigger

from ..errors import ParameterError
from ..fusion import FusionConfig, PoseFuser
from ..geometry import Pose
from ..messages import odometry_from_msg, pose_estimate_from_msg, rclpy_factory
from . import diagnostics
from .parameters import Param, declare_all, values
from .spin import spin_node

__all__ = ["FusionNode", "main", "PARAMS"]

_D = FusionConfig()
_RANGES = {"gate_probability": (0.5, 0.999999), "history_s": (0.05, 60.0), "time_jump_s": (0.1, 3600.0),
           "max_future_s": (0.0, 60.0), "kidnap_rejections": (2, 1000), "planar_fixed_variance": (1e-12, 1e3)}
_DESCRIPTIONS = {
    "two_d_mode": "estimate x, y, yaw only (the car on a flat floor); false: full 3-D pose",
    "process_noise": "'config' (the noise_* parameters) or 'odometry' (the odometry twist covariance)",
    "gate_probability": "chi-square probability of the Mahalanobis gate for regressed poses",
    "history_s": "how long late poses and out-of-order odometry are still applied at their stamp (s)",
    "time_jump_s": "a jump back in time larger than this resets the filter (bag loops) (s)",
    "kidnap_rejections": "consecutive agreeing rejected poses that re-initialise the filter",
}


def _fusion_params() -> List[Param]:
    out = []
    for f in fields(FusionConfig):
        default = getattr(_D, f.name)
        if f.name.startswith("measurement_std_"):
            out.append(Param(f.name, 0.0, f"{f.name[16:]} measurement std override; 0: use each pose's covariance",
                             (0.0, 100.0)))
            continue
        if isinstance(default, float):
            rng = _RANGES.get(f.name, (0.0, 1e3))
        elif isinstance(default, int) and not isinstance(default, bool):
            rng = _RANGES.get(f.name, (0, 10**6))
        else:
            rng = None
        out.append(Param(f.name, default, _DESCRIPTIONS.get(f.name, f.name.replace("_", " ")), rng,
                         read_only=False))
    return out


PARAMS = _fusion_params() + [
    Param("map_frame", "map", "global frame"),
    Param("odom_frame", "odom", "odometry frame"),
    Param("base_frame", "base_link", "robot frame"),
    Param("publish_tf", True, "broadcast map->odom (needs tf2_ros)"),
    Param("use_initial_pose", False, "initialise from initial_pose instead of the first regressed pose"),
    Param("initial_pose", [0.0, 0.0, 0.0], "x (m), y (m), yaw (rad) used when use_initial_pose is true"),
]


class FusionNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("fusion_node", **kwargs)
        declare_all(self, PARAMS)
        self.p = values(self, PARAMS)
        self.fuser = PoseFuser(FusionConfig.from_params(self.p))
        self.factory = rclpy_factory()
        self.counts: Counter = Counter()
        self.problems = diagnostics.ProblemLog(self.get_logger(), self.counts)
        self.odom_rate, self.pose_rate = diagnostics.RateMeter(), diagnostics.RateMeter()
        self.add_on_set_parameters_callback(self._on_parameters)
        self.odometry_pub = self.create_publisher(Odometry, "~/odometry", 20)
        self.pose_pub = self.create_publisher(PoseWithCovarianceStamped, "~/pose", 20)
        self.diagnostics_pub = self.create_publisher(diagnostics.DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(Odometry, "odom", self._on_odometry, 50)
        self.create_subscription(PoseWithCovarianceStamped, "pose", self._on_pose, 20)
        self.create_subscription(PoseWithCovarianceStamped, "/initialpose", self._on_initial_pose, 5)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_timer(1.0, self._publish_diagnostics)
        self._tf = self._make_broadcaster()
        self._last_odom_stamp: Optional[int] = None
        self._apply_initial_pose()

    def _make_broadcaster(self):
        if not self.p["publish_tf"]:
            return None
        try:
            from tf2_ros import TransformBroadcaster  # noqa: PLC0415 - part of ROS, not of the pip wheels
        except ImportError:
            self.get_logger().info("tf2_ros not available: map->odom is not broadcast")
            return None
        return TransformBroadcaster(self)

    def _apply_initial_pose(self) -> None:
        if self.p["use_initial_pose"]:
            x, y, yaw = (list(self.p["initial_pose"]) + [0.0, 0.0, 0.0])[:3]
            self.fuser.reset(Pose.from_xyz_yaw(x, y, yaw))

    # ------------------------------------------------------------------ parameters
    def _on_parameters(self, params: List[rclpy.parameter.Parameter]) -> SetParametersResult:
        new = dict(self.p)
        new.update({param.name: param.value for param in params})
        try:
            config = FusionConfig.from_params(new)
            if len(list(new["initial_pose"])) != 3:
                raise ParameterError("initial_pose needs 3 numbers: x, y, yaw")
        except (ParameterError, TypeError, ValueError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        self.fuser.configure(config)
        self.p = new
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ inputs
    def _now_ns(self) -> Optional[int]:
        """The node's clock for the future-stamp check; None before a simulated clock has started."""
        now = self.get_clock().now().nanoseconds
        return now if now > 0 else None

    def _on_odometry(self, msg: Odometry) -> None:
        self.odom_rate.tick()
        try:
            sample = odometry_from_msg(msg)
        except ValueError as err:
            return self.problems.report("bad_odometry", f"odometry ignored: {err}")
        if self._last_odom_stamp is not None and sample.stamp_ns <= self._last_odom_stamp:
            self.counts["odometry_stamp_not_increasing"] += 1
        decision = self.fuser.add_odometry(sample, now_ns=self._now_ns())
        if not decision.accepted:
            return self.problems.report(f"odometry_{decision.reason}",
                                        f"odometry rejected ({decision.reason}): {decision.detail}")
        self._last_odom_stamp = max(sample.stamp_ns, self._last_odom_stamp or sample.stamp_ns)
        self._publish(sample)

    def _on_pose(self, msg: PoseWithCovarianceStamped) -> None:
        self.pose_rate.tick()
        try:
            estimate = pose_estimate_from_msg(msg)
        except ValueError as err:
            return self.problems.report("bad_pose", f"pose ignored: {err}")
        decision = self.fuser.add_pose(estimate, now_ns=self._now_ns())
        if decision.accepted or decision.reason == "gated":  # gating is the filter working, not a fault
            self.counts[f"pose_{decision.reason}"] += 1
        else:
            self.problems.report(f"pose_{decision.reason}", f"pose rejected ({decision.reason}): {decision.detail}")

    def _on_initial_pose(self, msg: PoseWithCovarianceStamped) -> None:
        try:
            estimate = pose_estimate_from_msg(msg)
        except ValueError as err:
            return self.problems.report("bad_initial_pose", f"/initialpose ignored: {err}")
        cov = estimate.covariance if np.all(np.diag(estimate.covariance)[[0, 1, 5]] > 0) else None
        self.fuser.reset(estimate.pose, cov, stamp_ns=self._last_odom_stamp)
        self.counts["initial_pose"] += 1
        self.get_logger().info(f"re-initialised from /initialpose at x={estimate.pose.position[0]:.2f} "
                               f"y={estimate.pose.position[1]:.2f} yaw={math.degrees(estimate.pose.yaw):.1f} deg")

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.fuser.reset()
        self._apply_initial_pose()
        self.counts["reset"] += 1
        response.success = True
        response.message = "filter reset; waiting for the next regressed pose" if not self.p["use_initial_pose"] \
            else "filter reset to initial_pose"
        return response

    # ------------------------------------------------------------------ outputs
    def _publish(self, sample) -> None:
        state = self.fuser.state_at(sample.stamp_ns)
        if state is None:
            return
        base, odom_frame, map_frame = self.p["base_frame"], self.p["odom_frame"], self.p["map_frame"]
        self.odometry_pub.publish(self.factory.odometry(sample.stamp_ns, map_frame, base, state.pose,
                                                        state.covariance, sample.twist, sample.twist_covariance))
        self.pose_pub.publish(self.factory.pose_with_covariance_stamped(state.pose, state.covariance,
                                                                        sample.stamp_ns, map_frame))
        if self._tf is not None and state.map_to_odom is not None:
            self._tf.sendTransform(self.factory.transform_stamped(sample.stamp_ns, map_frame, odom_frame,
                                                                  state.map_to_odom))

    def _publish_diagnostics(self) -> None:
        stats = self.fuser.stats()
        rejected = {k: v for k, v in stats.items() if k in ("gated", "too_old", "invalid", "future", "duplicate")}
        values_ = {"odometry_rate_hz": self.odom_rate.rate(), "pose_rate_hz": self.pose_rate.rate(),
                   "initialized": self.fuser.initialized,
                   **{f"filter_{k}": v for k, v in sorted(stats.items())},
                   **{f"rejected_{k}": v for k, v in sorted(rejected.items())},
                   **dict(sorted(self.counts.items()))}
        diagnostics.publish(self, self.diagnostics_pub, "pose fusion", "odometry+regressor", values_,
                            self.problems.summary(), stale=self.odom_rate.rate() == 0.0)


def main(args: Optional[List[str]] = None) -> None:
    spin_node(FusionNode, "fusion_node", args)


if __name__ == "__main__":
    main()
