"""The training loop for ``train`` and ``distill``; ``train`` reads top to bottom: data, student,
objective, resume, epochs, calibration.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from ..data import Sample, load_samples, scene_extent
from ..data.cache import CachedPoseDataset, ColorJitter, FrameCache, cached_loader
from ..errors import CheckpointError, ParameterError
from ..metadata import ModelMetadata, PreprocessSpec
from ..model import PoseRegressor, build_model, load_checkpoint, save_checkpoint
from ..paths import cache_dir
from .calibration import calibrate_checkpoint, describe_calibration
from .config import DistillConfig, TrainConfig
from .evaluate import evaluate
from .objective import TrainingObjective

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


@dataclass
class _Data:
    """The splits' loaders over the frame cache; selection on the validation split, never on test."""

    spec: PreprocessSpec
    train_samples: List[Sample]
    extent: float  # the training scene's diagonal
    train_loader: DataLoader
    val_loader: DataLoader
    sampler: Optional[DistributedSampler]
    train_views_loader: DataLoader  # the training frames as centre crops, unaugmented: the error map's views


def _load_data(config: TrainConfig, rank: int, world: int, device: torch.device, show: bool) -> _Data:
    """Decode each split once into the frame cache (rank 0 builds it, the other ranks wait and open it)."""
    spec = PreprocessSpec(resize=config.resize, crop=config.crop)
    train_samples = load_samples(config.dataset, Path(config.dataroot), "train")
    val_samples = load_samples(config.dataset, Path(config.dataroot), "val")
    frames_dir = Path(config.cache_dir) if config.cache_dir else cache_dir("frames")
    if world > 1 and rank != 0:
        dist.barrier()
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
    train_views_loader = cached_loader(CachedPoseDataset(train_samples, train_cache, None), config.batch_size,
                                       shuffle=False, pin_memory=pin)
    return _Data(spec, train_samples, scene_extent(train_samples), train_loader, val_loader, sampler,
                 train_views_loader)


def _build_student(config: TrainConfig, train_samples: List[Sample], device: torch.device) -> PoseRegressor:
    arch_options: Dict[str, Any] = {"width_mult": config.width_mult} if config.model == "mobilenet_v2" else {}
    model = build_model(config.model, dropout=config.dropout, uncertainty=config.uncertainty, **arch_options).to(device)
    with torch.no_grad():  # start at the middle of the scene, not at its corner (the origin)
        model.head.fc_xyz.bias.copy_(torch.tensor(np.mean([s.pose.position for s in train_samples], axis=0)))
    if config.pretrained:
        model.load_backbone_weights(config.pretrained)
    return model


@dataclass
class _Progress:
    """Where a run stands: what ``last.pt`` keeps and ``--resume`` restores."""

    epoch: int = 0  # epochs completed
    step: int = 0
    best_score: float = math.inf
    best_val: Dict[str, float] = field(default_factory=dict)


def _resume(path: str, config: TrainConfig, student: PoseRegressor, optimizer: torch.optim.Optimizer,
            objective: TrainingObjective, device: torch.device) -> _Progress:
    ckpt = load_checkpoint(path, arch=config.model, map_location=str(device))
    student.load_state_dict(ckpt.model.state_dict())
    if ckpt.optimizer_state is None:
        raise CheckpointError(f"{path} holds no optimizer state; resume needs a last.pt from training")
    optimizer.load_state_dict(ckpt.optimizer_state)
    objective.load_state(ckpt.extra)
    return _Progress(int(ckpt.metadata.epoch), int(ckpt.metadata.step),
                     float(ckpt.extra.get("best_score", math.inf)), dict(ckpt.extra.get("best_val", {})))


