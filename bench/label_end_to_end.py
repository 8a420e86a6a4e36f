"""``label`` end to end: label simulated bags, train on the labels, test; against the same training on
the exact ground truth.

Renders the drives of each split (train, val, test drives of the demo room) as bags, labels them
together, and writes a second dataset with the very same keyframe images whose poses are the exact ground
truth, moved into the label frame by the rigid fit on the *train* split (the frames differ by an
arbitrary rigid transform; only the labels' own errors should remain). Both datasets train the same
model at the same small budget, and both models are tested against the exact test poses. Prints
JSON: the labels' own error, and each model's test errors.

    PYTHONPATH=. .venv/bin/python bench/label_end_to_end.py --duration 40 --epochs 30
    PYTHONPATH=. .venv/bin/python bench/label_end_to_end.py --duration 60 --train loop:41 waypoints:44
    PYTHONPATH=. .venv/bin/python bench/label_end_to_end.py --duration 60 --train loop:41 waypoints:44 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
from label_accuracy import rigid_fit, truth_cameras  # bench/label_accuracy.py

from pose_regressor_node.data import read_folder
from pose_regressor_node.data.folder import write_folder_split
from pose_regressor_node.data.samples import Sample
from pose_regressor_node.geometry import Pose
from pose_regressor_node.label.pipeline import LabelOptions, label
from pose_regressor_node.sim import Renderer, build_world, simulate_drive
from pose_regressor_node.sim.bag_writer import write_rosbag2
from pose_regressor_node.sim.world import DEMO_SEED
from pose_regressor_node.training import TrainConfig, train
from pose_regressor_node.training.report import evaluate_checkpoint

SPLITS = ("train", "val", "test")


def _truth(samples: List[Sample], bags: List[Path]) -> List[Pose]:
    """The exact camera poses of a split's samples, drive by drive (images sit in folders named after their bag)."""
    by_bag = {bag.name: bag for bag in bags}
    out: Dict[str, Pose] = {}
    for name, bag in by_bag.items():
        mine = [s for s in samples if s.image.parent.name == name]
        out.update(zip((str(s.image) for s in mine), truth_cameras(bag, [int(s.image.stem) for s in mine])))
    return [out[str(s.image)] for s in samples]


def exact_dataset(labelled: Path, exact: Path, bags: Dict[str, List[Path]]) -> Dict[str, object]:
    """The labelled dataset's images with the exact poses, in the label frame; the labels' error."""
    samples = {split: read_folder(labelled, split) for split in SPLITS}
    truth = {split: _truth(samples[split], bags[split]) for split in SPLITS}
    to_truth = rigid_fit([s.pose for s in samples["train"]], truth["train"])
    # the inverse map, truth -> label frame, from the same fit: label = fit^-1(truth)
    to_label = rigid_fit(truth["train"], [s.pose for s in samples["train"]])
    exact.mkdir(parents=True, exist_ok=True)
    errors: List[float] = []
    for split in SPLITS:
        moved = [Sample(Path(os.path.relpath(s.image, exact)), to_label(t))  # the same image files
                 for s, t in zip(samples[split], truth[split])]
        write_folder_split(exact, split, moved)
        errors += [float(np.linalg.norm(to_truth(s.pose).position - t.position))
                   for s, t in zip(samples[split], truth[split])]
    return {"labels_median_position_error_m": round(float(np.median(errors)), 5),
            "frames": {split: len(samples[split]) for split in SPLITS}}


def train_and_test(root: Path, test_root: Path, runs: Path, name: str, args: argparse.Namespace,
                   seed: int = 0) -> Dict[str, float]:
    config = TrainConfig(model="resnet18", dataset="folder", dataroot=str(root), runs_dir=str(runs), name=name,
                         niter=args.epochs, batch_size=32, lr=5e-4, beta=10.0, dropout=0.0, resize=args.resize,
                         crop=args.crop, device="cpu", seed=seed, cache_dir=str(runs / "cache"))
    start = time.perf_counter()
    result = train(config)
    seconds = time.perf_counter() - start
    report = evaluate_checkpoint(str(result.best_path), str(test_root), "folder", runs / f"{name}_test", device="cpu")
    s = report.evaluation.summary
    return {"test_median_m": round(s.median_m, 4), "test_median_deg": round(s.median_deg, 3),
            "test_mean_m": round(s.mean_m, 4), "train_s": round(seconds, 1)}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=40.0, help="seconds per drive")
    parser.add_argument("--train", nargs="+", default=["loop:41"], help="KIND:SEED of each training drive")
    parser.add_argument("--val", nargs="+", default=["figure8:42"])
    parser.add_argument("--test", nargs="+", default=["waypoints:43"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--resize", type=int, default=72)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="train each model once per seed: one run's error varies by centimetres and degrees")
    parser.add_argument("--keep", default=None, help="keep bags, datasets and runs in this folder")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="label_e2e_"))
    world = build_world(DEMO_SEED, texture="rich")
    renderer = Renderer(world)
    drives = {"train": args.train, "val": args.val, "test": args.test}
    bags: Dict[str, List[Path]] = {split: [] for split in SPLITS}
    for split, specs in drives.items():
        for spec in specs:
            kind, seed = spec.split(":")
            bag = work / f"{kind}-{seed}"
            if not bag.exists():
                write_rosbag2(bag, renderer, simulate_drive(world, kind, int(seed), duration_s=args.duration))
            bags[split].append(bag)
    start = time.perf_counter()
    order = [(split, bag) for split in SPLITS for bag in bags[split]]
    outcome = label([bag for _, bag in order], work / "labelled", LabelOptions(splits=[split for split, _ in order]))
    result: dict = {"bench": "label_end_to_end", "drives": drives, "duration_s": args.duration,
                    "label_s": round(time.perf_counter() - start, 1), "label_passed": outcome.passed}
    if not outcome.passed:
        print(json.dumps(result, indent=2))
        return result
    result.update(exact_dataset(work / "labelled", work / "exact", bags))
    budget = {"epochs": args.epochs, "input": f"{args.resize}->{args.crop}", "batch": 32, "lr": 5e-4}
    result["budget"] = budget
    for key, root in (("trained_on_labels", work / "labelled"), ("trained_on_exact_poses", work / "exact")):
        runs = {f"seed {seed}": train_and_test(root, work / "exact", work / "runs", f"{root.name}_seed{seed}", args, seed)
                for seed in args.seeds}
        result[key] = runs if len(runs) > 1 else runs[f"seed {args.seeds[0]}"]
        if len(runs) > 1:
            result[key]["mean"] = {k: round(float(np.mean([r[k] for r in runs.values()])), 4)
                                   for k in ("test_median_m", "test_median_deg", "test_mean_m")}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
