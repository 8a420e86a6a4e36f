from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose_regressor_node.geometry import (
    Pose,
    angle_diff,
    quat_canonical,
    quat_from_euler,
    quat_from_rotvec,
    quat_from_yaw,
    quat_multiply,
    quat_rotate,
    quat_to_euler,
    quat_to_rotvec,
    rotation_error_deg,
    skew,
    summarize_errors,
    translation_error,
    yaw_of,
)

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
quats = st.tuples(finite, finite, finite, finite).filter(lambda q: np.linalg.norm(q) > 1e-3).map(quat_canonical)
positions = st.tuples(finite, finite, finite).map(np.array)
poses = st.builds(Pose, positions, quats)


def test_rotation_error_hand_computed():
    q0 = np.array([1.0, 0, 0, 0])
    q90 = np.array([math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)])  # 90 deg about z
    assert rotation_error_deg(q0, q90) == pytest.approx(90.0, abs=1e-9)
    assert rotation_error_deg(q0, -q90) == pytest.approx(90.0, abs=1e-9)
    q180 = np.array([0.0, 1.0, 0, 0])
    assert rotation_error_deg(q0, q180) == pytest.approx(180.0, abs=1e-9)


def test_translation_error_hand_computed():
    assert translation_error([0, 0, 0], [3, 4, 0]) == pytest.approx(5.0)
    errs = translation_error(np.zeros((2, 3)), np.array([[1.0, 0, 0], [0, 2.0, 0]]))
    np.testing.assert_allclose(errs, [1.0, 2.0])


def test_rotation_error_no_nan_when_dot_slightly_above_one():
    q = np.array([1.0 + 1e-15, 0.0, 0.0, 0.0])  # |<q, q>| marginally above 1 after rounding
    err = rotation_error_deg(q * (1 + 1e-12), q)
    assert err == 0.0 and not math.isnan(err)


def test_yaw_and_euler_conventions():
    q = quat_from_euler(0.1, -0.2, 0.3)
    roll, pitch, yaw = quat_to_euler(q)
    assert (roll, pitch, yaw) == pytest.approx((0.1, -0.2, 0.3))
    assert yaw_of(quat_from_yaw(3.1)) == pytest.approx(3.1)
    assert yaw_of(quat_from_yaw(-3.1)) == pytest.approx(-3.1)


def test_angle_diff_wraps():
    assert angle_diff(math.pi - 0.1, -math.pi + 0.1) == pytest.approx(-0.2)
    assert angle_diff(-math.pi + 0.1, math.pi - 0.1) == pytest.approx(0.2)
    np.testing.assert_allclose(angle_diff(np.array([3.0, -3.0]), np.array([-3.0, 3.0])),
                               [6.0 - 2 * math.pi, -6.0 + 2 * math.pi])


def test_pose_compose_hand_computed():
    a = Pose.from_xyz_yaw(1.0, 0.0, math.pi / 2)
    b = Pose.from_xyz_yaw(1.0, 0.0, 0.0)
    c = a @ b
    np.testing.assert_allclose(c.position, [1.0, 1.0, 0.0], atol=1e-12)
    assert c.yaw == pytest.approx(math.pi / 2)


def test_pose_canonicalises_hemisphere_and_rejects_nan():
    p = Pose([0, 0, 0], [-1.0, 0, 0, 0])
    assert p.quaternion[0] == 1.0
    with pytest.raises(ValueError, match="finite"):
        Pose([np.nan, 0, 0], [1, 0, 0, 0])
    with pytest.raises(ValueError, match="not unit"):
        Pose.checked([0, 0, 0], [2.0, 0, 0, 0])


def test_summary_statistics():
    s = summarize_errors([0.01, 0.04, 0.2, 0.08], [1.0, 6.0, 2.0, 9.0])
    assert s.median_m == pytest.approx(0.06)
    assert s.mean_deg == pytest.approx(4.5)
    assert s.within_5cm_5deg == pytest.approx(0.25)  # 0.04 m / 6 deg fails on rotation
    assert s.within_10cm_10deg == pytest.approx(0.75)
    with pytest.raises(ValueError, match="empty"):
        summarize_errors([], [])


@given(quats)
def test_q_and_minus_q_are_zero_degrees(q):
    assert rotation_error_deg(q, -q) == pytest.approx(0.0, abs=1e-5)


@given(quats, quats)
def test_rotation_error_symmetric(q1, q2):
    assert rotation_error_deg(q1, q2) == pytest.approx(rotation_error_deg(q2, q1), abs=1e-9)


@settings(max_examples=50)
@given(poses)
def test_compose_with_inverse_is_identity(p):
    assert (p @ p.inverse()).is_close(Pose.identity(), tol_m=1e-9, tol_deg=1e-5)
    assert (p.inverse() @ p).is_close(Pose.identity(), tol_m=1e-9, tol_deg=1e-5)


@settings(max_examples=50)
@given(poses, poses)
def test_compose_matches_matrices(a, b):
    np.testing.assert_allclose((a @ b).as_matrix(), a.as_matrix() @ b.as_matrix(), atol=1e-9)


@given(st.tuples(finite, finite, finite).map(lambda v: np.array(v) * 0.3))
def test_rotvec_round_trip(v):
    q = quat_from_rotvec(v)
    assert rotation_error_deg(quat_from_rotvec(quat_to_rotvec(q)), q) == pytest.approx(0.0, abs=1e-5)


def test_quat_multiply_matches_matrix_product():
    q1, q2 = quat_from_euler(0.3, 0.1, -1.0), quat_from_euler(-0.2, 0.5, 2.0)
    r = Pose([0, 0, 0], quat_multiply(q1, q2)).rotation
    np.testing.assert_allclose(r, Pose([0, 0, 0], q1).rotation @ Pose([0, 0, 0], q2).rotation, atol=1e-12)


def test_rotvec_of_a_batch_matches_each_quaternion_and_skew_is_the_cross_product():
    rng = np.random.default_rng(3)
    rotvecs = np.vstack([np.zeros(3), [1e-14, 0.0, 0.0], rng.normal(0.0, 1.0, (20, 3))])
    quats = np.array([quat_from_rotvec(v) for v in rotvecs])
    quats[3] *= -2.0  # not unit, the other hemisphere: the same rotation
    np.testing.assert_allclose(quat_to_rotvec(quats), [quat_to_rotvec(q) for q in quats], atol=1e-12)
    u, v = rng.normal(size=3), rng.normal(size=3)
    np.testing.assert_allclose(skew(u) @ v, np.cross(u, v), atol=1e-12)


def test_batched_rotation_is_the_cross_product_formula_bit_for_bit(rng):
    """quat_rotate's batched path spells out np.cross; it must give the very same numbers, broadcast alike."""
    q = rng.standard_normal((6, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    for v in (rng.standard_normal((6, 3)), rng.standard_normal(3)):
        u, w = q[:, 1:], q[:, :1]
        uv = np.cross(u, v)
        np.testing.assert_array_equal(quat_rotate(q, v), v + 2.0 * (w * uv + np.cross(u, uv)))
