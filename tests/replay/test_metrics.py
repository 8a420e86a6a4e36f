from __future__ import annotations

import numpy as np
import pytest

from pose_regressor_node.geometry import quat_from_euler
from pose_regressor_node.replay import PoseRelation, Trajectory, ape, associate, evaluate, rpe, statistics
from pose_regressor_node.sim import build_world, generate_trajectory


def _trajectories(seed=0, n=600):
    traj = generate_trajectory(build_world(2), "loop", seed=1, duration_s=n / 50.0)
    stamps = traj.stamps_ns
    positions = np.column_stack([traj.xy, np.zeros(len(traj))])
    quats = np.array([quat_from_euler(r, p, y) for r, p, y in zip(traj.roll, traj.pitch, traj.yaw)])
    rng = np.random.default_rng(seed)
    ref = Trajectory(stamps, positions, quats)
    noisy_q = np.array([quat_from_euler(r + rng.normal(0, 0.02), p + rng.normal(0, 0.02), y + rng.normal(0, 0.05))
                        for r, p, y in zip(traj.roll, traj.pitch, traj.yaw)])
    est = Trajectory(stamps + rng.integers(-3_000_000, 3_000_000, len(stamps)),
                     positions + rng.normal(0, 0.05, positions.shape), noisy_q)
    return ref, est


def test_association_respects_max_diff():
    ref = Trajectory(np.array([0, 100, 200]) * 10**6, np.zeros((3, 3)), np.tile([1.0, 0, 0, 0], (3, 1)))
    est = Trajectory(np.array([5, 150, 400]) * 10**6, np.ones((3, 3)), np.tile([1.0, 0, 0, 0], (3, 1)))
    r, e = associate(ref, est, max_diff_s=0.06)
    assert list(r.stamps_ns) == [0, 100_000_000] or list(r.stamps_ns) == [0, 200_000_000]
    assert list(e.stamps_ns)[0] == 5_000_000 and 400_000_000 not in list(e.stamps_ns)


def test_hand_computed_ape_and_statistics():
    ref = Trajectory(np.arange(2), np.zeros((2, 3)), np.tile([1.0, 0, 0, 0], (2, 1)))
    est = Trajectory(np.arange(2), np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]),
                     np.array([[1.0, 0, 0, 0], [np.cos(np.pi / 8), 0, 0, np.sin(np.pi / 8)]]))
    np.testing.assert_allclose(ape(ref, est, PoseRelation.translation), [5.0, 1.0])
    np.testing.assert_allclose(ape(ref, est, PoseRelation.rotation_deg), [0.0, 45.0], atol=1e-9)
    s = statistics(np.array([5.0, 1.0]))
    assert (s.mean, s.median, s.max, s.rmse) == pytest.approx((3.0, 3.0, 5.0, np.sqrt(13.0)))


def test_agreement_with_evo():
    evo_metrics = pytest.importorskip("evo.core.metrics", reason="evo is not installed")
    from evo.core.trajectory import PoseTrajectory3D

    ref, est = _trajectories()
    r, e = associate(ref, est, max_diff_s=0.01)

    def to_evo(t):
        q = t.quaternions  # evo takes w x y z
        return PoseTrajectory3D(positions_xyz=t.positions, orientations_quat_wxyz=q, timestamps=t.stamps_ns * 1e-9)

    ours = evaluate(ref, est, max_diff_s=0.01).stats()
    for relation, key in ((evo_metrics.PoseRelation.translation_part, "ape_m"),
                          (evo_metrics.PoseRelation.rotation_angle_deg, "ape_deg")):
        metric = evo_metrics.APE(relation)
        metric.process_data((to_evo(r), to_evo(e)))
        theirs = metric.get_all_statistics()
        for stat in ("rmse", "mean", "median", "std", "min", "max"):
            assert getattr(ours[key], stat) == pytest.approx(theirs[stat], abs=1e-6), (key, stat)
    for relation, key in ((evo_metrics.PoseRelation.translation_part, "rpe_m_per_m"),
                          (evo_metrics.PoseRelation.rotation_angle_deg, "rpe_deg_per_m")):
        metric = evo_metrics.RPE(relation, delta=1.0, delta_unit=evo_metrics.Unit.meters, all_pairs=False,
                                 pairs_from_reference=True)
        metric.process_data((to_evo(r), to_evo(e)))
        theirs = metric.get_all_statistics()
        assert ours[key].count == len(metric.error) > 5
        for stat in ("rmse", "mean", "median", "std", "min", "max"):
            assert getattr(ours[key], stat) == pytest.approx(theirs[stat], abs=1e-6), (key, stat)


def test_rpe_zero_for_a_rigidly_offset_estimate():
    ref, _ = _trajectories()
    shifted = Trajectory(ref.stamps_ns, ref.positions + np.array([1.0, -2.0, 0.0]), ref.quaternions)
    assert np.max(rpe(ref, shifted, PoseRelation.translation)) < 1e-9
