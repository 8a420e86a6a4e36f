from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pose_regressor_node.errors import ParameterError
from pose_regressor_node.fusion import FusionConfig, PoseFuser, fuse_in_arrival_order
from pose_regressor_node.geometry import Pose, quat_from_euler
from pose_regressor_node.measurements import OdometrySample, PoseEstimate

T0 = 1_000_000_000_000
MS = 1_000_000
COV = np.diag([0.04, 0.04, 0.01, 0.01, 0.01, 0.003])


def odom(k: int, speed: float = 1.0, yaw_rate: float = 0.2, dt_ms: int = 20, scale: float = 1.0) -> OdometrySample:
    """Odometry of a car driving an arc: sample k at T0 + k*dt; ``scale`` multiplies the reported distances."""
    t = k * dt_ms / 1000.0
    yaw = yaw_rate * t
    x = speed / yaw_rate * math.sin(yaw) if yaw_rate else speed * t
    y = speed / yaw_rate * (1 - math.cos(yaw)) if yaw_rate else 0.0
    return OdometrySample(T0 + k * dt_ms * MS, Pose.from_xyz_yaw(scale * x, scale * y, yaw),
                          [scale * speed, 0, 0, 0, 0, yaw_rate])


def pose_at(k: int, dx=0.0, dy=0.0, dyaw=0.0, dt_ms: int = 20, **arc) -> PoseEstimate:
    o = odom(k, dt_ms=dt_ms, **arc).pose
    return PoseEstimate(T0 + k * dt_ms * MS, Pose.from_xyz_yaw(o.position[0] + dx, o.position[1] + dy, o.yaw + dyaw), COV)


def is_spd(p: np.ndarray) -> bool:
    return np.allclose(p, p.T, atol=1e-12) and np.all(np.linalg.eigvalsh(p) > 0)


def started(config: FusionConfig = FusionConfig(), until: int = 10) -> PoseFuser:
    """A filter initialised from three agreeing poses (k = 0, 5, 10) on the arc."""
    f = PoseFuser(config)
    for k in range(until + 1):
        f.add_odometry(odom(k))
        if k % 5 == 0:
            f.add_pose(pose_at(k))
    assert f.initialized
    return f


def test_initialises_from_agreeing_poses_and_tracks():
    f = PoseFuser()
    assert f.state() is None
    f.add_odometry(odom(0))
    assert f.add_pose(pose_at(0)).reason == "initializing"
    for k in range(1, 100):
        f.add_odometry(odom(k))
        if k % 5 == 0:
            decision = f.add_pose(pose_at(k))
            assert decision.accepted or (k == 5 and decision.reason == "initializing")
    s = f.state()
    assert s.stamp_ns == odom(99).stamp_ns
    assert s.pose.is_close(odom(99).pose, tol_m=1e-6, tol_deg=1e-4)
    assert is_spd(s.covariance) and np.all(np.diag(s.covariance) > 0)


def test_a_single_outlier_first_pose_does_not_initialise_the_filter():
    """Defect: the first pose initialised the filter unconditionally (here 3 m off)."""
    f = PoseFuser()
    f.add_odometry(odom(0))
    f.add_pose(pose_at(0, dx=3.0))
    for k in range(1, 16):
        f.add_odometry(odom(k))
        if k % 5 == 0:
            f.add_pose(pose_at(k))
    assert f.state().pose.is_close(odom(15).pose, tol_m=1e-3, tol_deg=0.1)


def test_pose_equal_to_state_changes_nothing_but_shrinks_p():
    f = started()
    for k in range(11, 20):
        f.add_odometry(odom(k))
    before = f.state()
    f.add_pose(PoseEstimate(before.stamp_ns, before.pose, COV))
    after = f.state()
    assert after.pose.is_close(before.pose, tol_m=1e-12, tol_deg=1e-9)
    assert np.all(np.diag(after.covariance) <= np.diag(before.covariance) + 1e-15)
    assert np.trace(after.covariance) < np.trace(before.covariance)


def test_yaw_near_pi_is_continuous():
    f = PoseFuser()
    start = Pose.from_xyz_yaw(0, 0, math.pi - 0.01)
    f.add_odometry(OdometrySample(T0, Pose()))
    f.reset(start, np.diag([0.04, 0.04, 0.01, 0.01, 0.01, 0.003]), stamp_ns=T0)
    measured = Pose.from_xyz_yaw(0, 0, -math.pi + 0.01)  # 0.02 rad away across the wrap
    f.add_odometry(OdometrySample(T0 + 20 * MS, Pose()))
    assert f.add_pose(PoseEstimate(T0 + 20 * MS, measured, COV)).accepted
    yaw = f.state().pose.yaw
    assert abs(abs(yaw) - math.pi) < 0.011  # between the two, not pulled through 0


