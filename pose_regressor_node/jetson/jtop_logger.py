"""Log CPU/GPU load, clocks, temperatures and power through jetson-stats while a job runs.

``with JtopLogger("bench.csv"):`` samples ``jtop`` in a background thread and writes a CSV plus a
PNG plot at the end. Where jetson-stats (or a Jetson) is absent it says so once and logs nothing.
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = ["JtopLogger", "jtop_available", "flatten_stats", "plot_log"]

LOG = logging.getLogger("pose_regressor.jetson")


def jtop_available() -> bool:
    try:
        from jtop import jtop  # noqa: F401, PLC0415

        return True
    except ImportError:
        return False


def flatten_stats(stats: Dict[str, Any], power: Optional[Dict[str, Any]] = None) -> Dict[str, float]:
    """jtop's ``stats`` dict (and ``power`` totals) -> numeric columns; non-numeric values dropped."""
    row: Dict[str, float] = {}
    for key, value in stats.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            row[str(key)] = float(value)
    if power:
        total = power.get("tot", {})
        if isinstance(total, dict) and "power" in total:
            row["power_total_mW"] = float(total["power"])
    return row


class JtopLogger:
    def __init__(self, path: str, interval_s: float = 0.5) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        self.rows: List[Dict[str, float]] = []
        self.available = jtop_available()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> JtopLogger:
        if not self.available:
            LOG.warning("jetson-stats (jtop) is not installed or this is not a Jetson: the jtop log is unavailable")
            return self
        self._thread = threading.Thread(target=self._run, name="jtop-logger", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        from jtop import jtop  # noqa: PLC0415

        start = time.monotonic()
        with jtop(interval=self.interval_s) as jetson:
            while not self._stop.is_set() and jetson.ok():
                row = {"t_s": time.monotonic() - start}
                row.update(flatten_stats(jetson.stats, getattr(jetson, "power", None)))
                self.rows.append(row)

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5.0)
        if self.rows:
            columns = sorted({k for r in self.rows for k in r}, key=lambda k: (k != "t_s", k))
            with open(self.path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=columns)
                writer.writeheader()
                writer.writerows(self.rows)
            plot_log(self.rows, self.path.with_suffix(".png"))


def plot_log(rows: List[Dict[str, float]], path: Path) -> Path:
    """Load, temperatures and power over time, one panel each."""
    from ..plots import plt, save_figure  # noqa: PLC0415 - matplotlib only when a log is plotted

    t = [r.get("t_s", 0.0) for r in rows]
    groups = {
        "load (%)": [k for k in rows[0] if k.startswith(("CPU", "GPU"))],
        "temperature (C)": [k for k in rows[0] if k.lower().startswith("temp")],
        "power (mW)": [k for k in rows[0] if "power" in k.lower() or k.startswith("Power")],
    }
    groups = {name: keys for name, keys in groups.items() if keys}
    fig, axes = plt.subplots(max(1, len(groups)), 1, figsize=(8, 2.6 * max(1, len(groups))), sharex=True)
    axes = axes if hasattr(axes, "__len__") else [axes]
    for ax, (name, keys) in zip(axes, groups.items()):
        for key in keys:
            ax.plot(t, [r.get(key, float("nan")) for r in rows], label=key, linewidth=0.9)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=4)
    axes[-1].set_xlabel("time (s)")
    return save_figure(fig, path)
