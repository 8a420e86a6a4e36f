"""DistributedDataParallel for real: two processes under torchrun (gloo, CPU) train and distil; every
forward, feature taps included, goes through the wrapped model, so gradients are averaged and the
ranks' weights stay identical (the taps used to bypass DDP: each rank trained its own model)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pose_regressor_node.metadata import ModelMetadata, PreprocessSpec
from pose_regressor_node.model import build_model, save_checkpoint

from ..conftest import ROOT


@pytest.mark.slow
def test_two_ranks_keep_identical_weights(tiny_scene, tmp_path):
    teacher = build_model("resnet18").eval()
    teacher_path = tmp_path / "teacher.pt"
    save_checkpoint(str(teacher_path), teacher, ModelMetadata(arch="resnet18", arch_options=teacher.options,
                                                              preprocess=PreprocessSpec(resize=40, crop=32)))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")  # loopback only
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(ROOT / "tests" / "training" / "ddp_worker.py"), str(tiny_scene), str(teacher_path),
                          str(tmp_path)], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    digests = [(tmp_path / f"digest_rank{r}.txt").read_text() for r in (0, 1)]
    assert digests[0] == digests[1]
    assert (tmp_path / "ddp" / "best.pt").exists()  # rank 0 validated and saved