def test_late_pose_is_applied_at_capture_time():
    """A pose 100 ms late gives the same result as the same pose arriving on time."""
    on_time, late = started(), started()
    for k in range(11, 40):
        on_time.add_odometry(odom(k))
        if k == 30:
            on_time.add_pose(pose_at(30, dx=0.1))
    for k in range(11, 40):
        late.add_odometry(odom(k))
        if k == 35:
            late.add_pose(pose_at(30, dx=0.1))
    a, b = on_time.state(), late.state()
    np.testing.assert_allclose(a.pose.position, b.pose.position, atol=1e-9)
    np.testing.assert_allclose(a.covariance, b.covariance, atol=1e-12)


def test_stale_pose_is_refused_and_never_resets_the_filter():
    """Defect: a pose more than time_jump_s older than the newest input reset the filter from it (a 3 m jump)."""
    f = started(FusionConfig(history_s=0.5))
    for k in range(11, 600):
        f.add_odometry(odom(k))
    before = f.state()
    stale = PoseEstimate(T0, Pose.from_xyz_yaw(3.0, 0.0, 0.0), COV)  # 12 s old
    d = f.add_pose(stale)
    assert not d.accepted and d.reason == "too_old" and "history" in d.detail
    assert f.initialized and f.state().pose.is_close(before.pose, tol_m=0, tol_deg=0)
    assert f.stats()["too_old"] == 1 and "clock_jump_reset" not in f.stats()


def test_a_backward_clock_step_of_a_few_seconds_resets():
    """Defect: a backward clock step of 2-5 s was never reset: every input was refused until time caught up."""
    f = started()
    for k in range(11, 300):
        f.add_odometry(odom(k))
    back = T0 + 300 * 20 * MS - 3 * 10**9  # a bag restarted 3 s earlier
    assert f.add_odometry(OdometrySample(back, Pose())).accepted
    assert not f.initialized and f.stats()["clock_jump_reset"] == 1
    for i in range(1, 30):  # and it runs again on the new timeline
        f.add_odometry(OdometrySample(back + i * 20 * MS, Pose()))
        if i % 5 == 0:
            f.add_pose(PoseEstimate(back + i * 20 * MS, Pose.from_xyz_yaw(1.0, 2.0, 0.0), COV))
    assert f.initialized and f.state().pose.is_close(Pose.from_xyz_yaw(1.0, 2.0, 0.0), tol_m=0.01, tol_deg=1.0)


def test_duplicate_regressed_pose_is_fused_once():
    """Defect: the same regressed pose delivered twice was fused twice."""
    f = started()
    f.add_odometry(odom(11))
    first = f.add_pose(pose_at(11, dx=0.05))
    once = f.state()
    again = f.add_pose(pose_at(11, dx=0.05))
    assert first.accepted and not again.accepted and again.reason == "duplicate"
    np.testing.assert_array_equal(f.state().covariance, once.covariance)


def test_odometry_restart_does_not_move_the_fused_pose():
    """Defect: an odometry restart (pose back to zero) shifted the fused pose by metres for about a second."""
    f = started()
    for k in range(11, 100):
        f.add_odometry(odom(k))
    before = f.state().pose
    restart = odom(100)
    f.add_odometry(OdometrySample(restart.stamp_ns, Pose(), restart.twist))  # the odometry node restarted
    assert f.stats()["odometry_jump"] == 1
    after = f.state().pose
    assert float(np.linalg.norm(after.position - before.position)) == pytest.approx(0.02, abs=0.005)  # 1 m/s, 20 ms
    base = odom(100).pose
    for k in range(101, 110):  # and odometry keeps working from its new origin
        moved = base.inverse() @ odom(k).pose
        f.add_odometry(OdometrySample(odom(k).stamp_ns, moved, odom(k).twist))
    assert f.state().pose.is_close(odom(109).pose, tol_m=0.01, tol_deg=0.5)


def test_yaw_jump_in_odometry_is_re_anchored():
    f = started()
    for k in range(11, 50):
        f.add_odometry(odom(k))
    jumped = odom(50)
    f.add_odometry(OdometrySample(jumped.stamp_ns, jumped.pose @ Pose.from_xyz_yaw(0, 0, math.radians(20)),
                                  jumped.twist))
    assert f.stats()["odometry_jump"] == 1
    assert abs(math.degrees(f.state().pose.yaw - odom(50).pose.yaw)) < 0.5


def test_future_stamps_are_refused_in_replay_too():
    """Defect: future stamps were checked only when the node passed now_ns; replay never did."""
    odometry = [odom(k) for k in range(200)]
    poses = [pose_at(k) for k in range(0, 200, 5)]
    early = fuse_in_arrival_order(odometry, poses, latency_ns=-2 * 10**9)  # poses "arriving" 2 s before capture
    assert early.decisions["future"] == len(poses) and not early.poses


