"""``label`` as named stages: read the drives, choose keyframes, write them, reconstruct, put the
reconstruction in the metric map frame, check it against odometry, write the dataset.

Labels are written only when the self-check passes; a rejected reconstruction still leaves its
report and the model itself behind, for inspection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..data.folder import write_folder_split
from ..data.samples import Sample
from ..errors import DatasetError, ParameterError
from ..geometry import Pose
from .camera import colmap_camera
from .keyframes import KeyframePolicy, odometry_at, select_keyframes
from .metric import MetricFrame, metric_frame
from .recording import RecordedDrive, read_drive, stamps_of, write_keyframes
from .report import write_report
from .selfcheck import CheckPolicy, SelfCheck, self_check
from .sfm import SfmOptions, SfmResult, reconstruct

__all__ = ["LabelOptions", "LabelResult", "label", "base_poses"]


@dataclass
class LabelOptions:
    splits: Sequence[str] = ()  # one per bag; default: all train
    image_topic: Optional[str] = None
    odom_topic: Optional[str] = None
    base_frame: str = "base_link"
    extrinsic: Optional[Pose] = None  # base_link -> camera where a bag has no /tf_static
    base_height_m: float = 0.0  # base_link's height above the floor
    keyframes: KeyframePolicy = field(default_factory=KeyframePolicy)
    sfm: SfmOptions = field(default_factory=SfmOptions)
    check: CheckPolicy = field(default_factory=CheckPolicy)
    progress: bool = True


@dataclass
class LabelResult:
    drives: List[RecordedDrive]
    frame: MetricFrame
    checks: Dict[str, SelfCheck]
    odometry_scale: Dict[str, float]  # SfM path / odometry path per drive: the odometry's calibration, cross-checked
    labelled: Dict[str, int]  # split -> frames written
    camera_to_map: Dict[str, Pose]  # image name -> label
    out: Path
    report: Path
    passed: bool


def base_poses(camera_to_map: Dict[str, Pose], names: Sequence[str], base_to_camera: Pose) -> np.ndarray:
    """(n, 3) base_link positions of the named keyframes (NaN where unregistered)."""
    out = np.full((len(names), 3), np.nan)
    inverse = base_to_camera.inverse()
    for i, name in enumerate(names):
        if name in camera_to_map:
            out[i] = (camera_to_map[name] @ inverse).position
    return out


def _extrinsic(drives: Sequence[RecordedDrive], given: Optional[Pose]) -> Pose:
    found = [d.extrinsic for d in drives if d.extrinsic is not None]
    if found:
        return found[0]
    if given is None:
        raise ParameterError("the bags have no /tf_static with base_link -> camera; pass --extrinsic X Y Z ROLL PITCH "
                             "YAW (the camera optical frame in base_link, metres and radians)")
    return given


def label(bags: Sequence[Path], out: Path, options: Optional[LabelOptions] = None) -> LabelResult:
    options = options or LabelOptions()
    splits = list(options.splits) or ["train"] * len(bags)
    if len(splits) != len(bags):
        raise ParameterError(f"{len(bags)} bags but {len(splits)} splits; give one split per bag (train, val or test)")
    if len({Path(b).stem for b in bags}) != len(bags):
        raise ParameterError("two bags have the same name; the dataset's image folders are named after them")
    out = Path(out)
    image_dir = out / "images"
    drives = [read_drive(Path(b), s, options.image_topic, options.odom_topic, options.base_frame, options.progress)
              for b, s in zip(bags, splits)]
    extrinsic = _extrinsic(drives, options.extrinsic)
    for drive in drives:
        drive.keyframes = select_keyframes(drive.stamps_ns, drive.odometry, options.keyframes)
        drive.names = write_keyframes(drive, image_dir, options.progress)
    sfm = reconstruct(out / "sfm", image_dir, [d.names for d in drives], colmap_camera(drives[0].camera_info),
                      options.sfm, options.progress)
    frame = _metric(sfm, drives, extrinsic, options)
    camera_to_map = {name: frame.camera_pose(pose) for name, pose in sfm.camera_to_world.items()}
    checks, scales = {}, {}
    for drive in drives:
        registered = [n in camera_to_map for n in drive.names]
        odo = np.array([p.position for p in odometry_at(drive.odometry, stamps_of(drive.names))])
        sfm_base = base_poses(camera_to_map, drive.names, extrinsic)
        checks[drive.name] = self_check(stamps_of(drive.names), sfm_base, odo, registered, drive.names, options.check)
        scales[drive.name] = checks[drive.name].median_ratio
    passed = all(c.passed for c in checks.values())
    labelled = _write_dataset(out, drives, camera_to_map) if passed else {}
    report = write_report(out / "label_report", drives, camera_to_map, extrinsic, frame, checks, sfm, labelled)
    (out / "label_report" / "summary.json").write_text(json.dumps({
        "passed": passed, "scale_m_per_sfm_unit": frame.scale, "floor_distance_sfm": frame.floor_distance_sfm,
        "floor_points_fitted": frame.floor_points, "floor_excess_m_deg": frame.floor_excess_m_deg,
        "camera_height_m": _camera_height(extrinsic, options), "models": sfm.models,
        "registered": {d.name: f"{sum(n in camera_to_map for n in d.names)}/{len(d.names)}" for d in drives},
        "odometry_path_ratio": scales, "labelled": labelled,
        "problems": {name: c.problems for name, c in checks.items()}}, indent=2))
    return LabelResult(drives, frame, checks, scales, labelled, camera_to_map, out, report, passed)


def _camera_height(extrinsic: Pose, options: LabelOptions) -> float:
    return options.base_height_m + float(extrinsic.position[2])


def _metric(sfm: SfmResult, drives: Sequence[RecordedDrive], extrinsic: Pose, options: LabelOptions) -> MetricFrame:
    ordered = [sfm.camera_to_world[n] for d in drives for n in d.names if n in sfm.camera_to_world]
    height = _camera_height(extrinsic, options)
    if height <= 0:
        raise ParameterError(f"the camera is {height:.3f} m above the floor by the extrinsic and --base-height; it "
                             "must be above it (is base_link's z axis up?)")
    return metric_frame(ordered, sfm.points, sfm.viewpoints, height, extrinsic)


def _write_dataset(out: Path, drives: Sequence[RecordedDrive], camera_to_map: Dict[str, Pose]) -> Dict[str, int]:
    by_split: Dict[str, List[Sample]] = {}
    for drive in drives:
        by_split.setdefault(drive.split, []).extend(
            Sample(Path("images") / n, camera_to_map[n]) for n in drive.names if n in camera_to_map)
    for split, samples in by_split.items():
        if not samples:
            raise DatasetError(f"no registered keyframe in the {split} split")
        write_folder_split(out, split, samples)
    return {split: len(samples) for split, samples in by_split.items()}
