"""The error shape: rotation error vectors, planar detection, the 6x6 covariance, and its checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2

from pose_regressor_node.error_shape import ErrorShape, detect_planar, rotation_error_vectors
from pose_regressor_node.geometry import quat_from_euler, quat_from_rotvec, quat_from_yaw, quat_multiply
from pose_regressor_node.training.calibration import variance_scale
from pose_regressor_node.training.evaluate import summarize_uncertainty

# A forward-looking camera's optical frame (z forward, y down) on a car heading along map x.
OPTICAL = quat_from_euler(-math.pi / 2, 0.0, -math.pi / 2)


def _car_poses(n: int, rng: np.random.Generator):
    yaws = rng.uniform(-math.pi, math.pi, n)
    quats = np.array([quat_multiply(quat_from_yaw(y), OPTICAL) for y in yaws])
    positions = np.column_stack([rng.uniform(0, 5, n), rng.uniform(0, 4, n), 0.15 + rng.normal(0, 0.002, n)])
    return positions, quats


def test_rotation_error_vectors_are_in_map_axes_and_sign_safe():
    truth = np.array([OPTICAL, OPTICAL])
    yawed = quat_multiply(quat_from_yaw(0.1), OPTICAL)  # the camera turned 0.1 rad about map z
    rolled = quat_multiply(quat_from_rotvec([0.02, 0.0, 0.0]), OPTICAL)  # 0.02 rad about map x
    vectors = rotation_error_vectors(np.array([yawed, -rolled]), truth)
    np.testing.assert_allclose(vectors, [[0.0, 0.0, 0.1], [0.02, 0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(rotation_error_vectors(truth, truth), 0.0, atol=1e-12)


def test_a_car_on_a_floor_is_planar_and_a_handheld_camera_is_not():
    rng = np.random.default_rng(0)
    positions, quats = _car_poses(200, rng)
    assert detect_planar(positions, quats)
    lifted = positions.copy()
    lifted[:, 2] += np.linspace(0.0, 0.3, len(lifted))  # carried up a ramp or by hand
    assert not detect_planar(lifted, quats)
    tilted = np.array([quat_multiply(quat_from_rotvec([0.0, math.radians(10.0) * s, 0.0]), q)
                       for s, q in zip(rng.choice([-1.0, 1.0], len(quats)), quats)])
    assert not detect_planar(positions, tilted)
    assert not detect_planar(positions[:1], quats[:1])


def test_planar_covariance_puts_the_variances_on_x_y_and_yaw_with_the_lever_arm():
    shape = ErrorShape(planar=True, height_var=1e-6, tilt_var=4e-6)
    cov = shape.covariance(0.04, 0.01, np.array([0.1, 0.0, 0.0]))  # base 10 cm ahead of the camera along x
    # by hand: a yaw error d swings the base sideways by 0.1 d, a pitch error moves it down by 0.1 d
    assert cov[0, 0] == pytest.approx(0.04)
    assert cov[1, 1] == pytest.approx(0.04 + 0.01 * 0.1 ** 2)
    assert cov[2, 2] == pytest.approx(1e-6 + 4e-6 * 0.1 ** 2)
    assert cov[5, 5] == pytest.approx(0.01) and cov[3, 3] == cov[4, 4] == pytest.approx(4e-6)
    assert cov[1, 5] == pytest.approx(0.001) and cov[5, 1] == pytest.approx(0.001)
    assert cov[2, 4] == pytest.approx(-0.1 * 4e-6)
    assert np.all(np.linalg.eigvalsh(cov) > 0)

    free = ErrorShape().covariance(0.04, 0.01, np.array([0.1, 0.0, 0.0]))
    np.testing.assert_allclose(np.diag(free), [0.04, 0.0401, 0.0401, 0.01, 0.01, 0.01])
    assert free[1, 5] == pytest.approx(0.001) and free[2, 4] == pytest.approx(-0.001)


def test_the_shape_travels_in_the_calibration_and_old_models_stay_free():
    shape = ErrorShape(planar=True, height_var=2e-6, tilt_var=3e-6)
    assert ErrorShape.from_calibration(shape.to_calibration()) == shape
    old = {"variance_scale_translation": 0.1, "variance_scale_rotation": 0.06, "frames": 601.0}
    assert ErrorShape.from_calibration(old) == ErrorShape() and not ErrorShape.from_calibration(old).planar
    assert ErrorShape.from_calibration(ErrorShape().to_calibration()) == ErrorShape()


def test_planar_errors_meet_their_chi_square_under_the_planar_shape_and_miss_under_the_free_one():
    """Errors drawn in x, y and yaw with each frame's own variance (the car's case): the planar checks
    find the chi-square(2) and chi-square(1) shares; the isotropic 3-D checks cannot."""
    rng = np.random.default_rng(1)
    n = 20000
    log_var = np.column_stack([rng.uniform(-7.0, -4.0, n), rng.uniform(-10.0, -7.0, n)])
    sd_t, sd_r = np.exp(0.5 * log_var[:, 0]), np.exp(0.5 * log_var[:, 1])
    # out-of-plane errors the head's variances do not describe (the shape's constants do): large
    # enough that counting them would move every share
    position_errors = np.column_stack([rng.normal(0, sd_t), rng.normal(0, sd_t), rng.normal(0, 0.02, n)])
    rotation_errors = np.column_stack([rng.normal(0, 0.005, n), rng.normal(0, 0.005, n), rng.normal(0, sd_r)])

    planar = summarize_uncertainty(position_errors, rotation_errors, log_var, ErrorShape(planar=True))
    assert planar.shape == "planar"
    assert planar.expected_1sigma_t == pytest.approx(chi2.cdf(1, 2))
    assert planar.expected_2sigma_r == pytest.approx(chi2.cdf(4, 1))
    assert abs(planar.within_1sigma_t - planar.expected_1sigma_t) < 0.015
    assert abs(planar.within_2sigma_t - planar.expected_2sigma_t) < 0.015
    assert abs(planar.within_1sigma_r - planar.expected_1sigma_r) < 0.015
    assert abs(planar.within_2sigma_r - planar.expected_2sigma_r) < 0.015
    assert planar.spearman_t > 0.3 and planar.spearman_r > 0.3  # the sigmas vary by e^1.5 and rank the errors

    free = summarize_uncertainty(position_errors, rotation_errors, log_var, ErrorShape())
    assert free.expected_1sigma_r == pytest.approx(chi2.cdf(1, 3))
    assert free.within_1sigma_r - free.expected_1sigma_r > 0.3  # mostly one axis of error against three of sigma

    # calibration: errors four times the predicted variance give a scale of 4 under the right dof
    assert variance_scale(4.0 * np.sum(position_errors[:, :2] ** 2, axis=1), np.exp(log_var[:, 0]), 2) == \
        pytest.approx(4.0, rel=0.05)
    assert variance_scale(rotation_errors[:, 2] ** 2, np.exp(log_var[:, 1]), 1) == pytest.approx(1.0, rel=0.05)


def test_fitting_the_shape_measures_the_out_of_plane_errors():
    position_errors = np.array([[0.1, 0.0, 0.002], [0.0, -0.1, -0.002]])
    rotation_errors = np.array([[0.001, 0.003, 0.05], [-0.001, -0.003, -0.05]])
    shape = ErrorShape.fit(True, position_errors, rotation_errors)
    assert shape.planar and shape.height_var == pytest.approx(4e-6)
    assert shape.tilt_var == pytest.approx((1e-6 + 9e-6) / 2)
    assert ErrorShape.fit(False, position_errors, rotation_errors) == ErrorShape()
    zero = ErrorShape.fit(True, np.zeros((2, 3)), np.zeros((2, 3)))
    assert zero.height_var > 0 and zero.tilt_var > 0  # floors keep the covariance positive definite
