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
        h.wait_for(lambda k=k: node.fuser.newest_stamp_ns == t0 + k * 20 * MS, what=f"odometry {k} handled")
    return odom_pub, pose_pub


def _stamp(msg) -> int:
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def _status(diags):
    return [s for m in diags for s in m.status if s.name.endswith("pose fusion")]


def test_fused_odometry_out_at_the_output_rate_stamped_by_the_data(fusion):
    node, h, topics = fusion
    out = h.collect(Odometry, topics["out"], qos=100)
    t0 = node.get_clock().now().nanoseconds
    _drive(h, node, topics, t0, 30)
    h.wait_for(lambda: out and _stamp(out[-1]) == t0 + 29 * 20 * MS, what="the newest odometry stamp published")
    stamps = [_stamp(m) for m in out]
    assert stamps == sorted(set(stamps))  # strictly increasing: never a stamp twice
    assert set(stamps) <= {t0 + k * 20 * MS for k in range(30)}  # each the time of data, not of the timer
    assert stamps[0] >= t0 + 10 * 20 * MS  # initialised from three agreeing poses (k = 0, 5, 10), not from one
    last = out[-1]
    assert last.header.frame_id == "map" and last.child_frame_id == "base_link"
    assert last.pose.pose.position.x == pytest.approx(0.58, abs=1e-3)
    assert np.all(np.diag(np.array(last.pose.covariance).reshape(6, 6)) > 0)
    assert last.twist.twist.linear.x == pytest.approx(1.0, abs=0.05)  # the filter's own velocity estimate


def test_output_continues_from_regressed_poses_alone_when_odometry_is_missing(fusion):
    node, h, topics = fusion
    out = h.collect(Odometry, topics["out"], qos=100)
    pose_pub = h.publisher(PoseWithCovarianceStamped, topics["pose"])
    t0 = node.get_clock().now().nanoseconds
    for k in range(12):  # 10 Hz poses of a car at 1 m/s, no odometry at all
        pose_pub.publish(F.pose_with_covariance_stamped(Pose.from_xyz_yaw(0.1 * k, 0.0, 0.0), COV,
                                                        t0 + k * 100 * MS, "map"))
        h.wait_for(lambda k=k: node.fuser.newest_stamp_ns == t0 + k * 100 * MS, what=f"pose {k} handled")
    newest = t0 + 11 * 100 * MS
    h.wait_for(lambda: len(out) >= 3 and _stamp(out[-1]) >= newest, what="fused output from the newest pose on")
    assert node.fuser.health().odometry == "absent"
    stamp = _stamp(out[-1])  # the receiver's "now", carried no further than max_extrapolation_s past the pose
    assert newest <= stamp <= newest + int(node.fuser.config.max_extrapolation_s * 1e9)
    # carried there at the estimated 1 m/s: the position is where the car is at that stamp
    assert out[-1].pose.pose.position.x == pytest.approx((stamp - t0) * 1e-9, abs=0.15)


def test_initialpose_resets_the_filter(fusion):
    node, h, topics = fusion
    out = h.collect(Odometry, topics["out"], qos=100)
    t0 = node.get_clock().now().nanoseconds
    odom_pub, _ = _drive(h, node, topics, t0, 12)
    init_pub = h.publisher(PoseWithCovarianceStamped, "/initialpose")
    init_pub.publish(F.pose_with_covariance_stamped(Pose.from_xyz_yaw(5.0, 2.0, math.pi / 2), np.eye(6) * 0.01,
                                                    t0 + 11 * 20 * MS, "map"))
    h.wait_for(lambda: node.counts["initial_pose"] == 1, what="/initialpose to be handled")
    odom_pub.publish(_odom(t0, 12))
    h.wait_for(lambda: any(m.pose.pose.position.x > 4.0 for m in out), what="output at the new pose")
    h.wait_for(lambda: _stamp(out[-1]) == t0 + 12 * 20 * MS, what="the newest stamp published")
    last = out[-1].pose.pose.position
    assert (last.x, last.y) == pytest.approx((5.0, 2.02), abs=1e-3)  # 2 cm forward along +y (yaw 90 deg)


