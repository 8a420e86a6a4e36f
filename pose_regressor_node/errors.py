"""The package's error hierarchy.

Library code raises these with a message that says what to fix; only the CLI entry point turns
them into one logged line and a non-zero exit code (evo's pattern).
"""

from __future__ import annotations

__all__ = [
    "PoseRegressorError",
    "CheckpointError",
    "DatasetError",
    "BagError",
    "EngineError",
    "ParameterError",
]


class PoseRegressorError(Exception):
    """Base of every error this package raises on purpose."""


class CheckpointError(PoseRegressorError):
    """A checkpoint is missing, corrupt, or does not match the model asked for."""


class DatasetError(PoseRegressorError):
    """A dataset file is missing or malformed; the message names the file and line."""


class BagError(PoseRegressorError):
    """A bag cannot be read or lacks the topics a command needs."""


class EngineError(PoseRegressorError):
    """An inference backend is unavailable or a model file cannot be loaded by it."""


class ParameterError(PoseRegressorError, ValueError):
    """A configuration value is out of range or inconsistent."""
