from __future__ import annotations

import numpy as np
import torch

from pose_regressor_node.data import read_7scenes
from pose_regressor_node.data.dataset import PoseDataset, make_loader
from pose_regressor_node.data.transforms import EvalTransform
from pose_regressor_node.inference.preprocess import Preprocess
from pose_regressor_node.metadata import PreprocessSpec
from pose_regressor_node.sim import PinholeCamera, Renderer, build_world, simulate_drive
from pose_regressor_node.sim.dataset_writer import write_7scenes


def test_eval_transform_equals_inference_preprocess(rng):
    spec = PreprocessSpec(resize=64, crop=56)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    np.testing.assert_array_equal(EvalTransform(spec)(image), Preprocess(spec)(image))


def test_normalisation_is_imagenet_on_0_1_scale():
    spec = PreprocessSpec(resize=8, crop=8)
    white = np.full((8, 8, 3), 255, np.uint8)
    out = Preprocess(spec)(white)
    expected = (1.0 - np.array(spec.mean)) / np.array(spec.std)
    np.testing.assert_allclose(out[:, 0, 0], expected, rtol=1e-6)


def test_loader_with_workers_yields_batches(tmp_path):
    world = build_world(3)
    drive = simulate_drive(world, "loop", seed=1, duration_s=1.0, camera_rate_hz=10.0)
    write_7scenes(tmp_path, Renderer(world, PinholeCamera(160, 120)), {"train": [drive], "val": [drive]})
    dataset = PoseDataset(read_7scenes(tmp_path, "train"), EvalTransform(PreprocessSpec(resize=64, crop=48)))
    loader = make_loader(dataset, batch_size=4, shuffle=True, workers=2, seed=0)
    images, xyz, quat, index = next(iter(loader))
    assert images.shape == (4, 3, 48, 48) and xyz.shape == (4, 3) and quat.shape == (4, 4)
    torch.testing.assert_close(quat.norm(dim=1), torch.ones(4))
