"""Typed configuration of training runs (no globals); defaults reproduce the documents' setting."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple

from ..cli_args import int_between, non_negative_float, non_negative_int, positive_float, positive_int
from ..errors import ParameterError
from ..model import ARCHITECTURES

__all__ = ["TrainConfig", "DistillConfig", "add_train_arguments", "add_distill_arguments",
           "train_config_from_args", "distill_config_from_args"]

@dataclass
class TrainConfig:
    model: str = "resnet18"
    dataroot: str = ""
    dataset: str = "7scenes"
    name: str = "run"
    runs_dir: str = "runs"
    beta: float = 500.0
    learn_beta: bool = False
    niter: int = 100  # epochs
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    device: str = "auto"
    save_epoch_freq: int = 10
    seed: int = 0
    resize: int = 256
    crop: int = 224
    workers: Optional[int] = None
    pretrained: Optional[str] = None
    resume: Optional[str] = None
    amp: bool = True
    max_steps_per_epoch: Optional[int] = None  # for smoke runs
    width_mult: float = 1.0
    dropout: float = 0.5  # of the head's hidden layer (the documents' PoseNet head)
    uncertainty: bool = True  # per-frame log-variance head, calibrated on the validation split
    uncertainty_weight: float = 1.0
    crop_margin: int = 4  # pixels cached around the centre crop: random crops shift by up to this much
    cache_dir: Optional[str] = None  # frame cache folder (default: the package's cache folder)

    def validate(self) -> None:
        if self.model not in ARCHITECTURES:
            raise ParameterError(f"--model {self.model!r} unknown; choose one of {', '.join(ARCHITECTURES)}")
        if not self.dataroot:
            raise ParameterError("--dataroot is required (a scene folder)")
        for name in ("niter", "batch_size", "save_epoch_freq"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"--{name} must be positive, got {getattr(self, name)}")
        if self.lr <= 0 or self.beta <= 0:
            raise ParameterError("--lr and --beta must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ParameterError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.crop_margin < 0 or self.crop + 2 * self.crop_margin > self.resize:
            raise ParameterError(f"--crop_margin {self.crop_margin} needs --resize >= --crop + 2 * margin "
                                 f"(resize {self.resize}, crop {self.crop})")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

@dataclass
class DistillConfig:
    teacher_model: str = "resnet34"
    teacher_path: str = ""
    cs_taps: Tuple[int, ...] = (3, 4)
    hint_tap: Optional[int] = 5
    kl: bool = False
    alpha: float = 100.0
    sigma: float = 100.0

    def validate(self) -> None:
        if not self.teacher_path:
            raise ParameterError("--T_path is required: the teacher's checkpoint")
        bad = [t for t in (*self.cs_taps, *([self.hint_tap] if self.hint_tap else [])) if not 1 <= t <= 6]
        if bad:
            raise ParameterError(f"feature taps must be 1..6 (stem, layer1..4, pooled), got {bad}")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="resnet18", choices=list(ARCHITECTURES), help="backbone")
    parser.add_argument("--dataroot", required=True, help="scene folder (7-Scenes layout, Cambridge, or folder)")
    parser.add_argument("--dataset", default="7scenes", choices=["7scenes", "cambridge", "folder"])
    parser.add_argument("--name", default="run", help="run directory under --runs_dir")
    parser.add_argument("--runs_dir", default="runs")
    parser.add_argument("--beta", type=positive_float, default=500.0, help="weight of the quaternion term")
    parser.add_argument("--learn_beta", action="store_true", help="learned homoscedastic weighting (s_x, s_q)")
    parser.add_argument("--niter", type=positive_int, default=100, help="epochs")
    parser.add_argument("--batchSize", dest="batch_size", type=positive_int, default=32)
    parser.add_argument("--lr", type=positive_float, default=1e-4, help="peak learning rate (Adam; warm-up then cosine)")
    parser.add_argument("--weight_decay", type=non_negative_float, default=1e-4)
    parser.add_argument("--device", "--gpu", dest="device", default="auto",
                        help="auto, cpu, cuda, cuda:N, or a GPU index (the documents' --gpu)")
    parser.add_argument("--save_epoch_freq", type=positive_int, default=10, help="also keep a checkpoint every N epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resize", type=positive_int, default=256, help="shorter image side before cropping")
    parser.add_argument("--crop", type=positive_int, default=224, help="square network input")
    parser.add_argument("--workers", type=non_negative_int, default=None,
                        help="processes that decode frames into the frame cache (default: one per core)")
    parser.add_argument("--pretrained", default=None, help="local ImageNet weights for the backbone (torchvision names)")
    parser.add_argument("--resume", default=None, help="continue from this checkpoint (e.g. RUN/last.pt)")
    parser.add_argument("--no_amp", dest="amp", action="store_false", help="disable mixed precision on CUDA")
    parser.add_argument("--max_steps_per_epoch", type=positive_int, default=None, help="cap steps per epoch (smoke runs)")
    parser.add_argument("--width_mult", type=positive_float, default=1.0, help="mobilenet_v2 width multiplier")
    parser.add_argument("--dropout", type=non_negative_float, default=0.5, help="dropout of the head's hidden layer")
    parser.add_argument("--no_uncertainty", dest="uncertainty", action="store_false",
                        help="no per-frame uncertainty head (the published covariance is then fixed)")
    parser.add_argument("--uncertainty_weight", type=non_negative_float, default=1.0,
                        help="weight of the uncertainty head's negative log-likelihood")
    parser.add_argument("--crop_margin", type=non_negative_int, default=4,
                        help="pixels cached around the centre crop; random crops shift by up to this much")
    parser.add_argument("--cache_dir", default=None, help="frame cache folder (default: ~/.cache/pose_regressor/frames)")

def add_distill_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser)
    parser.add_argument("--T_model", default="resnet34", choices=list(ARCHITECTURES), help="teacher backbone")
    parser.add_argument("--T_path", required=True, help="teacher checkpoint")
    parser.add_argument("--CSmodule", type=int_between(1, 6), nargs="*", default=[3, 4], help="similarity taps (1..6)")
    parser.add_argument("--hintmodule", type=int_between(0, 6), default=5, help="hint tap (1..6); 0 disables the hint loss")
    parser.add_argument("--CSKL", action="store_true", help="KL form of the similarity loss")
    parser.add_argument("--alpha", type=non_negative_float, default=100.0, help="hint loss weight")
    parser.add_argument("--sigma", type=non_negative_float, default=100.0, help="similarity loss weight")

def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    fields = TrainConfig.__dataclass_fields__
    config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    config.validate()
    return config

def distill_config_from_args(args: argparse.Namespace) -> DistillConfig:
    config = DistillConfig(args.T_model, args.T_path, tuple(args.CSmodule), args.hintmodule or None,
                           args.CSKL, args.alpha, args.sigma)
    config.validate()
    return config
