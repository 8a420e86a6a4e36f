"""``python -m pose_regressor_node replay BAG --model MODEL``: score the localizer on a bag."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import non_negative_float, positive_float, positive_int
from .pipeline import ReplayOptions, replay
from .report import table_markdown, write_outputs
from .settings import DEFAULT_PARAMS_FILE, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", type=Path, help="rosbag2 folder (sqlite3/MCAP) or ROS 1 .bag")
    parser.add_argument("--model", required=True, help=".pt, .onnx or .engine")
    parser.add_argument("--out", type=Path, default=Path("replay_out"), help="output folder")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS_FILE,
                        help="node parameters (the same file the robot uses)")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=positive_int, default=16, help="frames per inference batch")
    parser.add_argument("--latency", type=non_negative_float, default=None,
                        help="simulated inference latency in s (default: measured on this machine)")
    parser.add_argument("--max-diff", type=positive_float, default=0.02, help="max stamp difference for association, s")
    parser.add_argument("--image-topic", default=None)
    parser.add_argument("--odom-topic", default=None)
    parser.add_argument("--truth-topic", default=None)
    parser.add_argument("--storage", choices=["sqlite3", "mcap"], default="sqlite3", help="trajectory bag storage")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.params)
    options = ReplayOptions(backend=args.backend, device=args.device, batch=args.batch, latency_s=args.latency,
                            max_diff_s=args.max_diff, regressor=settings.regressor, fusion=settings.fusion,
                            image_topic=args.image_topic, odom_topic=args.odom_topic, truth_topic=args.truth_topic)
    result = replay(args.bag, args.model, options)
    for note in result.notes:
        print(note)
    files = write_outputs(result, args.out, args.storage)
    if result.evaluations:
        print(table_markdown(result.evaluations))
    print(f"report: {files['report']}  plots: {args.out}/*.png  trajectories: {args.out}/*.tum, {files['bag']}")
    return 0
