from __future__ import annotations

import logging

from pose_regressor_node.inference.bench import BenchRow, format_table, measure_preprocess
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