def test_reset_service(fusion):
    node, h, topics = fusion
    t0 = node.get_clock().now().nanoseconds
    _drive(h, node, topics, t0, 12)
    assert node.fuser.initialized
    reply = h.call(Trigger, f"{node.get_namespace()}/fusion_node/reset", Trigger.Request())
    assert reply.success and "reset" in reply.message
    assert not node.fuser.initialized


def test_parameter_applied_and_invalid_rejected_through_service(fusion):
    node, h, _ = fusion
    name = f"{node.get_namespace()}/fusion_node/set_parameters"

    def set_param(param, value, kind=ParameterType.PARAMETER_DOUBLE):
        field = {ParameterType.PARAMETER_DOUBLE: "double_value", ParameterType.PARAMETER_STRING: "string_value",
                 ParameterType.PARAMETER_DOUBLE_ARRAY: "double_array_value"}[kind]
        request = SetParameters.Request(parameters=[ParameterMsg(name=param, value=ParameterValue(
            type=kind, **{field: value}))])
        return h.call(SetParameters, name, request).results[0]

    assert set_param("gate_probability", 0.95).successful
    assert node.fuser.config.gate_probability == 0.95
    for bad in (float("nan"), float("inf")):  # refused by the range rclpy checks, or by the settings' finiteness
        result = set_param("noise_xy_per_m", bad)
        assert not result.successful and ("finite" in result.reason or "out of range" in result.reason)
    result = set_param("initial_pose", [float("nan"), 0.0, 0.0], ParameterType.PARAMETER_DOUBLE_ARRAY)
    assert not result.successful and "initial_pose must hold finite numbers" in result.reason
    result = set_param("map_frame", "", ParameterType.PARAMETER_STRING)
    assert not result.successful and "map_frame must not be empty" in result.reason
    assert node.settings.initial_pose == [0.0, 0.0, 0.0] and node.settings.map_frame == "map"
    reply = h.call(Trigger, f"{node.get_namespace()}/fusion_node/reset", Trigger.Request())
    assert reply.success  # the refused NaN never reached the reset (it used to kill the process)
    assert set_param("publish_rate_hz", 20.0).successful
    assert node._output_timer.timer_period_ns == 50 * MS


def test_initial_pose_with_nan_is_refused_at_start_up(ros_context):
    from pose_regressor_node.errors import ParameterError

    with pytest.raises(ParameterError, match="initial_pose must hold finite numbers"):
        FusionNode(namespace=f"/t{uuid.uuid4().hex[:8]}", parameter_overrides=[
            Parameter("initial_pose", value=[float("nan"), 0.0, 0.0]), Parameter("use_initial_pose", value=True)])


def test_bad_inputs_are_counted_and_the_node_keeps_running(fusion):
    node, h, topics = fusion
    diags = h.collect(DiagnosticArray, "/diagnostics")
    t0 = node.get_clock().now().nanoseconds
    odom_pub, pose_pub = _drive(h, node, topics, t0, 5)
    nan = _odom(t0, 5)
    nan.twist.twist.linear.x = float("nan")
    odom_pub.publish(nan)
    h.wait_for(lambda: node.counts["bad_odometry"] == 1, what="NaN odometry counted")
    odom_pub.publish(_odom(t0, 2))  # already seen
    h.wait_for(lambda: node.counts["odometry_duplicate"] == 1, what="repeated odometry counted")
    bad_quat = F.pose_with_covariance_stamped(Pose(), COV, t0 + 100 * MS, "map")
    bad_quat.pose.pose.orientation.w = 3.0
    pose_pub.publish(bad_quat)
    h.wait_for(lambda: node.counts["bad_pose"] == 1, what="non-unit quaternion counted")
    odom_pub.publish(_odom(t0, 6))
    h.wait_for(lambda: node.fuser.newest_stamp_ns == t0 + 6 * 20 * MS, what="the node to keep running")
    h.wait_for(lambda: any(kv.key == "bad_odometry" and kv.value == "1" for s in _status(diags) for kv in s.values),
               what="diagnostics with the count")
    ahead = F.pose_with_covariance_stamped(Pose(), COV, t0 + 60 * 10**9, "map")  # past max_future_s (5 s)
    pose_pub.publish(ahead)
    h.wait_for(lambda: node.counts["pose_future"] == 1, what="the future pose rejected")
    h.wait_for(lambda: any(s.level == DiagnosticStatus.WARN and "bad_odometry: 1" in s.message
                           and "bad_pose: 1" in s.message and "pose_future: 1" in s.message for s in _status(diags)),
               what="a WARN status naming the three problems")