class _RunLog:
    """``log.csv`` (a row per epoch) and TensorBoard scalars (per step and per epoch); rank 0 writes them."""

    def __init__(self, run_dir: Path, enabled: bool) -> None:
        self.csv_path = run_dir / "log.csv"
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter  # noqa: PLC0415 - heavy import, rank 0 only

            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def step(self, step: int, parts: Dict[str, float], lr: float) -> None:
        if self.writer is not None:
            for k, v in parts.items():
                self.writer.add_scalar(f"train/{k}", v, step)
            self.writer.add_scalar("train/lr", lr, step)

    def epoch(self, step: int, row: Dict[str, float], val: Dict[str, float]) -> None:
        new_file = not self.csv_path.exists()
        with open(self.csv_path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                w.writeheader()
            w.writerow(row)
        if self.writer is not None:
            for k, v in val.items():
                self.writer.add_scalar(f"val/{k}", v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass(frozen=True)
class _Schedule:
    """Steps per epoch (``--max_steps_per_epoch`` caps them) and the learning rate at each step."""

    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    peak_lr: float

    @classmethod
    def of(cls, config: TrainConfig, batches: int) -> _Schedule:
        steps = batches if config.max_steps_per_epoch is None else min(batches, config.max_steps_per_epoch)
        return cls(steps, steps * config.niter, int(config.warmup_epochs * steps), config.lr)

    def lr(self, step: int) -> float:
        return lr_at(step, self.total_steps, self.warmup_steps, self.peak_lr)


def _train_epoch(model: torch.nn.Module, data: _Data, objective: TrainingObjective, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, schedule: _Schedule, progress: _Progress,
                 log: _RunLog, desc: str, show: bool) -> Tuple[Dict[str, float], float]:
    """One pass over the training loader. Returns the summed loss parts and the training steps' own
    rate in images/s, batch fetching included."""
    device = next(model.parameters()).device
    distributed = isinstance(model, DistributedDataParallel)
    sums: Dict[str, float] = {}
    bar = tqdm(data.train_loader, total=schedule.steps_per_epoch, desc=desc, disable=not show, leave=False,
               unit="batch")
    start, images_seen = time.perf_counter(), 0
    for batch_index, (images, xyz, quat, _) in enumerate(bar):
        if batch_index >= schedule.steps_per_epoch:
            break
        images_seen += len(images)
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr(progress.step)
        images, xyz, quat = (t.to(device, non_blocking=True) for t in (images, xyz, quat))
        with torch.autocast(device.type, enabled=scaler.is_enabled()):
            loss, parts = objective(model, images, xyz, quat)
        if not torch.isfinite(loss):
            raise ParameterError(f"loss became {float(loss)} at step {progress.step}; lower --lr or check the data")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if distributed:
            _average_gradients(*objective.trainable)
        scaler.step(optimizer)
        scaler.update()
        parts["loss_total"] = float(loss.detach())
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v
        progress.step += 1
        log.step(progress.step, parts, optimizer.param_groups[0]["lr"])
        bar.set_postfix(loss=f"{parts['loss_total']:.3f}")
    return sums, images_seen / max(time.perf_counter() - start, 1e-9)


def train(config: TrainConfig, distill: Optional[DistillConfig] = None, quiet: bool = False) -> TrainResult:
    """Train (or, with ``distill``, distil into) a pose regressor; see the module's docstring."""
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

    data = _load_data(config, rank, world, device, show)
    student = _build_student(config, data.train_samples, device)
    objective = TrainingObjective(config, distill, student, data.extent, device)
    params = list(student.parameters()) + [p for m in objective.trainable for p in m.parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and device.type == "cuda")
    schedule = _Schedule.of(config, len(data.train_loader))
    progress = _resume(config.resume, config, student, optimizer, objective, device) if config.resume else _Progress()
    model: torch.nn.Module = student  # the one every forward goes through; checkpoints save ``student``
    if world > 1:
        model = DistributedDataParallel(student, device_ids=[device.index] if device.type == "cuda" else None)
    log = _RunLog(run_dir, rank == 0)
    t_start = time.time()
    paths = {"best": run_dir / "best.pt", "last": run_dir / "last.pt"}

    def checkpoint(path: Path, val: Dict[str, float]) -> None:
        meta = ModelMetadata(arch=config.model, arch_options=student.options, preprocess=data.spec,
                             dataset=f"{config.dataset}:{config.dataroot}", step=progress.step, epoch=progress.epoch,
                             val_errors=val)
        extra = {"config": config.to_dict(), "distill": distill.to_dict() if distill else None,
                 "best_score": progress.best_score, "best_val": progress.best_val, "scene_extent": data.extent,
                 **objective.state()}
        save_checkpoint(str(path), student, meta, optimizer=optimizer, extra=extra)

    for epoch in range(progress.epoch, config.niter):
        if data.sampler is not None:
            data.sampler.set_epoch(epoch)
        model.train()
        sums, images_per_s = _train_epoch(model, data, objective, optimizer, scaler, schedule, progress, log,
                                          f"epoch {epoch + 1}/{config.niter}", show)
        progress.epoch = epoch + 1
        if rank != 0:
            continue
        val = evaluate(student, data.val_loader, device).summary
        val_dict = {"median_m": val.median_m, "median_deg": val.median_deg, "mean_m": val.mean_m,
                    "mean_deg": val.mean_deg}
        row = {"epoch": epoch + 1, "step": progress.step, "lr": optimizer.param_groups[0]["lr"],
               "train_images_per_s": images_per_s, **{k: v / max(1, schedule.steps_per_epoch) for k, v in sums.items()},
               **{f"val_{k}": v for k, v in val_dict.items()}}
        log.epoch(progress.step, row, val_dict)
        if _score(val) < progress.best_score:
            progress.best_score, progress.best_val = _score(val), val_dict
            checkpoint(paths["best"], val_dict)
        checkpoint(paths["last"], val_dict)
        if (epoch + 1) % config.save_epoch_freq == 0:
            checkpoint(run_dir / f"epoch{epoch + 1:04d}.pt", val_dict)
        if show:
            tqdm.write(f"epoch {epoch + 1}: loss {row.get('loss_total', 0):.4f}  val median "
                       f"{val.median_m:.3f} m {val.median_deg:.2f} deg (best {progress.best_val['median_m']:.3f} m)")
    log.close()
    if rank == 0 and config.uncertainty and paths["best"].exists():
        _calibrate_best(paths["best"], data, device, show)
    if world > 1:
        dist.barrier()
    return TrainResult(run_dir, paths["best"], paths["last"], progress.best_val, config.niter, time.time() - t_start,
                       parameter_digest(student, *objective.trainable))


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


def _calibrate_best(path: Path, data: _Data, device: torch.device, show: bool) -> None:
    """Fold the validation split's variance scales into ``best.pt`` (its weights and its metadata) and
    give it the error map of its training views."""
    calibration = calibrate_checkpoint(load_checkpoint(str(path), map_location=str(device)), str(path),
                                       data.val_loader, device, data.train_views_loader)
    if show:
        tqdm.write(f"uncertainty {describe_calibration(calibration)}")
