"""The error shape: fitted from error vectors with known per-axis variances, stored in a model's
calibration, and the coverage its Mahalanobis distances give."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from pose_regressor_node.error_shape import MIN_FACTOR, ErrorShape, mahalanobis
from pose_regressor_node.inference.frame_regressor import base_covariance


def _errors(rng, variances, factors, n=20000):
    return rng.normal(size=(n, 3)) * np.sqrt(np.asarray(variances)[:, None] * np.asarray(factors)[None, :])


def test_the_shape_is_fitted_from_errors_whose_variance_changes_per_frame(rng):
    variances = rng.uniform(0.01, 0.09, 20000)  # per frame, as the head predicts them
    t = _errors(rng, variances, [1.8, 1.2, 0.0])  # a car: no error in height
    r = _errors(rng, variances, [0.15, 0.15, 2.7])
    shape = ErrorShape.fit(t, variances, r, variances)
    assert shape.translation.sum() == pytest.approx(3.0) and shape.rotation.sum() == pytest.approx(3.0)
    np.testing.assert_allclose(shape.translation[:2] / shape.translation[0], [1.0, 1.2 / 1.8], rtol=0.03)
    assert shape.translation[2] == pytest.approx(MIN_FACTOR * 3.0 / (3.0 + MIN_FACTOR), rel=1e-6)  # floored
    np.testing.assert_allclose(shape.rotation, [0.15, 0.15, 2.7], rtol=0.05)
    # with the shape, the regions hold what chi-square(3) says; spread evenly over x, y, z they do not
    fitted = mahalanobis(r, variances, shape.rotation)
    even = mahalanobis(r, variances, np.ones(3))
    fitted, even = fitted / (np.median(fitted) / chi2.median(3)), even / (np.median(even) / chi2.median(3))
    assert np.mean(fitted <= 1.0) == pytest.approx(chi2.cdf(1.0, 3), abs=0.015)
    assert np.mean(fitted <= 4.0) == pytest.approx(chi2.cdf(4.0, 3), abs=0.015)
    assert np.mean(even <= 4.0) < chi2.cdf(4.0, 3) - 0.08  # 64.5 % against 73.9 %


def test_the_shape_travels_in_the_calibration_and_old_calibrations_are_isotropic():
    shape = ErrorShape(np.array([1.5, 1.4, 0.1]), np.array([0.1, 0.2, 2.7]))
    calibration = {"variance_scale_translation": 0.1, **shape.to_calibration()}
    back = ErrorShape.from_calibration(calibration)
    np.testing.assert_array_equal(back.translation, shape.translation)
    np.testing.assert_array_equal(back.rotation, shape.rotation)
    old = ErrorShape.from_calibration({"variance_scale_translation": 0.1, "variance_scale_rotation": 0.06})
    np.testing.assert_array_equal(old.translation, np.ones(3))
    np.testing.assert_array_equal(old.rotation, np.ones(3))


def test_base_covariance_takes_one_variance_per_axis():
    lever = np.array([-0.1, 0.02, -0.15])
    iso = base_covariance(0.04, 0.01, lever)
    np.testing.assert_allclose(base_covariance(np.full(3, 0.04), np.full(3, 0.01), lever), iso)
    shaped = base_covariance(0.04 * np.array([1.5, 1.4, 0.1]), 0.01 * np.array([0.1, 0.2, 2.7]), lever)
    np.testing.assert_allclose(np.diag(shaped)[3:], 0.01 * np.array([0.1, 0.2, 2.7]))
    assert np.all(np.linalg.eigvalsh(shaped) > 0)