def test_extrapolation_past_the_newest_odometry_uses_the_estimated_velocity():
    """Defect: past the newest odometry the twist carried the pose, and a twist left at zero stopped it."""
    f = PoseFuser()
    for k in range(60):
        sample = odom(k, yaw_rate=0.0)
        f.add_odometry(OdometrySample(sample.stamp_ns, sample.pose))  # twist fields left at zero
        if k % 5 == 0:
            f.add_pose(pose_at(k, yaw_rate=0.0))
    ahead = f.state_at(odom(59).stamp_ns + 120 * MS)
    assert ahead.pose.position[0] == pytest.approx(odom(59, yaw_rate=0.0).pose.position[0] + 0.12, abs=0.01)


def test_output_continues_from_regressed_poses_when_odometry_drops_out():
    f = started()
    for k in range(11, 50):
        f.add_odometry(odom(k))
        if k % 5 == 0:
            f.add_pose(pose_at(k))
    for k in range(50, 300, 5):  # 5 s of regressed poses only
        f.add_pose(pose_at(k))
    assert f.health().odometry == "absent"
    assert f.state().pose.is_close(odom(295).pose, tol_m=0.05, tol_deg=2.0)
    ahead = f.state_at(odom(297).stamp_ns)  # carried forward at the estimated velocity
    assert ahead.pose.is_close(odom(297).pose, tol_m=0.05, tol_deg=2.0)


def test_wrong_odometry_scale_is_estimated():
    f = PoseFuser()
    for k in range(600):
        f.add_odometry(odom(k, scale=0.5))  # the odometry reports half the distance
        if k % 5 == 0:
            f.add_pose(pose_at(k))
    assert f.health().odometry_scale == pytest.approx(2.0, rel=0.05)
    assert f.state().pose.is_close(odom(599).pose, tol_m=0.05, tol_deg=1.0)


def test_stuck_wheels_are_dropped_and_the_regressed_poses_followed():
    f = started()
    for k in range(11, 100):
        f.add_odometry(odom(k))
        if k % 5 == 0:
            f.add_pose(pose_at(k))
    stuck = odom(99)
    for k in range(100, 400):  # the wheels report no motion for 6 s while the car drives on
        f.add_odometry(OdometrySample(odom(k).stamp_ns, stuck.pose))
        if k % 5 == 0:
            f.add_pose(pose_at(k))
    assert f.health().odometry == "dropped" and f.health().distrusted == "odometry"
    assert f.state().pose.is_close(odom(399).pose, tol_m=0.15, tol_deg=3.0)


