"""``python -m pose_regressor_node sim``: render the synthetic world to disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import positive_float
from ..errors import ParameterError
from .drive import SPLITS, simulate_drive, split_drives
from .renderer import Renderer
from .world import DEMO_SEED, build_world
from .writers import write_7scenes, write_rosbag2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output folder (7scenes) or bag path (rosbag2)")
    parser.add_argument("--format", choices=["7scenes", "rosbag2"], default="7scenes")
    parser.add_argument("--seed", type=int, default=DEMO_SEED,
                        help="world seed; the default is the fixed demo room the demo model is trained on")
    parser.add_argument("--split", choices=list(SPLITS), default=None,
                        help="7scenes: only this split (default: all); rosbag2: the split whose first drive to write")
    parser.add_argument("--drive", default=None, help="rosbag2: drive KIND:SEED instead of a split, e.g. loop:7")
    parser.add_argument("--duration", type=positive_float, default=60.0, help="seconds per drive")
    parser.add_argument("--camera-rate", type=positive_float, default=10.0, help="camera frames per second")
    parser.add_argument("--storage", choices=["sqlite3", "mcap"], default="sqlite3", help="rosbag2 storage plugin")
    parser.add_argument("--compressed", action="store_true", help="rosbag2: JPEG CompressedImage instead of Image")
    parser.add_argument("--ideal", action="store_true", help="no exposure drift, blur or sensor noise")


def run(args: argparse.Namespace) -> int:
    world = build_world(args.seed)
    renderer = Renderer(world)
    if args.format == "7scenes":
        splits = [args.split] if args.split else list(SPLITS)
        drives = {s: split_drives(world, s, args.duration, args.camera_rate) for s in splits}
        write_7scenes(args.out, renderer, drives, realistic=not args.ideal)
        print(f"wrote {sum(len(d) for d in drives.values())} drives to {args.out}")
        return 0
    if args.drive:
        try:
            kind, seed = args.drive.split(":")
            drive = simulate_drive(world, kind, int(seed), args.duration, camera_rate_hz=args.camera_rate)
        except ValueError as err:
            raise ParameterError(f"--drive must be KIND:SEED with KIND loop|figure8|waypoints ({err})") from err
    else:
        drive = split_drives(world, args.split or "test", args.duration, args.camera_rate)[0]
    write_rosbag2(args.out, renderer, drive, storage=args.storage, compressed=args.compressed,
                  realistic=not args.ideal)
    print(f"wrote {drive.name} ({args.duration:.0f} s) to {args.out}")
    return 0
