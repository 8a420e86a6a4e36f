from __future__ import annotations

import math
import uuid

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger

from pose_regressor_node.geometry import Pose
from pose_regressor_node.messages import rclpy_factory
from pose_regressor_node.ros.fusion_node import FusionNode

from .conftest import Harness

F = rclpy_factory()
COV = np.diag([0.04, 0.04, 0.01, 0.01, 0.01, 0.003])
MS = 1_000_000


@pytest.fixture
def fusion(ros_context):
    node = FusionNode(namespace=f"/t{uuid.uuid4().hex[:8]}", parameter_overrides=[Parameter("max_future_s", value=5.0)])
    h = Harness(node)
    ns = node.get_namespace()
    topics = {"odom": f"{ns}/odom", "pose": f"{ns}/pose", "out": f"{ns}/fusion_node/odometry",
              "out_pose": f"{ns}/fusion_node/pose"}
    yield node, h, topics
    h.close()


def _odom(t0, k, x0=0.0):
    pose = Pose.from_xyz_yaw(x0 + 0.02 * k, 0.0, 0.0)
    cov = np.eye(6) * 1e-4
    return F.odometry(t0 + k * 20 * MS, "odom", "base_link", pose, cov, [1.0, 0, 0, 0, 0, 0], cov)


def _drive(h, node, topics, t0, n, poses_every=5):
    odom_pub = h.publisher(Odometry, topics["odom"])
    pose_pub = h.publisher(PoseWithCovarianceStamped, topics["pose"])
    for k in range(n):
        odom_pub.publish(_odom(t0, k))
        if k % poses_every == 0:
            pose_pub.publish(F.pose_with_covariance_stamped(Pose.from_xyz_yaw(0.02 * k, 0.0, 0.0), COV,
                                                            t0 + k * 20 * MS, "map"))
        h.wait_for(lambda k=k: node._last_odom_stamp == t0 + k * 20 * MS, what=f"odometry {k} handled")
    return odom_pub, pose_pub


def test_odometry_and_poses_in_fused_odometry_out_at_odometry_rate(fusion):
    node, h, topics = fusion
    out = h.collect(Odometry, topics["out"], qos=100)
    t0 = node.get_clock().now().nanoseconds
    _drive(h, node, topics, t0, 30)
    h.wait_for(lambda: len(out) >= 29, what="fused odometry for every odometry sample after initialisation")
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in out]
    assert stamps == [t0 + k * 20 * MS for k in range(1, 30)]  # one output per odometry sample, its stamp
    last = out[-1]
    assert last.header.frame_id == "map" and last.child_frame_id == "base_link"
    assert last.pose.pose.position.x == pytest.approx(0.58, abs=1e-3)
    assert np.all(np.diag(np.array(last.pose.covariance).reshape(6, 6)) > 0)


def test_initialpose_resets_the_filter(fusion):
    node, h, topics = fusion
    out = h.collect(Odometry, topics["out"], qos=100)
    t0 = node.get_clock().now().nanoseconds
    odom_pub, _ = _drive(h, node, topics, t0, 10)
    init_pub = h.publisher(PoseWithCovarianceStamped, "/initialpose")
    init_pub.publish(F.pose_with_covariance_stamped(Pose.from_xyz_yaw(5.0, 2.0, math.pi / 2), np.eye(6) * 0.01,
                                                    t0 + 9 * 20 * MS, "map"))
    h.wait_for(lambda: node.counts["initial_pose"] == 1, what="/initialpose to be handled")
    odom_pub.publish(_odom(t0, 10))
    h.wait_for(lambda: any(m.pose.pose.position.x > 4.0 for m in out), what="output at the new pose")
    last = out[-1].pose.pose.position
    assert (last.x, last.y) == pytest.approx((5.0, 2.02), abs=1e-3)  # 2 cm forward along +y (yaw 90 deg)


def test_reset_service(fusion):
    node, h, topics = fusion
    t0 = node.get_clock().now().nanoseconds
    _drive(h, node, topics, t0, 6)
    assert node.fuser.initialized
    reply = h.call(Trigger, f"{node.get_namespace()}/fusion_node/reset", Trigger.Request())
    assert reply.success and "reset" in reply.message
    assert not node.fuser.initialized


def test_parameter_applied_and_invalid_rejected_through_service(fusion):
    node, h, _ = fusion
    name = f"{node.get_namespace()}/fusion_node/set_parameters"

    def set_double(param, value):
        request = SetParameters.Request(parameters=[ParameterMsg(name=param, value=ParameterValue(
            type=ParameterType.PARAMETER_DOUBLE, double_value=value))])
        return h.call(SetParameters, name, request).results[0]

    assert set_double("gate_probability", 0.95).successful
    assert node.fuser.config.gate_probability == 0.95
    bad = set_double("history_s", 30.0)  # above time_jump_s (5 s): inconsistent
    assert not bad.successful and "time_jump_s" in bad.reason
    assert node.fuser.config.history_s == 2.0


def test_bad_inputs_are_counted_and_the_node_keeps_running(fusion):
    node, h, topics = fusion
    diags = h.collect(DiagnosticArray, "/diagnostics")
    t0 = node.get_clock().now().nanoseconds
    odom_pub, pose_pub = _drive(h, node, topics, t0, 5)
    nan = _odom(t0, 5)
    nan.twist.twist.linear.x = float("nan")
    odom_pub.publish(nan)
    h.wait_for(lambda: node.counts["bad_odometry"] == 1, what="NaN odometry counted")
    odom_pub.publish(_odom(t0, 2))  # stamp going backwards (already seen)
    h.wait_for(lambda: node.counts["odometry_stamp_not_increasing"] == 1, what="backwards stamp counted")
    bad_quat = F.pose_with_covariance_stamped(Pose(), COV, t0 + 100 * MS, "map")
    bad_quat.pose.pose.orientation.w = 3.0
    pose_pub.publish(bad_quat)
    h.wait_for(lambda: node.counts["bad_pose"] == 1, what="non-unit quaternion counted")
    odom_pub.publish(_odom(t0, 6))
    h.wait_for(lambda: node._last_odom_stamp == t0 + 6 * 20 * MS, what="the node to keep running")
    h.wait_for(lambda: any(kv.key == "bad_odometry" and kv.value == "1" for m in diags for s in m.status
                           for kv in s.values if s.name.endswith("pose fusion")), what="diagnostics with the count")
    ahead = F.pose_with_covariance_stamped(Pose(), COV, t0 + 60 * 10**9, "map")  # past max_future_s (5 s)
    pose_pub.publish(ahead)  # well-formed but unusable: a rejection, which WARNs too (it used to count silently)
    h.wait_for(lambda: node.counts["pose_future"] == 1, what="the future pose rejected")
    h.wait_for(lambda: any(s.level == DiagnosticStatus.WARN and "bad_odometry: 1" in s.message
                           and "bad_pose: 1" in s.message and "pose_future: 1" in s.message
                           for m in diags for s in m.status), what="a WARN status naming the three problems")