def test_frame_ids_are_checked(fusion):
    node, h, topics = fusion
    t0 = node.get_clock().now().nanoseconds
    odom_pub = h.publisher(Odometry, topics["odom"])
    pose_pub = h.publisher(PoseWithCovarianceStamped, topics["pose"])
    wrong = _odom(t0, 0)
    wrong.header.frame_id, wrong.child_frame_id = "world", "camera"
    odom_pub.publish(wrong)
    pose_pub.publish(F.pose_with_covariance_stamped(Pose(), COV, t0, "odom"))
    h.wait_for(lambda: node.counts["odometry_frame_mismatch"] == 1 and node.counts["odometry_child_frame_mismatch"] == 1
               and node.counts["pose_frame_mismatch"] == 1, what="the three frame mismatches counted")


def test_diagnostics_warn_when_poses_stop_and_recover_when_problems_age_out(ros_context):
    node = FusionNode(namespace=f"/t{uuid.uuid4().hex[:8]}", parameter_overrides=[
        Parameter("max_future_s", value=5.0), Parameter("pose_stale_s", value=0.5),
        Parameter("odometry_stale_s", value=60.0), Parameter("diagnostics_window_s", value=2.0)])
    h = Harness(node)
    try:
        ns = node.get_namespace()
        diags = h.collect(DiagnosticArray, "/diagnostics")
        odom_pub = h.publisher(Odometry, f"{ns}/odom")
        # the bad input stays in the status for diagnostics_window_s only: receive the status before sending it
        h.wait_for(lambda: len(_status(diags)) > 0, what="the status on /diagnostics")
        t0 = node.get_clock().now().nanoseconds
        nan = _odom(t0, 0)
        nan.twist.twist.linear.x = float("nan")
        odom_pub.publish(nan)
        h.wait_for(lambda: any(s.level == DiagnosticStatus.WARN and "no pose received yet" in s.message
                               and "bad_odometry" in s.message for s in _status(diags)),
                   what="WARN: no regressed pose, and the bad odometry")
        seen = len(diags)
        h.wait_for(lambda: any("bad_odometry" not in s.message for s in _status(diags[seen:])), timeout=8.0,
                   what="the bad odometry to age out of the status")
        values = {kv.key: kv.value for kv in _status(diags)[-1].values}
        assert values["bad_odometry"] == "1" and {"nis_per_dof", "distrusted", "odometry", "odometry_scale"} <= set(values)
    finally:
        h.close()


def test_no_type_description_service_whose_teardown_hung(fusion):
    """rclpy's ~/get_type_description service hung destroy_node at Ctrl-C (``ros.parameters.node_options``)."""
    node, _, _ = fusion
    assert node.get_parameter("start_type_description_service").value is False
    assert not [s.srv_name for s in node.services if s.srv_name.endswith("get_type_description")]
    assert [s.srv_name for s in node.services if s.srv_name.endswith("set_parameters")]  # the others are served
    assert node.get_parameter("max_future_s").value == 5.0  # the caller's overrides are kept
