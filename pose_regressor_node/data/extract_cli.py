"""``python -m pose_regressor_node extract BAG --out DIR``: a training dataset from a bag."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import positive_float, positive_int
from .extract import extract_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", type=Path, help="rosbag2 folder/file or ROS 1 .bag")
    parser.add_argument("--out", required=True, type=Path, help="dataset folder (format 'folder')")
    parser.add_argument("--split", choices=["train", "val", "test"], default="train")
    parser.add_argument("--image-topic", default=None, help="default: the first Image/CompressedImage topic")
    parser.add_argument("--pose-topic", default=None, help="ground truth topic (PoseStamped, ...WithCovariance, Odometry)")
    parser.add_argument("--tf", nargs=2, metavar=("PARENT", "CHILD"), default=None, help="ground truth from /tf instead")
    parser.add_argument("--max-diff", type=positive_float, default=0.02, help="max stamp difference image<->pose, seconds")
    parser.add_argument("--every", type=positive_int, default=1, help="keep every N-th frame")
    parser.add_argument("--append", action="store_true", help="append to an existing split file")


def run(args: argparse.Namespace) -> int:
    report = extract_dataset(args.bag, args.out, args.split, args.image_topic, args.pose_topic,
                             tuple(args.tf) if args.tf else None, args.max_diff, append=args.append, every=args.every)
    print(f"{report.written}/{report.frames} frames of {report.image_topic} paired with {report.pose_source} "
          f"({report.unmatched} without ground truth within {args.max_diff} s, {report.undecodable} undecodable) "
          f"-> {report.path}")
    return 0
