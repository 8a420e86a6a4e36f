"""Offline replay as named stages: bag events -> decoded frames -> batched regression -> fusion in
arrival order (inference latency simulated) -> scoring against ground truth.

The same objects as on the robot: ``FrameRegressor`` (what regressor_node calls), built from the
same ``RegressorConfig``, and ``PoseFuser`` fed in arrival order (what fusion_node sees). Each
stage is a plain function over the previous one's output, testable alone; ``replay`` only wires
them (evo's ``main_ape.run`` versus ``ape()``).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from ..fusion import FusionConfig, fuse_in_arrival_order
from ..geometry import Pose
from ..images import ImageDecodeError, decode_image
from ..inference.config import RegressorConfig
from ..inference.engine import load_engine
from ..inference.frame_regressor import FrameRegressor
from ..measurements import OdometrySample, PoseEstimate
from ..messages import stamp_ns_of
from .metrics import Evaluation, evaluate
from .source import BadOdometry, BagTopics, Event, ImageMessage, OdometryMessage, ReplaySource, TruthPose
from .trajectory import Trajectory

__all__ = ["ReplayOptions", "ReplayResult", "Frame", "Recording", "replay", "measure_latency", "decoded_frames",
           "regress", "odometry_in_map", "score"]


@dataclass
class ReplayOptions:
    backend: str = "auto"
    device: str = "auto"
    batch: int = 16
    latency_s: Optional[float] = None  # None: the engine's measured batch-1 latency
    max_diff_s: float = 0.02
    regressor: RegressorConfig = field(default_factory=RegressorConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    extrinsic: Optional[Pose] = None  # base_link -> camera; None: /tf_static, else the regressor config's
    image_topic: Optional[str] = None
    odom_topic: Optional[str] = None
    truth_topic: Optional[str] = None
    progress: bool = True


@dataclass
class ReplayResult:
    topics: BagTopics
    backend: str
    latency_s: float
    latency_measured: bool
    truth: Trajectory
    trajectories: Dict[str, Trajectory]  # regressor, odometry, fused
    evaluations: Dict[str, Evaluation]
    counts: Dict[str, int]
    notes: List[str]
    covariance_source: str = "fixed"
    estimates: List[PoseEstimate] = field(default_factory=list)


@dataclass(frozen=True)
class Frame:
    stamp_ns: int
    rgb: np.ndarray


@dataclass
class Recording:
    """The small streams of a bag, collected while its frames stream past."""

    odometry: List[OdometrySample] = field(default_factory=list)
    truth: List[Tuple[int, Pose]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def images(self, events: Iterable[Event]) -> Iterator[ImageMessage]:
        """Yields the image messages; keeps odometry and ground truth, counts what it cannot use."""
        for event in events:
            if isinstance(event, ImageMessage):
                yield event
            elif isinstance(event, OdometryMessage):
                self.odometry.append(event.sample)
            elif isinstance(event, BadOdometry):
                self.counts["bad_odometry"] += 1
            elif isinstance(event, TruthPose):
                self.truth.append((event.stamp_ns, event.pose))

    def truth_trajectory(self) -> Trajectory:
        ordered = sorted(self.truth, key=lambda item: item[0])
        return Trajectory.from_poses([s for s, _ in ordered], [p for _, p in ordered])


def decoded_frames(images: Iterable[ImageMessage], counts: Counter) -> Iterator[Frame]:
    """Stage 1: RGB frames with their capture stamps; undecodable messages are counted and skipped."""
    for image in images:
        try:
            rgb = decode_image(image.msg)
        except ImageDecodeError:
            counts["bad_images"] += 1
            continue
        counts["images"] += 1
        yield Frame(stamp_ns_of(image.msg), rgb)


def regress(regressor: FrameRegressor, frames: Iterable[Frame], batch: int) -> List[PoseEstimate]:
    """Stage 2: the regressor over batches of frames."""
    estimates: List[PoseEstimate] = []
    iterator = iter(frames)
    while True:
        chunk = list(itertools.islice(iterator, batch))
        if not chunk:
            return estimates
        estimates += regressor.estimate([f.rgb for f in chunk], [f.stamp_ns for f in chunk])


def measure_latency(regressor: FrameRegressor, frame: np.ndarray, repeats: int = 10) -> float:
    """Median seconds from a decoded frame to a pose (preprocess + inference), batch 1."""
    regressor.estimate([frame], [0])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        regressor.estimate([frame], [0])
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def odometry_in_map(odometry: List[OdometrySample], truth: Trajectory, first_pose: Optional[Pose]) -> Trajectory:
    """Dead reckoning, started where the car really was (ground truth) or at the first regressed pose."""
    if not odometry:
        return Trajectory.from_poses([], [])
    start = odometry[0]
    if len(truth):
        k = int(np.argmin(np.abs(truth.stamps_ns - start.stamp_ns)))
        anchor = truth.pose(k)
    else:
        anchor = first_pose or Pose()
    map_from_odom = anchor @ start.pose.inverse()
    return Trajectory.from_poses([o.stamp_ns for o in odometry], [map_from_odom @ o.pose for o in odometry])


def score(truth: Trajectory, trajectories: Dict[str, Trajectory], max_diff_s: float) -> Dict[str, Evaluation]:
    """Stage 4: APE and RPE of each trajectory against ground truth (none without it)."""
    return {name: evaluate(truth, traj, max_diff_s) for name, traj in trajectories.items()} if len(truth) else {}


def _extrinsic(source: ReplaySource, options: ReplayOptions, notes: List[str]) -> Pose:
    if options.extrinsic is not None:
        return options.extrinsic
    found = source.extrinsic(options.regressor.base_frame)
    if found is not None:
        notes.append(f"camera extrinsic {options.regressor.base_frame} -> {found[0]} from /tf_static")
        return found[1]
    notes.append("no /tf_static in the bag: camera extrinsic from the regressor parameters")
    return options.regressor.extrinsic


def replay(bag: Path, model: str, options: Optional[ReplayOptions] = None) -> ReplayResult:
    options = options or ReplayOptions()
    engine = load_engine(model, backend=options.backend, device=options.device)
    recording = Recording()
    with ReplaySource(Path(bag), options.image_topic, options.odom_topic, options.truth_topic) as source:
        notes = list(source.topics.notes)
        regressor = FrameRegressor(engine, _extrinsic(source, options, notes), options.regressor)
        bar = tqdm(total=source.image_count, unit="frame", desc="replay", disable=not options.progress)
        frames = decoded_frames(_ticking(recording.images(source.events()), bar), recording.counts)
        first = next(frames, None)
        latency_s = options.latency_s
        if latency_s is None:
            latency_s = measure_latency(regressor, first.rgb) if first is not None else 0.0
        estimates = regress(regressor, itertools.chain([first] if first else [], frames), options.batch)
        bar.close()
    counts = recording.counts
    counts.update(odometry=len(recording.odometry), truth=len(recording.truth))
    truth = recording.truth_trajectory()
    odometry = sorted(recording.odometry, key=lambda o: o.stamp_ns)
    fused = fuse_in_arrival_order(odometry, estimates, int(latency_s * 1e9), options.fusion)
    counts.update({f"fusion_{k}": v for k, v in fused.decisions.items()})
    trajectories = {
        "regressor": Trajectory.from_poses([e.stamp_ns for e in estimates], [e.pose for e in estimates]),
        "odometry": odometry_in_map(odometry, truth, estimates[0].pose if estimates else None),
        "fused": Trajectory.from_poses(fused.stamps_ns, fused.poses),
    }
    notes.append(f"regressed pose covariance: {regressor.covariance_source}")
    return ReplayResult(source.topics, engine.backend, latency_s, options.latency_s is None, truth, trajectories,
                        score(truth, trajectories, options.max_diff_s), dict(counts), notes,
                        regressor.covariance_source, estimates)


def _ticking(items: Iterable, bar: tqdm) -> Iterator:
    """Passes items on, ticking the progress bar once per item."""
    for item in items:
        bar.update(1)
        yield item
