"""PNG plots shared by ``test`` and ``replay``: error CDFs, top views, errors over time."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_error_cdf", "plot_top_view", "plot_error_over_time", "save_figure", "plt"]


def save_figure(fig, path: Path) -> Path:
    """Every plot's last step: lay out, write the PNG, free the figure (pyplot keeps it otherwise)."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_error_cdf(errors: Mapping[str, np.ndarray], path: Path, unit: str = "m", title: str = "") -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, values in errors.items():
        values = np.sort(np.asarray(values))
        if values.size:
            ax.plot(values, np.arange(1, values.size + 1) / values.size, label=label)
    ax.set_xlabel(f"error ({unit})")
    ax.set_ylabel("share of frames")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or f"cumulative error distribution ({unit})")
    return save_figure(fig, path)


def plot_top_view(paths: Mapping[str, np.ndarray], path: Path, title: str = "top view (map frame)",
                  styles: Optional[Dict[str, str]] = None) -> Path:
    """Each value is (N, 2+) positions; the first entry is drawn as the reference."""
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, (label, xy) in enumerate(paths.items()):
        xy = np.asarray(xy)
        style = (styles or {}).get(label, "k-" if i == 0 else "-")
        marker = "." if style.endswith(".") else None
        ax.plot(xy[:, 0], xy[:, 1], style.rstrip("."), marker=marker, markersize=2, linewidth=1.2 if i == 0 else 0.9,
                label=label, alpha=1.0 if i == 0 else 0.8)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return save_figure(fig, path)


def plot_error_over_time(times_s: Mapping[str, np.ndarray], errors: Mapping[str, np.ndarray], path: Path,
                         unit: str = "m", labels: Sequence[str] = ()) -> Path:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for label in labels or errors.keys():
        ax.plot(times_s[label], errors[label], label=label, linewidth=0.9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"error ({unit})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
