"""Run by torchrun in test_ddp.py: a few distillation steps under DistributedDataParallel (gloo, CPU);
each rank writes the digest of its final trainable weights."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pose_regressor_node.training import TrainConfig, train
from pose_regressor_node.training.config import DistillConfig


def main(root: str, teacher: str, out: str) -> None:
    config = TrainConfig(model="resnet18", dataroot=root, runs_dir=out, name="ddp", niter=2, batch_size=4, lr=1e-3,
                         resize=40, crop=32, workers=1, device="cpu", warmup_epochs=0.0, max_steps_per_epoch=3,
                         cache_dir=str(Path(out) / "cache"), seed=0)
    distill = DistillConfig("resnet18", teacher, cs_taps=(3, 4), hint_tap=5)
    result = train(config, distill, quiet=True)
    rank = os.environ["RANK"]
    (Path(out) / f"digest_rank{rank}.txt").write_text(result.parameter_digest)


if __name__ == "__main__":
    main(*sys.argv[1:4])
