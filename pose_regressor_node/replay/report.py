"""Replay outputs: TUM files, a rosbag2 of the trajectories, report.md with the table, PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from ..atomic import atomic_directory
from ..bags import FACTORY, BagWriter
from ..plots import plot_error_cdf, plot_error_over_time, plot_top_view
from .metrics import Evaluation
from .pipeline import ReplayResult
from .trajectory import write_tum

__all__ = ["write_outputs", "table_markdown", "LABELS"]

LABELS = {"regressor": "regressor only", "odometry": "odometry only", "fused": "fused"}


def table_markdown(evaluations: Dict[str, Evaluation]) -> str:
    head = ("| trajectory | poses | APE median (m) | APE mean (m) | APE p95 (m) | rot. median (deg) | rot. p95 (deg) "
            "| RPE (m per m) | RPE (deg per m) |")
    lines = [head, "|" + "---|" * 9]
    for name, ev in evaluations.items():
        s = ev.stats()
        lines.append(f"| {LABELS.get(name, name)} | {s['ape_m'].count} | {s['ape_m'].median:.3f} | {s['ape_m'].mean:.3f} | "
                     f"{s['ape_m'].p95:.3f} | {s['ape_deg'].median:.2f} | {s['ape_deg'].p95:.2f} | "
                     f"{s['rpe_m_per_m'].median:.3f} | {s['rpe_deg_per_m'].median:.2f} |")
    return "\n".join(lines)


def _trajectory_bag(path: Path, result: ReplayResult, storage: str) -> Path:
    with BagWriter(path, storage) as bag:
        for name, traj in [("ground_truth", result.truth), *result.trajectories.items()]:
            topic = "/ground_truth/pose" if name == "ground_truth" else f"/replay/{name}/pose"
            for i in range(len(traj)):
                stamp = int(traj.stamps_ns[i])
                bag.write(topic, stamp, FACTORY.pose_stamped(traj.pose(i), stamp, "map"))
    return path


def write_outputs(result: ReplayResult, out: Path, storage: str = "sqlite3",
                  title: str = "Replay report", extra: Optional[List[str]] = None) -> Dict[str, Path]:
    """Trajectories, the trajectory bag, plots and report.md, written whole into ``out`` (a previous
    run's files there are replaced, never mixed in; an interrupted run leaves ``out`` as it was)."""
    with atomic_directory(out) as folder:
        files = _write(result, folder, storage, title, extra)
    return {key: out / path.relative_to(folder) for key, path in files.items()}


def _write(result: ReplayResult, out: Path, storage: str, title: str, extra: Optional[List[str]]) -> Dict[str, Path]:
    files: Dict[str, Path] = {}
    for name, traj in result.trajectories.items():
        files[f"{name}_tum"] = write_tum(out / f"{name}.tum", traj)
    if len(result.truth):
        files["truth_tum"] = write_tum(out / "ground_truth.tum", result.truth)
    files["bag"] = _trajectory_bag(out / "trajectories_bag", result, storage)
    paths = {"ground truth": result.truth.positions} if len(result.truth) else {}
    paths.update({LABELS[n]: t.positions for n, t in result.trajectories.items() if len(t)})
    files["topview_png"] = plot_top_view(paths, out / "trajectories.png",
                                         styles={"regressor only": "r.", "odometry only": "b-", "fused": "g-"})
    if result.evaluations:
        errors = {LABELS[n]: ev.ape_translation for n, ev in result.evaluations.items()}
        times = {LABELS[n]: (ev.stamps_ns - result.truth.stamps_ns[0]) * 1e-9 for n, ev in result.evaluations.items()}
        files["error_time_png"] = plot_error_over_time(times, errors, out / "error_over_time.png", unit="m")
        files["cdf_png"] = plot_error_cdf(errors, out / "error_cdf.png", unit="m", title="APE (translation) CDF")
    lines = [f"# {title}", "", f"- backend: {result.backend}",
             f"- simulated inference latency: {result.latency_s * 1e3:.1f} ms "
             f"({'measured on this machine' if result.latency_measured else 'given'})",
             f"- topics: images {result.topics.image}, odometry {result.topics.odometry}, "
             f"ground truth {result.topics.truth or 'none'}",
             "- counts: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())),
             *[f"- {note}" for note in result.notes + (extra or [])], ""]
    if result.evaluations:
        lines += ["## Errors (APE against ground truth, no alignment; RPE per metre of travel)", "",
                  table_markdown(result.evaluations), ""]
    else:
        lines += ["No ground truth in this bag: no errors computed; the trajectories are written.", ""]
    lines += ["## Plots", ""] + [f"![{k}]({p.name})" for k, p in files.items() if k.endswith("_png")] + [""]
    files["report"] = out / "report.md"
    files["report"].write_text("\n".join(lines))
    return files

