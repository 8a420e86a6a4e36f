from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal

import pytest

from pose_regressor_node.errors import EngineError
from pose_regressor_node.inference.bench import BenchRow, _BackendProcess, benchmark, format_table, measure_preprocess
from pose_regressor_node.jetson import JtopLogger, flatten_stats, jtop_available, plot_log
from pose_regressor_node.metadata import PreprocessSpec


def test_table_has_ratio_and_unavailable_rows():
    rows = [BenchRow("torch", "cpu", 1, 10.0, 11.0, 12.0, 100.0, 300.0, 10, 1.0),
            BenchRow("onnxruntime", "cpu", 1, 5.0, 6.0, 7.0, 200.0, 350.0, 10, 2.0),
            BenchRow("tensorrt", "cuda", 1, 0, 0, 0, 0, 0, 0, error="the tensorrt package is not installed")]
    table = format_table(rows)
    assert "2.00x" in table and "unavailable: the tensorrt package is not installed" in table


def test_preprocess_timing_is_positive():
    assert measure_preprocess(PreprocessSpec(resize=64, crop=56), frames=5) > 0


def test_jtop_logger_without_jetson_stats_says_so(tmp_path, caplog):
    path = tmp_path / "jtop.csv"
    with caplog.at_level(logging.WARNING), JtopLogger(str(path)) as log:
        pass
    if not jtop_available():
        assert not log.available and not path.exists()
        assert "jtop log is unavailable" in caplog.text


def test_jtop_stats_flatten_and_plot(tmp_path):
    stats = {"time": "2026-11-22", "CPU1": 35, "CPU2": 20, "GPU": 80, "Temp GPU": 41.5, "uptime": None}
    row = flatten_stats(stats, {"tot": {"power": 5120}})
    assert row == {"CPU1": 35.0, "CPU2": 20.0, "GPU": 80.0, "Temp GPU": 41.5, "power_total_mW": 5120.0}
    rows = [dict(row, t_s=float(i)) for i in range(5)]
    assert plot_log(rows, tmp_path / "jtop.png").stat().st_size > 1000


def test_benchmark_takes_turns_and_reports_unavailable_backends(tiny_checkpoint):
    for rounds in (3, 1):
        rows = benchmark(tiny_checkpoint, ["torch", "onnxruntime", "no_such_backend"], [1, 2], iterations=7, warmup=1,
                         device="cpu", rounds=rounds)  # 7 runs do not divide into 3 rounds: still exactly 7
        timed = [r for r in rows if r.error is None]
        assert [(r.backend, r.batch) for r in timed] == [("torch", 1), ("torch", 2), ("onnxruntime", 1),
                                                         ("onnxruntime", 2)]
        assert all(r.iterations == 7 and 0 < r.p50_ms <= r.p99_ms and r.peak_rss_mb > 50 for r in timed)
        assert all(r.speedup_vs_torch == pytest.approx(timed[r.batch - 1].p50_ms / r.p50_ms) for r in timed)
        missing = [r for r in rows if r.error]
        assert [(r.backend, r.batch) for r in missing] == [("no_such_backend", 1), ("no_such_backend", 2)]
        assert all("unknown backend" in r.error for r in missing)


def test_an_unreadable_model_is_a_row_error_not_a_hang(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")  # before the fix the worker died on CheckpointError and the bench waited forever
    rows = benchmark(str(bad), ["torch", "onnxruntime"], [1], iterations=2, warmup=0, device="cpu", rounds=1)
    assert [r.backend for r in rows] == ["torch", "onnxruntime"]
    assert all("corrupt or not a torch file" in r.error for r in rows)


def test_a_worker_that_dies_is_an_error_naming_it(tiny_checkpoint):
    proc = _BackendProcess(mp.get_context("spawn"), tiny_checkpoint, "torch", "cpu")
    os.kill(proc._process.pid, signal.SIGKILL)  # as the kernel's OOM killer would on a 4 GB Jetson
    with pytest.raises(EngineError, match=r"torch benchmark process ended \(exit code -9\)"):
        proc.time_runs(1, 2, 0)
