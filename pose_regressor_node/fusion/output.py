"""When the fused pose is published, and with which stamp: the one schedule of the node and replay.

Outputs come at ``publish_rate_hz`` from a timer, not from odometry callbacks, so they keep coming
when odometry drops out. Each is stamped with the time of the data it reflects: the newest
input's stamp while odometry flows; without odometry, the receiver's "now", but never more than
``max_extrapolation_s`` past the newest regressed pose (the pose is carried there at the velocity
the filter estimates). A stamp is never published twice, and never goes backwards except when the
inputs' clock itself jumped back (a looping bag).
"""

from __future__ import annotations

from typing import Optional

from .config import FusionConfig
from .fuser import PoseFuser

__all__ = ["OutputClock"]


class OutputClock:
    def __init__(self, config: FusionConfig) -> None:
        self.config = config
        self._last: Optional[int] = None

    @property
    def period_ns(self) -> int:
        return int(1e9 / self.config.publish_rate_hz)

    def stamp(self, now_ns: Optional[int], fuser: PoseFuser) -> Optional[int]:
        """The stamp to publish at this tick (None: nothing new to publish)."""
        newest = fuser.newest_stamp_ns
        if newest is None or not fuser.initialized:
            return None
        stamp = newest
        if now_ns is not None and not fuser.odometry_fresh(newest):
            stamp = max(newest, min(now_ns, newest + int(self.config.max_extrapolation_s * 1e9)))
        if self._last is not None:
            if stamp < self._last - int(self.config.history_s * 1e9):
                self._last = None  # the inputs' clock jumped back: a new timeline
            elif stamp <= self._last:
                return None
        self._last = stamp
        return stamp
