from __future__ import annotations

import logging
from collections import Counter

from pose_regressor_node.ros.diagnostics import ProblemLog


def test_each_reason_is_counted_always_and_logged_on_its_own_clock(caplog):
    counts: Counter = Counter()
    problems = ProblemLog(logging.getLogger("nodes"), counts, period_s=60.0)
    with caplog.at_level(logging.WARNING, logger="nodes"):
        for _ in range(50):
            problems.report("bad_odometry", "odometry ignored: NaN")
        problems.report("bad_pose", "pose ignored: not a unit quaternion")
        problems.report("errors", "inference failed: out of memory", error=True)
    assert counts == Counter(bad_odometry=50, bad_pose=1, errors=1)
    counts["poses_fused"] += 7  # the node's other counts share the Counter but are not problems
    assert problems.summary() == ["bad_odometry: 50 in the last 10 s", "bad_pose: 1 in the last 10 s",
                                  "errors: 1 in the last 10 s"]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "odometry ignored: NaN (bad_odometry: 1 so far)"),
        (logging.WARNING, "pose ignored: not a unit quaternion (bad_pose: 1 so far)"),  # not silenced by odometry
        (logging.ERROR, "inference failed: out of memory (errors: 1 so far)")]
    problems.period_s = 0.0
    problems.report("bad_odometry", "odometry ignored: NaN")
    assert caplog.records[-1].getMessage() == "odometry ignored: NaN (bad_odometry: 51 so far)"


def test_status_reflects_the_last_seconds_not_the_whole_run():
    counts: Counter = Counter()
    problems = ProblemLog(logging.getLogger("nodes"), counts, window_s=10.0)
    problems.report("bad_odometry", "odometry ignored: NaN", now=100.0)
    problems.report("bad_odometry", "odometry ignored: NaN", now=105.0)
    assert problems.summary(now=109.0) == ["bad_odometry: 2 in the last 10 s"]
    assert problems.summary(now=112.0) == ["bad_odometry: 1 in the last 10 s"]
    assert problems.summary(now=116.0) == []  # recovered: OK again, though the count since start-up stays
    assert counts["bad_odometry"] == 2
