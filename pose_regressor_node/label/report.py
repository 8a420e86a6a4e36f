"""``label``'s report: a top view of each drive's SfM trajectory against its odometry, a histogram of
the self-check's window ratios, and report.md with the figures and what to do about a rejection."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from ..geometry import Pose
from ..plots import plt, save_figure
from .keyframes import odometry_at
from .metric import MetricFrame
from .recording import RecordedDrive, stamps_of
from .selfcheck import SelfCheck
from .sfm import SfmResult

__all__ = ["write_report"]


def _odometry_in_map(drive: RecordedDrive, camera_to_map: Dict[str, Pose], base_to_camera: Pose) -> np.ndarray:
    """The drive's odometry at its keyframes, anchored at the first registered keyframe's SfM base pose."""
    poses = odometry_at(drive.odometry, stamps_of(drive.names))
    first = next((i for i, n in enumerate(drive.names) if n in camera_to_map), None)
    if first is None:
        return np.zeros((0, 3))
    anchor = camera_to_map[drive.names[first]] @ base_to_camera.inverse() @ poses[first].inverse()
    return np.array([(anchor @ p).position for p in poses])


def write_report(folder: Path, drives: Sequence[RecordedDrive], camera_to_map: Dict[str, Pose], base_to_camera: Pose,
                 frame: MetricFrame, checks: Dict[str, SelfCheck], sfm: SfmResult, labelled: Dict[str, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 5))
    for drive in drives:
        base = np.array([(camera_to_map[n] @ base_to_camera.inverse()).position
                         for n in drive.names if n in camera_to_map]).reshape(-1, 3)
        odo = _odometry_in_map(drive, camera_to_map, base_to_camera)
        line, = ax.plot(base[:, 0], base[:, 1], "-", linewidth=1.2, label=f"{drive.name}: SfM")
        ax.plot(odo[:, 0], odo[:, 1], "--", color=line.get_color(), linewidth=0.9, label=f"{drive.name}: odometry")
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("labels (base_link from SfM) against odometry, map frame")
    save_figure(fig, folder / "topview.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, check in checks.items():
        if len(check.ratios):
            ax.hist(check.ratios, bins=30, alpha=0.6, label=name)
    ax.axvline(1.0, color="k", linewidth=0.8)
    ax.set_xlabel("SfM / odometry distance per window (relative to the drive's median)")
    ax.set_ylabel("windows")
    ax.legend(fontsize=7)
    save_figure(fig, folder / "window_ratios.png")

    lines = ["# label report", "",
             f"- scale: {frame.scale:.6f} m per SfM unit, from the camera height over a floor "
             f"{frame.floor_distance_sfm:.4f} SfM units below the camera plane",
             f"- camera path flatness: {frame.camera_plane_rms_m * 1000:.1f} mm RMS off its plane",
             f"- models found: {sfm.models} (the largest is used); reconstruction in {sfm.path}", "",
             "| drive | split | keyframes | registered | odometry path ratio (SfM/odo) | windows outside tolerance "
             "| verdict |", "|---|---|---|---|---|---|---|"]
    for drive in drives:
        check = checks[drive.name]
        lines.append(f"| {drive.name} | {drive.split} | {len(drive.names)} | {check.registered_share:.1%} | "
                     f"{check.median_ratio:.4f} | {check.bad_share:.1%} of {len(check.ratios)} | "
                     f"{'ok' if check.passed else 'REJECTED'} |")
    problems = [f"- {name}: {p}" for name, c in checks.items() for p in c.problems]
    lines += ["", "## Verdict", ""] + (problems or ["All drives agree with their odometry: labels written "
                                                    f"({', '.join(f'{k} {v}' for k, v in labelled.items())})."])
    unregistered = [n for c in checks.values() for n in c.unregistered]
    if unregistered:
        lines += ["", f"## Keyframes not registered ({len(unregistered)})", ""] + [f"- {n}" for n in unregistered]
    lines += ["", "![top view](topview.png)", "", "![window ratios](window_ratios.png)", ""]
    report = folder / "report.md"
    report.write_text("\n".join(lines))
    return report
