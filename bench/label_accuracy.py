"""How good are ``label``'s labels? Synthetic drives with exact ground truth, labelled by SfM.

Renders drives of the synthetic room as bags (camera, camera_info, odometry, /tf_static and the
ground truth ``label`` never reads), labels them, and compares the labelled camera poses with the
truth after a *rigid* fit (rotation and translation, no scale: the scale must come from the car's
geometry, and its error is reported apart, from a similarity fit). Prints JSON with the median
camera-centre and rotation errors, the scale error, the registered share and the run time.

    PYTHONPATH=. .venv/bin/python bench/label_accuracy.py --drives loop:41 --duration 50
    PYTHONPATH=. .venv/bin/python bench/label_accuracy.py --drives loop:41 figure8:42 waypoints:43 --duration 50
    PYTHONPATH=. .venv/bin/python bench/label_accuracy.py --drives loop:41 --duration 50 --plain   # low texture
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Sequence

import numpy as np

from pose_regressor_node.bags import BagReader
from pose_regressor_node.data import read_folder
from pose_regressor_node.errors import PoseRegressorError
from pose_regressor_node.fusion.monitor import umeyama
from pose_regressor_node.geometry import Pose, matrix_to_quat, quat_multiply, rotation_error_deg
from pose_regressor_node.label.keyframes import KeyframePolicy
from pose_regressor_node.label.pipeline import LabelOptions, label
from pose_regressor_node.label.sfm import SfmOptions
from pose_regressor_node.messages import stamp_ns_of, stamped_pose_from_msg
from pose_regressor_node.sim import Renderer, build_world, simulate_drive
from pose_regressor_node.sim.bag_writer import write_rosbag2
from pose_regressor_node.sim.world import DEMO_SEED


def truth_cameras(bag: Path, stamps: List[int]):
    """Camera-to-map truth at the given stamps, from the bag's ground truth and /tf_static."""
    with BagReader(bag) as reader:
        truth = {stamp_ns_of(m): stamped_pose_from_msg(m) for _, _, m in reader.messages(["/ground_truth/pose"])}
        _, extrinsic = reader.static_transform("base_link")
    return [truth[s] @ extrinsic for s in stamps]


def rigid_fit(labelled: Sequence[Pose], truth: Sequence[Pose]) -> Callable[[Pose], Pose]:
    """The rigid transform from the label frame to the truth frame, as a function on poses. Positions
    by Umeyama without scale; the rotation from the orientations themselves (chordal mean of
    truth * label^-1): fitted from positions alone, its own error would be charged to every frame."""
    labels = np.array([p.position for p in labelled])
    exact = np.array([t.position for t in truth])
    rotation, translation, _ = umeyama(labels, exact, np.ones(len(labels)), with_scale=False)
    u, _, vt = np.linalg.svd(sum(t.rotation @ p.rotation.T for p, t in zip(labelled, truth)))
    q_fit = matrix_to_quat(u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt)

    def apply(pose: Pose) -> Pose:
        return Pose(rotation @ pose.position + translation, quat_multiply(q_fit, pose.quaternion))

    return apply


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drives", nargs="+", default=["loop:41"], help="KIND:SEED per drive")
    parser.add_argument("--duration", type=float, default=50.0)
    parser.add_argument("--plain", action="store_true", help="a low-texture room: plain walls and floor")
    parser.add_argument("--mapper", choices=["incremental", "global"], default="incremental")
    parser.add_argument("--keyframe-rate", type=float, default=KeyframePolicy.rate_hz,
                        help="keyframes per second while moving (label --keyframe-rate)")
    parser.add_argument("--keep", default=None, help="keep the bags and dataset in this folder")
    args = parser.parse_args()
    world = build_world(DEMO_SEED, texture="plain" if args.plain else "rich")
    renderer = Renderer(world)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="label_bench_"))
    bags = []
    for spec in args.drives:
        kind, seed = spec.split(":")
        bag = work / f"{kind}-{seed}"
        if not bag.exists():
            write_rosbag2(bag, renderer, simulate_drive(world, kind, int(seed), duration_s=args.duration))
        bags.append(bag)
    start = time.perf_counter()
    result: dict = {"bench": "label_accuracy", "drives": args.drives, "duration_s": args.duration,
                    "texture": "plain" if args.plain else "rich", "mapper": args.mapper,
                    "keyframe_rate_hz": args.keyframe_rate}
    try:
        outcome = label(bags, work / "dataset", LabelOptions(sfm=SfmOptions(mapper=args.mapper),
                                                             keyframes=KeyframePolicy(rate_hz=args.keyframe_rate)))
    except PoseRegressorError as err:
        result.update({"passed": False, "error": str(err), "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(result, indent=2))
        return result
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["keyframes"] = sum(len(d.names) for d in outcome.drives)
    result["self_check"] = {name: {"passed": c.passed, "bad_windows": round(c.bad_share, 4),
                                   "registered": round(c.registered_share, 4), "odometry_path_ratio":
                                   round(c.median_ratio, 4), "problems": c.problems} for name, c in outcome.checks.items()}
    result["passed"] = outcome.passed
    if outcome.passed:
        samples = read_folder(work / "dataset", "train")
        stamps = [int(s.image.stem) for s in samples]
        truth = []
        for bag in bags:
            mine = [st for s, st in zip(samples, stamps) if s.image.parent.name == bag.name]
            truth += truth_cameras(bag, mine)
        labels = np.array([s.pose.position for s in samples])
        exact = np.array([t.position for t in truth])
        fit = rigid_fit([s.pose for s in samples], truth)
        _, _, scale = umeyama(labels, exact, np.ones(len(labels)), with_scale=True)
        errors = np.linalg.norm(np.array([fit(s.pose).position for s in samples]) - exact, axis=1)
        rot_errors = [rotation_error_deg(fit(s.pose).quaternion, t.quaternion) for s, t in zip(samples, truth)]
        result.update({"labelled": len(samples), "median_position_error_m": round(float(np.median(errors)), 5),
                       "p95_position_error_m": round(float(np.percentile(errors, 95)), 5),
                       "median_rotation_error_deg": round(float(np.median(rot_errors)), 4),
                       "scale_error": round(float(scale - 1.0), 5)})
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
