from __future__ import annotations

import csv
import math
import os
import shutil
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
from scipy.stats import chi2

from pose_regressor_node.data import load_samples
from pose_regressor_node.error_map import ErrorMap
from pose_regressor_node.error_shape import ErrorShape
from pose_regressor_node.errors import ParameterError
from pose_regressor_node.metadata import ModelMetadata
from pose_regressor_node.model import build_model, load_checkpoint, save_checkpoint
from pose_regressor_node.training import TrainConfig, lr_at, train
from pose_regressor_node.training.config import DistillConfig
from pose_regressor_node.training.evaluate import error_vectors
from pose_regressor_node.training.report import evaluate_checkpoint


def _config(root, tmp_path, **kw):
    base = dict(model="resnet18", dataroot=str(root), runs_dir=str(tmp_path), name="tiny", niter=3, batch_size=8,
                lr=1e-3, resize=40, crop=32, workers=0, device="cpu", save_epoch_freq=2, warmup_epochs=0.0)
    base.update(kw)
    return TrainConfig(**base)


def _losses(run_dir):
    with open(run_dir / "log.csv") as f:
        return [float(r["loss_total"]) for r in csv.DictReader(f)]


def test_lr_schedule():
    assert lr_at(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert lr_at(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(100, 100, 10, 1.0) == pytest.approx(0.01)


def test_a_few_steps_lower_the_loss_and_write_everything(tiny_scene, tmp_path):
    result = train(_config(tiny_scene, tmp_path, niter=6, batch_size=16), quiet=True)
    losses = _losses(result.run_dir)
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert result.best_path.exists() and result.last_path.exists() and (result.run_dir / "epoch0002.pt").exists()
    assert any((result.run_dir / "tensorboard").iterdir())
    ckpt = load_checkpoint(str(result.best_path))
    assert ckpt.metadata.preprocess.crop == 32 and "median_m" in ckpt.metadata.val_errors
    report = evaluate_checkpoint(str(result.best_path), str(tiny_scene), "7scenes", tmp_path / "test", device="cpu",
                             workers=0)
    assert report.evaluation.summary.count == 17  # 1.6 s at 10 Hz, both ends
    assert all(p.exists() for p in report.files.values())


def test_resume_continues_from_saved_step(tiny_scene, tmp_path):
    first = train(_config(tiny_scene, tmp_path, niter=2), quiet=True)
    step_after_two = load_checkpoint(str(first.last_path)).metadata.step
    resumed = train(_config(tiny_scene, tmp_path, niter=3, resume=str(first.last_path)), quiet=True)
    meta = load_checkpoint(str(resumed.last_path)).metadata
    assert meta.epoch == 3 and meta.step == step_after_two * 3 // 2
    assert len(_losses(resumed.run_dir)) == 3  # one more row appended, not three new ones


def test_distillation_run_logs_each_term(tiny_scene, tmp_path):
    teacher = train(_config(tiny_scene, tmp_path, model="resnet34", name="teacher", niter=1), quiet=True)
    distill = DistillConfig(teacher_model="resnet34", teacher_path=str(teacher.best_path))
    student = train(_config(tiny_scene, tmp_path, name="student", niter=1), distill, quiet=True)
    with open(student.run_dir / "log.csv") as f:
        row = next(csv.DictReader(f))
    assert {"loss_pose", "loss_hint", "loss_similarity", "loss_total"} <= set(row)


def test_invalid_configuration_says_what_to_fix(tmp_path):
    with pytest.raises(ParameterError, match="--model 'vgg' unknown"):
        TrainConfig(model="vgg", dataroot=str(tmp_path)).validate()
    with pytest.raises(ParameterError, match="dataroot"):
        TrainConfig().validate()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_checkpoint_saved_under_ddp_loads_into_a_plain_model(tmp_path):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        model = build_model("resnet18")
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        path = tmp_path / "ddp.pt"
        save_checkpoint(str(path), ddp, ModelMetadata(arch="resnet18", arch_options=model.options))
        raw = torch.load(path, weights_only=False)
        assert not any(k.startswith("module.") for k in raw["state_dict"])
        # an old-style file saved with the wrapper's own state_dict still loads
        raw["state_dict"] = ddp.state_dict()
        torch.save(raw, path)
        plain = load_checkpoint(str(path)).model
        torch.testing.assert_close(plain.head.fc.weight, model.head.fc.weight)
    finally:
        dist.destroy_process_group()


def test_training_on_cuda_with_mixed_precision(tiny_scene, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    result = train(_config(tiny_scene, tmp_path, niter=2, batch_size=8, device="cuda"), quiet=True)
    losses = _losses(result.run_dir)
    assert all(math.isfinite(v) for v in losses)
    ckpt = load_checkpoint(str(result.best_path))
    assert ckpt.metadata.calibration["variance_scale_translation"] > 0  # calibrated on the validation split


def test_calibrate_command_recalibrates_a_stopped_run_and_refuses_a_model_without_the_head(tiny_scene, tmp_path,
                                                                                            capsys):
    from pose_regressor_node.__main__ import main

    result = train(_config(tiny_scene, tmp_path, niter=2), quiet=True)
    trained = load_checkpoint(str(result.best_path)).metadata
    calibrated = trained.calibration
    assert calibrated["frames"] > 0  # train calibrated best.pt at its end
    assert ErrorMap.from_metadata(trained.error_map) is not None  # and gave it the error map of its training views
    assert calibrated["planar"] == 1.0  # a car's drive: errors in the floor's plane and about the vertical
    assert main(["calibrate", str(result.best_path), "--dataroot", str(tiny_scene), "--device", "cpu",
                 "--workers", "0"]) == 0
    again = load_checkpoint(str(result.best_path)).metadata
    # the same split again: the variances already fit it, so the new scales are about 1
    assert again.calibration["variance_scale_translation"] == pytest.approx(1.0, rel=1e-3)
    assert again.calibration["variance_scale_rotation"] == pytest.approx(1.0, rel=1e-3)
    # and the error map: one view per training frame, its scales fitted to the same validation split
    error_map = ErrorMap.from_metadata(again.error_map)
    assert error_map is not None and len(error_map.positions) == len(load_samples("7scenes", tiny_scene, "train"))
    assert error_map.scale_translation > 0 and error_map.scale_rotation > 0
    out = capsys.readouterr().out
    assert "planar error shape" in out and f"error map of {len(error_map.positions)} training views" in out
    report = evaluate_checkpoint(str(result.best_path), str(tiny_scene), "7scenes", tmp_path / "val", device="cpu",
                                 workers=0, split="val")  # the split the map was scaled on: its median fits
    val_log_var = report.evaluation.log_var
    np.testing.assert_allclose(val_log_var, error_map.log_variances(report.evaluation.xyz_pred,
                                                                    report.evaluation.quat_pred))
    err_t, err_r = ErrorShape.from_calibration(again.calibration).error_norms(*error_vectors(report.evaluation))
    assert np.median(err_t ** 2 / np.exp(val_log_var[:, 0])) == pytest.approx(chi2.median(2), rel=1e-6)
    assert np.median(err_r ** 2 / np.exp(val_log_var[:, 1])) == pytest.approx(chi2.median(1), rel=1e-6)
    assert main(["calibrate", str(result.best_path), "--dataroot", str(tiny_scene), "--device", "cpu",
                 "--workers", "0", "--no_error_map"]) == 0
    assert load_checkpoint(str(result.best_path)).metadata.error_map == {}
    # a scene without a train split (only the validation drive shipped): the map cannot be built, and the
    # message says how to calibrate the head alone
    val_only = tmp_path / "val_only"
    shutil.copytree(tiny_scene, val_only)
    (val_only / "TrainSplit.txt").unlink()
    capsys.readouterr()
    assert main(["calibrate", str(result.best_path), "--dataroot", str(val_only), "--device", "cpu",
                 "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "TrainSplit.txt not found" in err and "--no_error_map calibrates the head alone" in err
    assert main(["calibrate", str(result.best_path), "--dataroot", str(val_only), "--device", "cpu",
                 "--workers", "0", "--no_error_map"]) == 0

    # an fp16 file (what export and the demo model ship) stays fp16: calibrating must not double its size
    half = tmp_path / "half.pt"
    ckpt = load_checkpoint(str(result.best_path))
    save_checkpoint(str(half), ckpt.model, ckpt.metadata, half=True)
    assert main(["calibrate", str(half), "--dataroot", str(tiny_scene), "--device", "cpu", "--workers", "0"]) == 0
    stored = torch.load(str(half), map_location="cpu", weights_only=False)["state_dict"]
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    assert load_checkpoint(str(half)).metadata.calibration["frames"] > 0

    plain = tmp_path / "plain.pt"
    model = build_model("resnet18", uncertainty=False)
    save_checkpoint(str(plain), model, ModelMetadata(arch="resnet18", arch_options=model.options))
    assert main(["calibrate", str(plain), "--dataroot", str(tiny_scene), "--device", "cpu", "--workers", "0"]) == 1
    assert "no uncertainty head" in capsys.readouterr().err
