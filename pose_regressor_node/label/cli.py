"""``python -m pose_regressor_node label BAG [BAG ...] --out DATASET``: training labels for your own room
from recorded drives, by structure-from-motion scaled by the camera's height above the floor."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..cli_args import non_negative_float, positive_float, positive_int
from ..geometry import Pose, quat_from_euler
from .keyframes import KeyframePolicy
from .pipeline import LabelOptions, label
from .selfcheck import CheckPolicy
from .sfm import SfmOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bags", type=Path, nargs="+", help="recorded drives: rosbag2 folders or ROS 1 .bag files")
    parser.add_argument("--out", type=Path, required=True, help="the dataset folder (format 'folder')")
    parser.add_argument("--split", nargs="+", default=None, choices=["train", "val", "test"],
                        help="one per bag, in order (default: all train)")
    parser.add_argument("--image-topic", default=None)
    parser.add_argument("--odom-topic", default=None)
    parser.add_argument("--base-frame", default="base_link")
    parser.add_argument("--extrinsic", type=float, nargs=6, metavar=("X", "Y", "Z", "ROLL", "PITCH", "YAW"),
                        default=None, help="camera optical frame in base_link (m, rad) where the bags have no /tf_static")
    parser.add_argument("--base-height", type=non_negative_float, default=0.0,
                        help="base_link's height above the floor (m); the camera height is this plus the extrinsic's z")
    parser.add_argument("--keyframe-rate", type=positive_float, default=KeyframePolicy.rate_hz,
                        help="keyframes per second while moving (fewer than 3 split the reconstruction in tests)")
    parser.add_argument("--mapper", choices=["incremental", "global"], default="incremental",
                        help="global (GLOMAP) is faster on large sets, incremental more robust")
    parser.add_argument("--overlap", type=positive_int, default=SfmOptions.overlap, help="sequential matching overlap")
    parser.add_argument("--tolerance", type=positive_float, default=CheckPolicy.tolerance,
                        help="self-check: allowed SfM/odometry distance disagreement per window")
    parser.add_argument("--max-bad-share", type=non_negative_float, default=CheckPolicy.max_bad_share,
                        help="self-check: share of windows allowed outside the tolerance")


def run(args: argparse.Namespace) -> int:
    extrinsic = None
    if args.extrinsic is not None:
        x, y, z, roll, pitch, yaw = args.extrinsic
        extrinsic = Pose(np.array([x, y, z]), quat_from_euler(roll, pitch, yaw))
    options = LabelOptions(splits=args.split or (), image_topic=args.image_topic, odom_topic=args.odom_topic,
                           base_frame=args.base_frame, extrinsic=extrinsic, base_height_m=args.base_height,
                           keyframes=KeyframePolicy(rate_hz=args.keyframe_rate),
                           sfm=SfmOptions(overlap=args.overlap, mapper=args.mapper),
                           check=CheckPolicy(tolerance=args.tolerance, max_bad_share=args.max_bad_share))
    result = label(args.bags, args.out, options)
    for drive in result.drives:
        check = result.checks[drive.name]
        print(f"{drive.name} ({drive.split}): {len(drive.names)} keyframes, {check.registered_share:.1%} registered, "
              f"odometry path ratio {check.median_ratio:.4f}, {check.bad_share:.1%} windows outside tolerance")
    print(f"scale {result.frame.scale:.6f} m per SfM unit; report: {result.report}")
    if not result.passed:
        for name, check in result.checks.items():
            for problem in check.problems:
                print(f"rejected: {name}: {problem}")
        return 1
    print("labels: " + ", ".join(f"{args.out}/dataset_{split}.txt ({n} frames)" for split, n in result.labelled.items()))
    return 0
