"""``python -m pose_regressor_node calibrate``: calibrate a checkpoint's predicted uncertainty.

``train`` does this at its end; this command is for a run that stopped early (its ``best.pt`` is
complete but uncalibrated), for a checkpoint to be recalibrated on another validation split, or to
give an older checkpoint the error map of its training views (it reads the train split once: the
demo room's 12,558 frames take about three minutes on two cores). Never calibrate on the test
split: its figures would no longer be honest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..cli_args import non_negative_int, positive_int
from ..data import load_samples
from ..data.dataset import eval_loader
from ..errors import CheckpointError, DatasetError
from ..model import Checkpoint, load_checkpoint
from .calibration import calibrate_checkpoint, describe_calibration
from .loop import resolve_device


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .pt checkpoint with the uncertainty head; rewritten in place")
    parser.add_argument("--dataroot", required=True, help="the scene folder whose val split calibrates")
    parser.add_argument("--dataset", default="7scenes", choices=["7scenes", "cambridge", "folder"])
    parser.add_argument("--device", "--gpu", dest="device", default="auto")
    parser.add_argument("--batchSize", dest="batch_size", type=positive_int, default=32)
    parser.add_argument("--workers", type=non_negative_int, default=None)
    parser.add_argument("--no_error_map", action="store_true",
                        help="calibrate the head only; the file then carries no error map (and drops an old one)")


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint, map_location="cpu")
    if not ckpt.model.has_uncertainty:
        raise CheckpointError(f"{args.checkpoint} has no uncertainty head (it was trained with --no_uncertainty): "
                              "nothing to calibrate; its covariance is the fixed one")
    val_loader = _loader(args, "val", ckpt, device)
    try:
        train_loader = None if args.no_error_map else _loader(args, "train", ckpt, device)
    except DatasetError as err:
        raise DatasetError(f"{err} (the error map is built from the train split; --no_error_map calibrates "
                           "the head alone)") from err
    with torch.no_grad():
        calibration = calibrate_checkpoint(ckpt, args.checkpoint, val_loader, device, train_loader)
    print(f"{args.checkpoint}: {describe_calibration(calibration)}")
    return 0


def _loader(args: argparse.Namespace, split: str, ckpt: Checkpoint, device: torch.device) -> DataLoader:
    return eval_loader(load_samples(args.dataset, Path(args.dataroot), split), ckpt.metadata.preprocess,
                       args.batch_size, device, args.workers)
