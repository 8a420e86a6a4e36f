"""Preprocess + engines (torch, TorchScript, ONNX Runtime, TensorRT), export and benchmarks."""

from .engine import BACKENDS, Engine, available_backends, load_engine
from .preprocess import SUPPORTED_ENCODINGS, Preprocess, to_rgb

__all__ = ["BACKENDS", "SUPPORTED_ENCODINGS", "Engine", "Preprocess", "available_backends", "load_engine", "to_rgb"]
