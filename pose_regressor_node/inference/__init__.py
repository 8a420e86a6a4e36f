"""Preprocess + engines (torch, TorchScript, ONNX Runtime, TensorRT), export and benchmarks."""

from .engine import BACKENDS, DEVICES, available_backends, load_engine
from .preprocess import Preprocess
from .protocol import Engine, EngineOutput

__all__ = ["BACKENDS", "DEVICES", "Engine", "EngineOutput", "Preprocess", "available_backends", "load_engine"]
