"""Jetson helpers: jtop (jetson-stats) logging of load, clocks, temperatures and power."""

from .jtop_logger import JtopLogger, flatten_stats, jtop_available, plot_log

__all__ = ["JtopLogger", "flatten_stats", "jtop_available", "plot_log"]
