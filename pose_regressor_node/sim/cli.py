"""``python -m pose_regressor_node sim``: render the synthetic world to disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import non_negative_float, non_negative_int, positive_float, positive_int
from ..errors import ParameterError
from .bag_writer import write_rosbag2
from .coverage import CoverageSpec, coverage_views
from .dataset_writer import write_7scenes
from .drive import SPLITS, drives_in_order, simulate_drive, split_drives
from .renderer import Renderer
from .world import DEMO_SEED, build_world


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
    parser.add_argument("--coverage-spacing", type=non_negative_float, default=CoverageSpec.spacing_m,
                        help="7scenes: add views on a jittered grid of this spacing (m) over the free floor to the "
                             "train split, at every heading; 0: drives only")
    parser.add_argument("--coverage-headings", type=positive_int, default=CoverageSpec.headings,
                        help="headings per coverage position")
    parser.add_argument("--workers", type=non_negative_int, default=0, help="render processes (0: one per core)")


def run(args: argparse.Namespace) -> int:
    world = build_world(args.seed)
    renderer = Renderer(world)
    if args.format == "7scenes":
        splits = [args.split] if args.split else list(SPLITS)
        coverage = coverage_views(world, CoverageSpec(args.coverage_spacing, args.coverage_headings)) \
            if "train" in splits and args.coverage_spacing > 0 else None
        sources = drives_in_order(world, splits, args.duration, args.camera_rate, coverage)
        views = len(coverage) if coverage is not None else 0
        write_7scenes(args.out, renderer, sources, realistic=not args.ideal, workers=args.workers or None)
        print(f"wrote {len(sources)} sequences to {args.out}"
              + (f" (train includes {views} coverage views)" if views else ""))
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
