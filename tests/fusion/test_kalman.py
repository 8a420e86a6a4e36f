"""The closed-form error-state steps against filterpy's KalmanFilter with x = 0 (the arithmetic they replace)."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.kalman import KalmanFilter

from pose_regressor_node.fusion import kalman


def _spd(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.normal(size=(n, n))
    return a @ a.T + n * np.eye(n) * 0.1


def test_predict_and_update_match_filterpy_on_an_error_state():
    rng = np.random.default_rng(3)
    for dim, dim_z in ((4, 3), (7, 6)):
        p, q, r = _spd(rng, dim), _spd(rng, dim) * 0.01, _spd(rng, dim_z) * 0.1
        f = np.eye(dim) + rng.normal(scale=0.1, size=(dim, dim))
        h = np.eye(dim_z, dim)
        y = rng.normal(size=dim_z)
        kf = KalmanFilter(dim_x=dim, dim_z=dim_z)
        kf.x, kf.P = np.zeros((dim, 1)), p.copy()
        kf.predict(F=f, Q=q)
        np.testing.assert_allclose(kalman.predict_covariance(p, f, q), kf.P, rtol=1e-12, atol=1e-12)
        prior = kf.P.copy()
        kf.update(y.reshape(-1, 1), R=r, H=h)
        correction, posterior = kalman.update(prior, y, h, r)
        again = kalman.update(prior, y, h, r, kalman.innovation_precision(prior, h, r))  # S^-1 shared with the gate
        np.testing.assert_allclose(again[1], posterior, rtol=1e-12, atol=1e-14)
        assert float(y @ kalman.innovation_precision(prior, h, r) @ y) == pytest.approx(kf.mahalanobis ** 2)
        np.testing.assert_allclose(correction, kf.x.ravel(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(posterior, kf.P, rtol=1e-9, atol=1e-12)
        assert np.all(np.linalg.eigvalsh(0.5 * (posterior + posterior.T)) > 0)
        assert np.trace(posterior) < np.trace(prior)  # a measurement only ever adds information
