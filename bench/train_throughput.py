"""Training throughput: the bare train step against the effective rate of ``train``, in one run.

The bare step is ResNet18 with the uncertainty head, forward + losses + backward + AdamW on one
fixed batch already in memory: the most the model can do on this machine. The effective rate is
``train`` itself (frame cache, augmentation, DataLoader, losses, logging), as its log reports it
per epoch, excluding validation and the one-off cache build. The two take turns, ``--rounds``
times, so a shared machine's drift hits both alike; the ratio is the figure (target: 0.8).

    PYTHONPATH=. .venv/bin/python bench/train_throughput.py --crop 80 --resize 88 --batch 32
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pose_regressor_node.model import PoseLoss, UncertaintyLoss, build_model
from pose_regressor_node.sim import Renderer, demo_world, simulate_drive
from pose_regressor_node.sim.dataset_writer import write_7scenes
from pose_regressor_node.training import TrainConfig, train


def bare_rate(batch: int, crop: int, steps: int) -> float:
    model = build_model("resnet18", dropout=0.0, uncertainty=True).train()
    pose_loss, nll = PoseLoss(beta=10.0), UncertaintyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), 1e-4)
    x = torch.randn(batch, 3, crop, crop)
    xyz, q = torch.randn(batch, 3), torch.nn.functional.normalize(torch.randn(batch, 4))

    def step() -> None:
        out = model(x)
        loss = pose_loss(out.xyz, out.quat, xyz, q)[0] + nll(out.log_var, out.xyz, out.quat, xyz, q)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


def effective_rate(root: Path, runs: Path, name: str, batch: int, resize: int, crop: int, steps: int) -> float:
    config = TrainConfig(model="resnet18", dataroot=str(root), runs_dir=str(runs), name=name, niter=2, batch_size=batch,
                         lr=5e-4, beta=10.0, dropout=0.0, resize=resize, crop=crop, device="cpu", workers=1,
                         max_steps_per_epoch=steps, cache_dir=str(runs / "cache"), warmup_epochs=0.0)
    train(config, quiet=True)
    with open(runs / name / "log.csv") as f:
        rows = list(csv.DictReader(f))
    return float(rows[-1]["train_images_per_s"])  # the second epoch: caches warm, like the rest of a long run


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--resize", type=int, default=88)
    parser.add_argument("--crop", type=int, default=80)
    parser.add_argument("--steps", type=int, default=25, help="train steps per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        world = demo_world()
        drives = {"train": [simulate_drive(world, "loop", 1, duration_s=2 * args.batch * args.steps / 10.0 / 2)],
                  "val": [simulate_drive(world, "loop", 2, duration_s=3.0)]}
        write_7scenes(root, Renderer(world), drives)
        bare, effective = [], []
        for r in range(args.rounds):
            bare.append(bare_rate(args.batch, args.crop, args.steps))
            effective.append(effective_rate(root, Path(tmp) / "runs", f"r{r}", args.batch, args.resize, args.crop,
                                            args.steps))
    result = {"bench": "train_throughput", "batch": args.batch, "input": f"resize {args.resize} -> crop {args.crop}",
              "threads": torch.get_num_threads(),
              "bare_step_images_per_s": [round(v, 1) for v in bare],
              "train_effective_images_per_s": [round(v, 1) for v in effective],
              "effective_over_bare": round(float(np.median(effective) / np.median(bare)), 3), "target": 0.8}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
