"""The training loop for ``train`` and ``distill``: one linear function, read top to bottom.

Seeded; AMP on CUDA; warm-up + cosine learning rate; frames from the frame cache (decoded once);
model selection on the validation split (``best.pt``) plus ``last.pt`` and periodic snapshots;
resume; tqdm progress; TensorBoard scalars and a CSV log. With an uncertainty head, ``best.pt``
is calibrated on the validation split at the end. Under ``torchrun`` it runs
DistributedDataParallel, one process per GPU (or gloo processes on a CPU); every forward pass,
feature taps included, goes through the wrapped model so that DDP's hooks run.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from ..data import load_samples, scene_extent
from ..data.cache import CachedPoseDataset, ColorJitter, FrameCache, cached_loader
from ..errors import CheckpointError, ParameterError
from ..metadata import ModelMetadata, PreprocessSpec
from ..model import PoseLoss, PoseRegressor, UncertaintyLoss, build_model, load_checkpoint, save_checkpoint
from ..model.distillation import DistillationLoss, DistillWeights
from ..paths import cache_dir
from .config import DistillConfig, TrainConfig
from .evaluate import calibrate_checkpoint, describe_calibration, evaluate

__all__ = ["train", "lr_at", "resolve_device", "parameter_digest", "TrainResult"]


@dataclass
class TrainResult:
    run_dir: Path
    best_path: Path
    last_path: Path
    best_val: Dict[str, float]
    epochs: int
    seconds: float
    parameter_digest: str  # of the final trainable weights: the ranks of one DDP run must agree on it


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to ``peak``, then cosine decay to 1% of it."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return peak * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.isdigit():
        name = f"cuda:{name}"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"--device {name} asked for CUDA, but torch sees no GPU here; use --device cpu")
    return device


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _distributed() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; initialises the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), world


def _score(summary) -> float:
    """Validation score for model selection: metres + degrees/10 (1 deg weighs like 10 cm)."""
    return summary.median_m + summary.median_deg / 10.0


def train(config: TrainConfig, distill: Optional[DistillConfig] = None, quiet: bool = False) -> TrainResult:
    config.validate()
    rank, local_rank, world = _distributed()
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    _seed_everything(config.seed + rank)
    run_dir = Path(config.runs_dir) / config.name
    run_dir.mkdir(parents=True, exist_ok=True)
    show = rank == 0 and not quiet

    # --- data: decoded once into the frame cache; selection on the validation split, never on test
    spec = PreprocessSpec(resize=config.resize, crop=config.crop)
    train_samples = load_samples(config.dataset, Path(config.dataroot), "train")
    val_samples = load_samples(config.dataset, Path(config.dataroot), "val")
    extent = scene_extent(train_samples)
    frames_dir = Path(config.cache_dir) if config.cache_dir else cache_dir("frames")
    if world > 1 and rank != 0:
        dist.barrier()  # rank 0 builds the caches, the others open them
    train_cache = FrameCache.build(train_samples, spec, config.crop_margin, frames_dir, config.workers, show)
    val_cache = FrameCache.build(val_samples, spec, 0, frames_dir, config.workers, show)
    if world > 1 and rank == 0:
        dist.barrier()
    train_set = CachedPoseDataset(train_samples, train_cache, ColorJitter(), seed=config.seed + rank)
    sampler: Optional[DistributedSampler] = None
    if world > 1:
        sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, seed=config.seed)
    pin = device.type == "cuda"
    train_loader = cached_loader(train_set, config.batch_size, shuffle=True, sampler=sampler, seed=config.seed,
                                 drop_last=len(train_set) > config.batch_size, pin_memory=pin)
    val_loader = cached_loader(CachedPoseDataset(val_samples, val_cache, None), config.batch_size, shuffle=False,
                               pin_memory=pin)

    # --- models: teacher and student from the same builder
    arch_options: Dict[str, Any] = {"width_mult": config.width_mult} if config.model == "mobilenet_v2" else {}
    plain = build_model(config.model, dropout=config.dropout, uncertainty=config.uncertainty, **arch_options).to(device)
    with torch.no_grad():  # start at the middle of the scene, not at its corner (the origin)
        plain.head.fc_xyz.bias.copy_(torch.tensor(np.mean([s.pose.position for s in train_samples], axis=0)))
    if config.pretrained:
        plain.load_backbone_weights(config.pretrained)
    criterion = PoseLoss(beta=config.beta, learn_weights=config.learn_beta).to(device)
    uncertainty_loss = UncertaintyLoss() if config.uncertainty else None
    distill_teacher: Optional[PoseRegressor] = None
    distiller: Optional[DistillationLoss] = None
    if distill is not None:
        distill_teacher = load_checkpoint(distill.teacher_path, arch=distill.teacher_model, map_location=str(device)).model
        distill_teacher.eval().requires_grad_(False)
        distiller = DistillationLoss(plain.tap_channels, distill_teacher.tap_channels, distill.cs_taps, distill.hint_tap,
                                     distill.kl, DistillWeights(distill.alpha, distill.sigma)).to(device)
    params = list(plain.parameters()) + list(criterion.parameters())
    params += list(distiller.parameters()) if distiller is not None else []
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")

    steps_per_epoch = len(train_loader) if config.max_steps_per_epoch is None else min(
        len(train_loader), config.max_steps_per_epoch)
    total_steps = steps_per_epoch * config.niter
    start_epoch, step, best_score, best_val = 0, 0, math.inf, {}
    if config.resume:
        ckpt = load_checkpoint(config.resume, arch=config.model, map_location=str(device))
        plain.load_state_dict(ckpt.model.state_dict())
        if ckpt.optimizer_state is None:
            raise CheckpointError(f"{config.resume} holds no optimizer state; resume needs a last.pt from training")
        optimizer.load_state_dict(ckpt.optimizer_state)
        extra = ckpt.extra
        start_epoch, step = int(ckpt.metadata.epoch), int(ckpt.metadata.step)
        best_score, best_val = float(extra.get("best_score", math.inf)), dict(extra.get("best_val", {}))
        if "criterion" in extra:
            criterion.load_state_dict(extra["criterion"])
        if distiller is not None and "distiller" in extra:
            distiller.load_state_dict(extra["distiller"])
    model: torch.nn.Module = plain  # the one every forward goes through; checkpoints save ``plain``
    if world > 1:
        model = DistributedDataParallel(plain, device_ids=[device.index] if device.type == "cuda" else None)

    writer = None
    if rank == 0:
        from torch.utils.tensorboard import SummaryWriter  # noqa: PLC0415 - heavy import, rank 0 only

        writer = SummaryWriter(str(run_dir / "tensorboard"))
    csv_path = run_dir / "log.csv"
    taps = distiller.taps if distiller is not None else ()
    t_start = time.time()
    paths = {"best": run_dir / "best.pt", "last": run_dir / "last.pt"}

    def checkpoint(path: Path, epoch: int, val: Dict[str, float]) -> None:
        meta = ModelMetadata(arch=config.model, arch_options=plain.options, preprocess=spec,
                             dataset=f"{config.dataset}:{config.dataroot}", step=step, epoch=epoch, val_errors=val)
        extra = {"config": config.to_dict(), "distill": distill.to_dict() if distill else None,
                 "best_score": best_score, "best_val": best_val, "criterion": criterion.state_dict(),
                 "scene_extent": extent}
        if distiller is not None:
            extra["distiller"] = distiller.state_dict()
        save_checkpoint(str(path), plain, meta, optimizer=optimizer, extra=extra)

    for epoch in range(start_epoch, config.niter):
        if sampler is not None:
            sampler.set_epoch(epoch)
        model.train()
        sums: Dict[str, float] = {}
        bar = tqdm(train_loader, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.niter}", disable=not show,
                   leave=False, unit="batch")
        epoch_start, images_seen = time.perf_counter(), 0  # the training steps' own rate, batches fetched included
        for batch_index, (images, xyz, quat, _) in enumerate(bar):
            if batch_index >= steps_per_epoch:
                break
            images_seen += len(images)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, int(config.warmup_epochs * steps_per_epoch), config.lr)
            images, xyz, quat = (t.to(device, non_blocking=True) for t in (images, xyz, quat))
            with torch.autocast(device.type, enabled=scaler.is_enabled()):
                out = model(images, taps=taps)  # through the DDP wrapper, taps included
                pred_xyz, pred_quat = out.xyz.float(), out.quat.float()
                loss, parts = criterion(pred_xyz, pred_quat, xyz, quat)
                parts["loss_pose"] = float(loss.detach())
                if uncertainty_loss is not None and out.log_var is not None:
                    nll, nll_parts = uncertainty_loss(out.log_var.float(), pred_xyz, pred_quat, xyz, quat)
                    loss = loss + config.uncertainty_weight * nll
                    parts.update(nll_parts)
                if distiller is not None and distill_teacher is not None:
                    with torch.no_grad():
                        teacher_taps = distill_teacher(images, taps=taps).taps
                    extra_loss, distill_parts = distiller({k: v.float() for k, v in out.taps.items()},
                                                          {k: v.float() for k, v in teacher_taps.items()},
                                                          xyz, quat, extent)
                    loss = loss + extra_loss
                    parts.update(distill_parts)
            if not torch.isfinite(loss):
                raise ParameterError(f"loss became {float(loss)} at step {step}; lower --lr or check the data")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if world > 1:
                _average_gradients(criterion, distiller)
            scaler.step(optimizer)
            scaler.update()
            parts["loss_total"] = float(loss.detach())
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            step += 1
            if writer is not None:
                for k, v in parts.items():
                    writer.add_scalar(f"train/{k}", v, step)
                writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)
            bar.set_postfix(loss=f"{parts['loss_total']:.3f}")
        images_per_s = images_seen / max(time.perf_counter() - epoch_start, 1e-9)
        if rank != 0:
            continue
        val = evaluate(plain, val_loader, device).summary
        val_dict = {"median_m": val.median_m, "median_deg": val.median_deg, "mean_m": val.mean_m,
                    "mean_deg": val.mean_deg}
        row = {"epoch": epoch + 1, "step": step, "lr": optimizer.param_groups[0]["lr"], "train_images_per_s": images_per_s,
               **{k: v / max(1, steps_per_epoch) for k, v in sums.items()}, **{f"val_{k}": v for k, v in val_dict.items()}}
        new_file = not csv_path.exists()
        with open(csv_path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                w.writeheader()
            w.writerow(row)
        if writer is not None:
            for k, v in val_dict.items():
                writer.add_scalar(f"val/{k}", v, step)
        if _score(val) < best_score:
            best_score, best_val = _score(val), val_dict
            checkpoint(paths["best"], epoch + 1, val_dict)
        checkpoint(paths["last"], epoch + 1, val_dict)
        if (epoch + 1) % config.save_epoch_freq == 0:
            checkpoint(run_dir / f"epoch{epoch + 1:04d}.pt", epoch + 1, val_dict)
        if show:
            tqdm.write(f"epoch {epoch + 1}: loss {row.get('loss_total', 0):.4f}  val median "
                       f"{val.median_m:.3f} m {val.median_deg:.2f} deg (best {best_val['median_m']:.3f} m)")
    if writer is not None:
        writer.close()
    if rank == 0 and config.uncertainty and paths["best"].exists():
        _calibrate_best(paths["best"], val_loader, device, show)
    if world > 1:
        dist.barrier()
    return TrainResult(run_dir, paths["best"], paths["last"], best_val, config.niter, time.time() - t_start,
                       parameter_digest(plain, criterion, distiller))


def parameter_digest(*modules: Optional[torch.nn.Module]) -> str:
    """SHA-256 of the modules' parameters, in name order. (Batch-norm statistics are buffers, each
    rank's own until DDP broadcasts rank 0's at the next forward: left out.)"""
    digest = hashlib.sha256()
    for module in modules:
        if module is None:
            continue
        for name, tensor in sorted(module.named_parameters()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _average_gradients(*modules: Optional[torch.nn.Module]) -> None:
    """All-reduce the gradients of trainable modules outside the DDP wrapper (the learned loss weights,
    the distillation adapter), so every rank takes the same step with them too."""
    world = dist.get_world_size()
    for module in modules:
        for param in module.parameters() if module is not None else ():
            if param.grad is not None:
                dist.all_reduce(param.grad)
                param.grad /= world


def _calibrate_best(path: Path, val_loader, device: torch.device, show: bool) -> None:
    """Fold the validation split's variance scales into ``best.pt`` (its weights and its metadata)."""
    calibration = calibrate_checkpoint(load_checkpoint(str(path), map_location=str(device)), str(path), val_loader,
                                       device)
    if show:
        tqdm.write(f"uncertainty {describe_calibration(calibration)}")