def test_process_noise_grows_per_second_when_standing_still():
    config = FusionConfig(noise_xy_per_s=0.1)
    f = PoseFuser(config)
    f.add_odometry(OdometrySample(T0, Pose()))
    f.reset(Pose(), np.diag([0.01] * 6), stamp_ns=T0)
    f.add_odometry(OdometrySample(T0 + 10 * 10**9 // 50, Pose()))  # 0.2 s later (within the odometry timeout)
    var = f.state().covariance[0, 0]
    assert var == pytest.approx(0.01 + 0.1 ** 2 * 0.2, rel=1e-6)


def test_three_d_mode_noise_is_in_the_frame_the_data_is_in():
    """Defect: 3-D mode's noise axes assumed a z-up base_link, so odometry in a camera frame got the wrong axes."""
    def grown(step: Pose) -> np.ndarray:
        f = PoseFuser(FusionConfig(two_d_mode=False))
        f.add_odometry(OdometrySample(T0, Pose()))
        f.reset(Pose(), np.diag([1e-6] * 6), stamp_ns=T0)
        f.add_odometry(OdometrySample(T0 + 20 * MS, step))
        return np.diag(f.state().covariance)

    forward_x = grown(Pose([1.0, 0.0, 0.0]))
    forward_z = grown(Pose([0.0, 0.0, 1.0]))  # a camera-frame odometry: z is forward
    assert forward_x[:3].sum() == pytest.approx(forward_z[:3].sum(), rel=1e-6)
    assert forward_x[0] == pytest.approx(forward_z[2], rel=1e-6)


def test_outliers_are_gated_and_counted():
    f = started()
    f.add_odometry(odom(11))
    before = f.state()
    d = f.add_pose(pose_at(11, dx=3.0))
    assert not d.accepted and d.reason == "gated" and "Mahalanobis" in d.detail
    assert f.state().pose.is_close(before.pose, tol_m=0, tol_deg=0)


def test_kidnapped_robot_reinitialises_from_a_consistent_set():
    f = started(FusionConfig(kidnap_rejections=4))
    reasons = []
    for k in range(11, 60):
        f.add_odometry(odom(k))
        if k % 5 == 0:
            reasons.append(f.add_pose(pose_at(k, dx=2.0, dy=-1.0)).reason)
    assert reasons[:3] == ["gated"] * 3 and "reinitialized" in reasons
    assert f.state().pose.position[0] == pytest.approx(odom(59).pose.position[0] + 2.0, abs=0.05)


@pytest.mark.parametrize("bad, reason", [
    (PoseEstimate(T0, Pose(), np.full((6, 6), np.nan)), "NaN"),
    (PoseEstimate(T0, Pose(), np.zeros((6, 6))), "zero or negative"),
    (PoseEstimate(T0, Pose(), np.diag([1, 1, 1, 1, 1, -1.0])), "zero or negative"),
])
def test_bad_pose_input_rejected_state_untouched(bad, reason):
    f = started()
    before = f.state()
    d = f.add_pose(bad)
    assert not d.accepted and d.reason == "invalid" and reason in d.detail
    assert f.state().pose.is_close(before.pose, tol_m=0, tol_deg=0)


def test_bad_odometry_and_future_stamps_rejected():
    f = started()
    nan_twist = OdometrySample(T0 + 11 * 20 * MS, Pose(), [np.nan, 0, 0, 0, 0, 0])
    assert f.add_odometry(nan_twist).reason == "invalid"
    assert f.add_odometry(odom(0)).reason == "duplicate"
    assert f.add_pose(pose_at(500), now_ns=T0).reason == "future"
    assert f.stats()["invalid"] == 1


def test_reset_with_initial_pose_and_map_to_odom():
    f = PoseFuser()
    f.add_odometry(OdometrySample(T0, Pose.from_xyz_yaw(1.0, 0.0, 0.0)))
    f.reset(Pose.from_xyz_yaw(5.0, 2.0, math.pi / 2), np.diag([0.01] * 6), stamp_ns=T0)
    s = f.state()
    assert s.pose.is_close(Pose.from_xyz_yaw(5.0, 2.0, math.pi / 2))
    assert (s.map_to_odom @ Pose.from_xyz_yaw(1.0, 0.0, 0.0)).is_close(s.pose, tol_m=1e-9, tol_deg=1e-6)


def test_three_d_mode_tracks_full_pose():
    f = PoseFuser(FusionConfig(two_d_mode=False, init_poses=1))
    f.add_odometry(OdometrySample(T0, Pose()))
    tilted = Pose([0.0, 0.0, 0.1], quat_from_euler(0.05, -0.03, 0.3))
    f.add_pose(PoseEstimate(T0, tilted, COV))
    assert f.state().pose.is_close(tilted, tol_m=1e-9, tol_deg=1e-6)
    assert f.state().covariance.shape == (6, 6)


def test_config_validation_and_runtime_change():
    with pytest.raises(ParameterError, match="gate_probability"):
        FusionConfig(gate_probability=1.5)
    with pytest.raises(ParameterError, match="noise_xy_per_m must be a finite number"):
        FusionConfig(noise_xy_per_m=float("nan"))
    with pytest.raises(ParameterError, match="kidnap_rejections"):
        FusionConfig(init_poses=5, kidnap_rejections=3)
    f = PoseFuser()
    f.configure(f.config.updated(gate_probability=0.9))
    assert f.config.gate_probability == 0.9
    with pytest.raises(ParameterError, match="unknown"):
        f.config.updated(nope=1)


events = st.lists(  # one pose per stamp: a second pose with the same stamp is a duplicate, kept out on arrival
    st.tuples(st.integers(0, 60), st.booleans(), st.floats(-0.3, 0.3), st.floats(-0.2, 0.2)),
    min_size=5, max_size=40, unique_by=lambda event: event[0],
)


def _inputs(spec):
    items = [("odom", odom(k)) for k in range(0, 61)]
    for k, _, dx, dyaw in spec:
        items.append(("pose", pose_at(k, dx=dx, dyaw=dyaw)))
    return items


def _feed(items):
    f = PoseFuser(FusionConfig(history_s=3.0))
    for kind, item in items:
        if kind == "odom":
            f.add_odometry(item)
        else:
            f.add_pose(item)
        s = f.state()
        if s is not None:
            assert is_spd(s.covariance), "covariance lost symmetry or positive definiteness"
    return f


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.randoms(use_true_random=False))
def test_covariance_spd_and_arrival_order_does_not_matter(spec, random):
    items = _inputs(spec)
    in_order = sorted(items, key=lambda kv: (kv[1].stamp_ns, kv[0] == "pose"))
    shuffled = list(items)
    random.shuffle(shuffled)
    a, b = _feed(in_order).state(), _feed(shuffled).state()
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_allclose(a.pose.position, b.pose.position, atol=1e-9)
        np.testing.assert_allclose(a.pose.quaternion, b.pose.quaternion, atol=1e-9)
        np.testing.assert_allclose(a.covariance, b.covariance, atol=1e-9)
