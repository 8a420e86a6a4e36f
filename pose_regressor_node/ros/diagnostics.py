"""Small helpers for the nodes' /diagnostics: sliding rates, latency percentiles, reason counts."""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any, Deque, Dict, Iterable, List, Optional, Tuple

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

__all__ = ["RateMeter", "LatencyMeter", "ProblemLog", "status", "array", "publish"]


class RateMeter:
    """Events per second over the last ``window_s`` of wall time."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: Deque[float] = deque()

    def tick(self, now: Optional[float] = None) -> None:
        self._times.append(time.monotonic() if now is None else now)

    def rate(self, now: Optional[float] = None) -> float:
        now = time.monotonic() if now is None else now
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()
        return len(self._times) / self.window_s


class LatencyMeter:
    """p50 / p95 of the last ``size`` samples, in milliseconds."""

    def __init__(self, size: int = 200) -> None:
        self._samples: Deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds * 1e3)

    def latest(self) -> float:
        """The most recent sample (ms); NaN before the first."""
        return self._samples[-1] if self._samples else float("nan")

    def percentiles(self) -> Tuple[float, float]:
        if not self._samples:
            return float("nan"), float("nan")
        data = np.fromiter(self._samples, dtype=float)
        return float(np.percentile(data, 50)), float(np.percentile(data, 95))


class ProblemLog:
    """Counts inputs a node could not use, by reason, and logs each reason at most once per ``period_s``.

    rclpy throttles a log call per call site, so one helper logging every reason through one call
    would let a flood of one reason silence all the others; here each reason has its own clock.
    The counts since start-up go to /diagnostics as values, so nothing throttled is lost; what makes
    the status WARN is only what happened in the last ``window_s``, so a node that recovered says OK.
    """

    def __init__(self, logger: Any, counts: Counter, period_s: float = 5.0, window_s: float = 10.0) -> None:
        self._logger, self.counts, self.period_s, self.window_s = logger, counts, period_s, window_s
        self._logged: Dict[str, float] = {}
        self._recent: Deque[Tuple[float, str]] = deque()

    def report(self, reason: str, text: str, error: bool = False, now: Optional[float] = None) -> None:
        """Count ``reason``; log ``text`` (as an error where the node failed, not its input) if not logged lately."""
        now = time.monotonic() if now is None else now
        self.counts[reason] += 1
        self._recent.append((now, reason))
        self._logged.setdefault(reason, -float("inf"))
        if now - self._logged[reason] >= self.period_s:
            self._logged[reason] = now
            log = self._logger.error if error else self._logger.warning
            log(f"{text} ({reason}: {self.counts[reason]} so far)")

    def summary(self, now: Optional[float] = None) -> List[str]:
        """``reason: count`` for every reason reported in the last ``window_s``: the /diagnostics problems,
        which make it WARN."""
        now = time.monotonic() if now is None else now
        while self._recent and self._recent[0][0] < now - self.window_s:
            self._recent.popleft()
        recent = Counter(reason for _, reason in self._recent)
        return [f"{reason}: {recent[reason]} in the last {self.window_s:.0f} s" for reason in sorted(recent)]


def status(name: str, hardware_id: str, values: Dict[str, object], problems: Iterable[str] = (),
           stale: bool = False) -> DiagnosticStatus:
    problems = list(problems)
    level = DiagnosticStatus.WARN if problems else DiagnosticStatus.OK
    if stale:
        level = DiagnosticStatus.STALE
    message = "; ".join(problems) if problems else ("no input" if stale else "ok")
    return DiagnosticStatus(level=level, name=name, hardware_id=hardware_id, message=message,
                            values=[KeyValue(key=str(k), value=_fmt(v)) for k, v in values.items()])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def array(stamp, *statuses: DiagnosticStatus) -> DiagnosticArray:
    msg = DiagnosticArray()
    msg.header.stamp = stamp
    msg.status = list(statuses)
    return msg


def publish(node: Any, publisher: Any, name: str, hardware_id: str, values: Dict[str, object],
            problems: Iterable[str] = (), stale: bool = False) -> None:
    """One status, named after the node, on ``publisher`` (/diagnostics), stamped with the node's clock."""
    publisher.publish(array(node.get_clock().now().to_msg(),
                            status(f"{node.get_name()}: {name}", hardware_id, values, problems, stale)))
