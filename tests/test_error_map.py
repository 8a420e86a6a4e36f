"""The error map: nearest training views in position and viewing direction, its scales, its file form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pose_regressor_node.error_map import METRES_PER_RADIAN, ErrorMap, view_directions
from pose_regressor_node.errors import ParameterError
from pose_regressor_node.geometry import quat_from_euler, quat_from_yaw, quat_multiply
from pose_regressor_node.metadata import ModelMetadata

# A forward-looking camera's optical frame (z forward, y down) on a car heading along map x.
OPTICAL = quat_from_euler(-math.pi / 2, 0.0, -math.pi / 2)


def _camera(yaw: float) -> np.ndarray:
    return quat_multiply(quat_from_yaw(yaw), OPTICAL)


def test_view_directions_are_the_optical_axes_in_map_axes():
    np.testing.assert_allclose(view_directions(np.array([_camera(0.0), _camera(math.pi / 2)])),
                               [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], atol=1e-12)


def test_a_frame_gets_the_mean_of_its_nearest_views_by_hand():
    """Four views, two neighbours: positions 0, 0.1 and 1 m along x looking along x, and one at the
    origin looking back. The query at 0.02 m looking along x has the first two as its nearest (0.02
    and 0.08 m away; the one looking back is 2 * 1.6 m away in direction, the far one 0.98 m)."""
    positions = np.array([[0.0, 0, 0], [0.1, 0, 0], [1.0, 0, 0], [0.0, 0, 0]])
    quats = np.array([_camera(0.0), _camera(0.0), _camera(0.0), _camera(math.pi)])
    squared = np.array([[0.02, 0.001], [0.04, 0.003], [9.0, 9.0], [7.0, 7.0]])
    raw = ErrorMap.build(positions, quats, squared, dof=(2, 1), neighbours=2)
    np.testing.assert_allclose(raw.variances_per_view, squared / [2.0, 1.0])
    query = raw.variances(np.array([[0.02, 0.0, 0.0]]), np.array([_camera(0.0)]))
    np.testing.assert_allclose(query, [[(0.01 + 0.02) / 2, (0.001 + 0.003) / 2]])
    # turned round at the same place: the view looking back and the nearer of the forward ones
    back = raw.variances(np.array([[0.0, 0.0, 0.0]]), np.array([_camera(math.pi)]))
    np.testing.assert_allclose(back, [[(3.5 + 0.01) / 2, (7.0 + 0.001) / 2]])
    scaled = raw.with_scales(2.0, 0.5).variances(np.array([[0.02, 0.0, 0.0]]), np.array([_camera(0.0)]))
    np.testing.assert_allclose(scaled, query * [2.0, 0.5])


def _random_map(rng: np.random.Generator, views: int = 600) -> ErrorMap:
    positions = np.column_stack([rng.uniform(0, 6, views), rng.uniform(0, 4, views), np.full(views, 0.15)])
    quats = np.array([_camera(y) for y in rng.uniform(-math.pi, math.pi, views)])
    return ErrorMap.build(positions, quats, rng.gamma(2.0, 0.01, (views, 2)), dof=(2, 1)).with_scales(1.3, 0.7)


def test_the_blockwise_lookup_equals_a_brute_force_one(rng):
    error_map = _random_map(rng)
    frames = 600  # more than one block of rows
    positions = np.column_stack([rng.uniform(0, 6, frames), rng.uniform(0, 4, frames), np.full(frames, 0.15)])
    quats = np.array([_camera(y) for y in rng.uniform(-math.pi, math.pi, frames)])
    keys = np.concatenate([positions, METRES_PER_RADIAN * view_directions(quats)], axis=1)
    views = np.concatenate([error_map.positions, METRES_PER_RADIAN * error_map.directions], axis=1)
    distance = np.linalg.norm(keys[:, None, :] - views[None, :, :], axis=2)
    nearest = np.argsort(distance, axis=1)[:, :error_map.neighbours]
    expected = error_map.variances_per_view[nearest].mean(axis=1) * [1.3, 0.7]
    np.testing.assert_allclose(error_map.variances(positions, quats), expected, rtol=1e-12)
    np.testing.assert_allclose(error_map.log_variances(positions, quats), np.log(expected), rtol=1e-12)


def test_the_map_travels_in_the_model_metadata_as_float32(rng):
    error_map = _random_map(rng)
    meta = ModelMetadata(arch="resnet18", error_map=error_map.to_metadata())
    back = ErrorMap.from_metadata(ModelMetadata.from_json(meta.to_json()).error_map)
    assert back is not None and back.neighbours == error_map.neighbours
    assert (back.scale_translation, back.scale_rotation) == (1.3, 0.7)
    query = error_map.positions[:5] + 0.05, np.array([_camera(0.3)] * 5)
    np.testing.assert_allclose(back.variances(*query), error_map.variances(*query), rtol=1e-5)
    assert ErrorMap.from_metadata({}) is None  # a model calibrated without a map (or before maps)


def test_a_damaged_map_is_a_clear_error(rng):
    entries = _random_map(rng).to_metadata()
    with pytest.raises(ParameterError, match="error map is incomplete or malformed"):
        ErrorMap.from_metadata({k: v for k, v in entries.items() if k != "directions"})
    with pytest.raises(ParameterError, match="error map"):
        ErrorMap.from_metadata({**entries, "positions": entries["positions"][:-8]})
    with pytest.raises(ValueError, match="at least 20 training views"):
        ErrorMap.build(np.zeros((5, 3)), np.array([_camera(0.0)] * 5), np.ones((5, 2)), dof=(2, 1))
