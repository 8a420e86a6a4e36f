"""Images/s of the training DataLoader vs images/s of a ResNet18 training step, same machine, same run.

The loader must outrun the model (ratio >= 2 with the default worker count) so that training is
never input-bound. Prints JSON. Run: PYTHONPATH=. .venv/bin/python bench/input_pipeline.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from pose_regressor_node.data import read_7scenes
from pose_regressor_node.data.dataset import PoseDataset, default_workers, make_loader
from pose_regressor_node.data.transforms import TrainTransform
from pose_regressor_node.metadata import PreprocessSpec
from pose_regressor_node.model import PoseLoss, build_model
from pose_regressor_node.sim import Renderer, demo_world, simulate_drive
from pose_regressor_node.sim.writers import write_7scenes


def loader_rate(dataset: PoseDataset, batch: int, workers: int, batches: int) -> float:
    loader = make_loader(dataset, batch, shuffle=True, workers=workers)
    it = iter(loader)
    next(it)  # workers started, first batch ready
    start = time.perf_counter()
    count = 0
    for _ in range(batches):
        images, *_ = next(it)
        count += images.shape[0]
    return count / (time.perf_counter() - start)


def train_step_rate(batch: int, crop: int, steps: int, device: str) -> float:
    model = build_model("resnet18").to(device).train()
    loss_fn = PoseLoss()
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    x = torch.randn(batch, 3, crop, crop, device=device)
    xyz, q = torch.randn(batch, 3, device=device), torch.nn.functional.normalize(torch.randn(batch, 4, device=device))

    def step():
        opt.zero_grad(set_to_none=True)
        loss, _ = loss_fn(*model(x), xyz, q)
        loss.backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = demo_world()
        drive = simulate_drive(world, "loop", seed=1, duration_s=20.0, camera_rate_hz=10.0)
        write_7scenes(Path(tmp), Renderer(world), {"train": [drive], "val": [drive]})
        spec = PreprocessSpec()
        dataset = PoseDataset(read_7scenes(Path(tmp), "train"), TrainTransform(spec))
        loader_ips = loader_rate(dataset, args.batch, args.workers, batches=5)
    train_ips = train_step_rate(args.batch, spec.crop, steps=2 if args.device == "cpu" else 20, device=args.device)
    result = {
        "bench": "input_pipeline", "device": args.device, "batch": args.batch, "workers": args.workers,
        "input": f"640x480 JPEG -> resize {spec.resize} -> crop {spec.crop} + jitter",
        "loader_images_per_s": round(loader_ips, 1), "train_step_images_per_s": round(train_ips, 1),
        "loader_over_train_ratio": round(loader_ips / train_ips, 2), "target_ratio": 2.0,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
