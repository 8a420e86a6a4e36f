"""The frame cache: decoded once, the centre crop equal to inference preprocessing, batches seeded."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from pose_regressor_node.data import read_7scenes
from pose_regressor_node.data.cache import CachedPoseDataset, ColorJitter, FrameCache, cached_loader
from pose_regressor_node.errors import DatasetError
from pose_regressor_node.inference.preprocess import Preprocess
from pose_regressor_node.metadata import PreprocessSpec
from pose_regressor_node.sim import PinholeCamera, Renderer, build_world, simulate_drive
from pose_regressor_node.sim.dataset_writer import write_7scenes


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    world = build_world(3)
    drive = simulate_drive(world, "loop", seed=1, duration_s=0.9, camera_rate_hz=10.0)
    write_7scenes(root, Renderer(world, PinholeCamera(160, 120)), {"train": [drive], "val": [drive]}, workers=1)
    return read_7scenes(root, "train")


def test_centre_of_the_cache_is_what_every_engine_sees(scene, tmp_path):
    spec = PreprocessSpec(resize=64, crop=48)
    cache = FrameCache.build(scene, spec, margin=0, directory=tmp_path, workers=1, progress=False)
    images, xyz, quat, index = CachedPoseDataset(scene, cache, jitter=None).__getitems__([2, 0])
    expected = Preprocess(spec).batch([cv2.imread(str(scene[i].image)) for i in (2, 0)], "bgr8")
    # uint8 storage rounds each pixel to a whole level: at most half a level, i.e. 0.5 / 255 / std
    np.testing.assert_allclose(images.numpy(), expected, atol=0.5 / 255 / min(spec.std) + 1e-6)
    torch.testing.assert_close(xyz[0], torch.tensor(scene[2].pose.position, dtype=torch.float32))
    assert index.tolist() == [2, 0]


def test_cache_is_built_once_and_rebuilt_when_the_input_size_changes(scene, tmp_path):
    spec = PreprocessSpec(resize=64, crop=48)
    first = FrameCache.build(scene, spec, margin=4, directory=tmp_path, workers=2, progress=False)
    assert first.images.shape == (len(scene), 56, 56, 3) and first.images.dtype == np.uint8
    mtime = first.path.stat().st_mtime_ns
    again = FrameCache.build(scene, spec, margin=4, directory=tmp_path, workers=1, progress=False)
    assert again.path == first.path and again.path.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(np.asarray(again.images), np.asarray(first.images))  # 2 workers == 1 worker
    other = FrameCache.build(scene, PreprocessSpec(resize=40, crop=32), margin=4, directory=tmp_path, workers=1,
                             progress=False)
    assert other.path != first.path
    assert not list(tmp_path.glob("*.partial.npy"))


def test_margin_must_fit_inside_the_resized_image(scene, tmp_path):
    with pytest.raises(DatasetError, match="resize >= crop \\+ 2 \\* margin"):
        FrameCache.build(scene, PreprocessSpec(resize=50, crop=48), margin=4, directory=tmp_path, progress=False)


def test_training_batches_are_augmented_and_reproducible(scene, tmp_path):
    spec = PreprocessSpec(resize=64, crop=48)
    cache = FrameCache.build(scene, spec, margin=4, directory=tmp_path, workers=1, progress=False)

    def first_batch(seed):
        loader = cached_loader(CachedPoseDataset(scene, cache, ColorJitter(), seed=seed), 4, shuffle=True, seed=seed)
        return next(iter(loader))

    a, b, c = first_batch(0), first_batch(0), first_batch(1)
    assert a[0].shape == (4, 3, 48, 48) and a[0].dtype == torch.float32
    torch.testing.assert_close(a[0], b[0])
    assert not torch.equal(a[0], c[0])
    plain = CachedPoseDataset(scene, cache, None).__getitems__(a[3].tolist())[0]
    assert not torch.allclose(a[0], plain)  # jittered and shifted, not the evaluation crop
