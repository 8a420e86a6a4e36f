"""The error-state Kalman filter's two steps, in closed form.

The filter's state is an error around the nominal pose, zero between steps: predict only carries
the covariance (P = F P F' + Q) and update returns the correction to inject and the posterior
covariance in Joseph form, (I - K H) P (I - K H)' + K R K', which stays symmetric positive definite
when K is not exactly optimal (a down-weighted measurement). The arithmetic is filterpy's
``KalmanFilter.predict`` / ``update`` for x = 0 (tests/fusion/test_kalman.py checks it against
filterpy); it is written out because filterpy's general state vector, its copies of x, P and z for
its history and a fresh inverse of S were most of a step's cost at 50 Hz odometry.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["innovation_precision", "predict_covariance", "update"]


def predict_covariance(p: np.ndarray, f: np.ndarray, q: np.ndarray) -> np.ndarray:
    return f @ p @ f.T + q


def innovation_precision(p: np.ndarray, h: np.ndarray, r: np.ndarray) -> np.ndarray:
    """S^-1 = (H P H' + R)^-1: the gate's Mahalanobis distance and the gain both need it."""
    return np.linalg.inv(h @ p @ h.T + r)


def update(p: np.ndarray, innovation: np.ndarray, h: np.ndarray, r: np.ndarray,
           s_inv: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """The correction (K y) and the posterior covariance for ``innovation`` y = z - h(nominal)."""
    if s_inv is None:
        s_inv = innovation_precision(p, h, r)
    gain = p @ h.T @ s_inv  # K = P H' S^-1
    i_kh = np.eye(len(p)) - gain @ h
    return gain @ innovation, i_kh @ p @ i_kh.T + gain @ r @ gain.T
