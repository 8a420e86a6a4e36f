"""fusion_node: wheel odometry + regressed poses -> fused pose in map (REP-105: owns map->odom).

Thin by design: converts messages, holds parameters, and calls ``PoseFuser`` and ``OutputClock``,
the objects replay uses too. The fused pose is published by a timer at ``publish_rate_hz``, each
message stamped with the time of the data it reflects, so output continues (from regressed poses
and the estimated velocity) when odometry drops out. Every input is checked against the expected
frame ids; a mismatch is counted and warned. /diagnostics reports the last ``diagnostics_window_s``
(a node that recovered says OK), the filter's health (NIS, which input it distrusts, the
odometry scale) and warns when regressed poses or odometry stop arriving.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, List, Optional

import numpy as np
import rclpy
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from std_srvs.srv import Trigger

from ..errors import PoseRegressorError
from ..fusion import FusionConfig, OutputClock, PoseFuser
from ..geometry import Pose
from ..messages import odometry_from_msg, pose_estimate_from_msg, rclpy_factory
from ..settings import Settings, setting
from . import diagnostics
from .parameters import declare_settings, node_options, values
from .spin import spin_node

__all__ = ["FusionNode", "FusionNodeConfig", "main"]

TWIST_STD = 0.1  # m/s and rad/s: what the published velocity estimate is good for


@dataclass(frozen=True)
class FusionNodeConfig(Settings):
    """The node's own settings, next to the filter's ``FusionConfig``."""

    map_frame: str = setting("map", "global frame; regressed poses must be stamped in it", non_empty=True)
    odom_frame: str = setting("odom", "odometry frame; odometry messages must be stamped in it", non_empty=True)
    base_frame: str = setting("base_link", "robot frame; odometry's child_frame_id must be it", non_empty=True)
    publish_tf: bool = setting(True, "broadcast map->odom (needs tf2_ros)")
    use_initial_pose: bool = setting(False, "initialise from initial_pose instead of the first agreeing regressed poses")
    initial_pose: List[float] = setting([0.0, 0.0, 0.0], "x (m), y (m), yaw (rad) used when use_initial_pose is true",
                                        length=3)
    pose_stale_s: float = setting(2.0, "no regressed pose for longer than this: diagnostics WARN (s)",
                                    bounds=(0.1, 3600.0))
    odometry_stale_s: float = setting(1.0, "no odometry for longer than this: diagnostics WARN (s)",
                                        bounds=(0.1, 3600.0))
    diagnostics_window_s: float = setting(10.0, "problems older than this no longer make diagnostics WARN (s)",
                                          bounds=(1.0, 3600.0))


class FusionNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("fusion_node", **node_options(**kwargs))
        self._infos = declare_settings(self, FusionConfig, FusionNodeConfig)
        params = values(self, self._infos)
        self.settings = FusionNodeConfig.from_params(params)
        self.fuser = PoseFuser(FusionConfig.from_params(params))
        self.clock = OutputClock(self.fuser.config)
        self.factory = rclpy_factory()
        self.counts: Counter = Counter()
        self.problems = diagnostics.ProblemLog(self.get_logger(), self.counts,
                                               window_s=self.settings.diagnostics_window_s)
        self.odom_rate, self.pose_rate = diagnostics.RateMeter(), diagnostics.RateMeter()
        self._last_input_ns: dict = {"odometry": None, "pose": None}
        self._start_ns: Optional[int] = None  # first valid node time (a simulated clock starts later)
        self.add_on_set_parameters_callback(self._on_parameters)
        self.odometry_pub = self.create_publisher(Odometry, "~/odometry", 20)
        self.pose_pub = self.create_publisher(PoseWithCovarianceStamped, "~/pose", 20)
        self.diagnostics_pub = self.create_publisher(diagnostics.DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(Odometry, "odom", self._on_odometry, 50)
        self.create_subscription(PoseWithCovarianceStamped, "pose", self._on_pose, 20)
        self.create_subscription(PoseWithCovarianceStamped, "/initialpose", self._on_initial_pose, 5)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_timer(1.0, self._publish_diagnostics)
        self._output_timer = self.create_timer(1.0 / self.fuser.config.publish_rate_hz, self._publish)
        self._tf = self._make_broadcaster()
        self._apply_initial_pose()

    def _make_broadcaster(self):
        if not self.settings.publish_tf:
            return None
        try:
            from tf2_ros import TransformBroadcaster  # noqa: PLC0415 - part of ROS, not of the pip wheels
        except ImportError:
            self.get_logger().info("tf2_ros not available: map->odom is not broadcast")
            return None
        return TransformBroadcaster(self)

    def _apply_initial_pose(self) -> None:
        if self.settings.use_initial_pose:
            x, y, yaw = self.settings.initial_pose
            self.fuser.reset(Pose.from_xyz_yaw(x, y, yaw), stamp_ns=self._now_ns())

    # ------------------------------------------------------------------ parameters
    def _on_parameters(self, params: List[rclpy.parameter.Parameter]) -> SetParametersResult:
        new = {**self.fuser.config.as_params(), **self.settings.as_params()}
        new.update({param.name: param.value for param in params})
        try:
            config, settings = FusionConfig.from_params(new), FusionNodeConfig.from_params(new)
        except (PoseRegressorError, TypeError, ValueError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        rate_changed = config.publish_rate_hz != self.fuser.config.publish_rate_hz
        self.fuser.configure(config)
        self.clock.config = config
        self.settings = settings
        self.problems.window_s = settings.diagnostics_window_s
        if rate_changed:
            self._output_timer.timer_period_ns = int(1e9 / config.publish_rate_hz)
            self._output_timer.reset()
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ inputs
    def _now_ns(self) -> Optional[int]:
        """The node's clock; None before a simulated clock has started."""
        now = self.get_clock().now().nanoseconds
        return now if now > 0 else None

    def _check_frames(self, what: str, frame_id: str, expected: str, child: Optional[str] = None,
                      expected_child: Optional[str] = None) -> None:
        if frame_id != expected:
            self.problems.report(f"{what}_frame_mismatch", f"{what} stamped in frame '{frame_id}', expected "
                                                           f"'{expected}' (parameter); using it as if it were")
        if child is not None and child != expected_child:
            self.problems.report(f"{what}_child_frame_mismatch", f"{what} child_frame_id '{child}', expected "
                                                                 f"'{expected_child}' (base_frame); using it as if it were")

    def _on_odometry(self, msg: Odometry) -> None:
        self.odom_rate.tick()
        self._check_frames("odometry", msg.header.frame_id, self.settings.odom_frame, msg.child_frame_id,
                           self.settings.base_frame)
        try:
            sample = odometry_from_msg(msg)
        except ValueError as err:
            return self.problems.report("bad_odometry", f"odometry ignored: {err}")
        decision = self.fuser.add_odometry(sample, now_ns=self._now_ns())
        self._last_input_ns["odometry"] = self._now_ns()
        if decision.reason == "odometry_jump":
            self.problems.report("odometry_jump", f"odometry jumped: {decision.detail}")
        elif not decision.accepted:
            self.problems.report(f"odometry_{decision.reason}", f"odometry rejected ({decision.reason}): {decision.detail}")

    def _on_pose(self, msg: PoseWithCovarianceStamped) -> None:
        self.pose_rate.tick()
        self._check_frames("pose", msg.header.frame_id, self.settings.map_frame)
        try:
            estimate = pose_estimate_from_msg(msg)
        except ValueError as err:
            return self.problems.report("bad_pose", f"pose ignored: {err}")
        decision = self.fuser.add_pose(estimate, now_ns=self._now_ns())
        self._last_input_ns["pose"] = self._now_ns()
        if decision.accepted or decision.reason in ("gated", "initializing"):  # the filter working, not a fault
            self.counts[f"pose_{decision.reason}"] += 1
        else:
            self.problems.report(f"pose_{decision.reason}", f"pose rejected ({decision.reason}): {decision.detail}")

    def _on_initial_pose(self, msg: PoseWithCovarianceStamped) -> None:
        try:
            estimate = pose_estimate_from_msg(msg)
        except ValueError as err:
            return self.problems.report("bad_initial_pose", f"/initialpose ignored: {err}")
        cov = estimate.covariance if np.all(np.diag(estimate.covariance)[[0, 1, 5]] > 0) else None
        self.fuser.reset(estimate.pose, cov, stamp_ns=self.fuser.newest_stamp_ns)
        self.counts["initial_pose"] += 1
        self.get_logger().info(f"re-initialised from /initialpose at x={estimate.pose.position[0]:.2f} "
                               f"y={estimate.pose.position[1]:.2f} yaw={math.degrees(estimate.pose.yaw):.1f} deg")

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.fuser.reset()
        self._apply_initial_pose()
        self.counts["reset"] += 1
        response.success = True
        response.message = "filter reset to initial_pose" if self.settings.use_initial_pose \
            else "filter reset; waiting for agreeing regressed poses"
        return response

    # ------------------------------------------------------------------ outputs
    def _publish(self) -> None:
        stamp = self.clock.stamp(self._now_ns(), self.fuser)
        state = self.fuser.state_at(stamp) if stamp is not None else None
        if stamp is None or state is None:
            return
        base, odom_frame, map_frame = self.settings.base_frame, self.settings.odom_frame, self.settings.map_frame
        self.odometry_pub.publish(self.factory.odometry(stamp, map_frame, base, state.pose, state.covariance,
                                                        state.twist, np.eye(6) * TWIST_STD ** 2))
        self.pose_pub.publish(self.factory.pose_with_covariance_stamped(state.pose, state.covariance, stamp,
                                                                        map_frame))
        self.counts["published"] += 1
        if self._tf is not None and state.map_to_odom is not None:
            self._tf.sendTransform(self.factory.transform_stamped(stamp, map_frame, odom_frame, state.map_to_odom))

    def _silence(self, what: str, timeout_s: float) -> Optional[str]:
        """A problem line when ``what`` has not arrived for longer than ``timeout_s`` of node time."""
        now, last = self._now_ns(), self._last_input_ns[what]
        if now is None:
            return None
        if self._start_ns is None:
            self._start_ns = now
        if last is None:
            return f"no {what} received yet" if now - self._start_ns > timeout_s * 1e9 else None
        if now - last > timeout_s * 1e9:
            return f"no {what} for {(now - last) * 1e-9:.1f} s (more than {timeout_s} s)"
        return None

    def _publish_diagnostics(self) -> None:
        stats = self.fuser.stats()
        health = self.fuser.health()
        problems = self.problems.summary()
        problems += [p for p in (self._silence("pose", self.settings.pose_stale_s),
                                 self._silence("odometry", self.settings.odometry_stale_s)) if p]
        if health.distrusted != "none":
            problems.append(f"the filter distrusts the {health.distrusted} ({health.odometry} odometry)")
        values_ = {"odometry_rate_hz": self.odom_rate.rate(), "pose_rate_hz": self.pose_rate.rate(),
                   "initialized": self.fuser.initialized, "odometry": health.odometry, "distrusted": health.distrusted,
                   "nis_per_dof": health.nis, "noise_inflation": health.noise_inflation,
                   "odometry_scale": health.odometry_scale, "window_test_over_threshold": health.window_statistic,
                   "gated_share": health.gated_share,
                   **{f"filter_{k}": v for k, v in sorted(stats.items())}, **dict(sorted(self.counts.items()))}
        diagnostics.publish(self, self.diagnostics_pub, "pose fusion", "odometry+regressor", values_, problems,
                            stale=self.odom_rate.rate() == 0.0 and self.pose_rate.rate() == 0.0)


def main(args: Optional[List[str]] = None) -> None:
    spin_node(FusionNode, "fusion_node", args)


if __name__ == "__main__":
    main()
