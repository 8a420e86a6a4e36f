"""One ``Engine`` protocol over every backend, chosen by file suffix (rosbags' plugin pattern).

``.pt`` checkpoint -> torch (eager or TorchScript), ``.onnx`` -> ONNX Runtime, ``.engine`` ->
TensorRT. ``load_engine(path, backend="auto")`` picks the fastest backend available on this
machine and logs its choice. Every engine exposes the ``ModelMetadata`` its file carries, so the
caller builds ``Preprocess`` from the model, never from constants. The backends' modules are
imported only when chosen: each needs a runtime (torch, onnxruntime, TensorRT) that a given
machine may lack.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional

from ..errors import EngineError
from ..optional import importable
from .export import onnx_for_checkpoint
from .protocol import Engine, EngineOutput

__all__ = ["Engine", "EngineOutput", "load_engine", "available_backends", "BACKENDS", "DEVICES", "check_device",
           "check_model_file"]

LOG = logging.getLogger("pose_regressor.inference")
BACKENDS = ("auto", "torch", "torchscript", "onnxruntime", "tensorrt")
DEVICES = ("auto", "cpu", "cuda")  # and cuda:N


def check_device(device: str) -> str:
    """``device`` if it names one this package knows (auto, cpu, cuda, cuda:N); EngineError otherwise."""
    if device in DEVICES or (device.startswith("cuda:") and device[5:].isdigit()):
        return device
    raise EngineError(f"unknown device {device!r}; choose auto, cpu, cuda or cuda:N")


def _cuda_available() -> bool:
    if not importable("torch"):
        return False
    import torch  # noqa: PLC0415 - optional

    return bool(torch.cuda.is_available())


def available_backends() -> List[str]:
    found = []
    if importable("torch"):
        found += ["torch", "torchscript"]
    if importable("onnxruntime"):
        found.append("onnxruntime")
    if importable("tensorrt"):
        found.append("tensorrt")
    return found


def _require(module: str, install: str) -> None:
    if not importable(module):
        raise EngineError(f"the {module} package is not installed: {install}")


def _auto_backend(suffix: str, device: str) -> str:
    gpu = device != "cpu" and _cuda_available()
    if suffix == ".engine":
        return "tensorrt"
    if gpu and importable("tensorrt"):
        return "tensorrt"
    if importable("onnxruntime"):
        return "onnxruntime"
    if suffix == ".onnx":
        raise EngineError("an .onnx model needs onnxruntime: pip install onnxruntime (or onnxruntime-gpu)")
    return "torch" if gpu else "torchscript"


def check_model_file(path: str, backend: str = "auto", device: str = "auto") -> Path:
    """The cheap checks of ``load_engine`` (the file exists, its type, backend and device are known),
    for callers that load in the background and want to refuse a bad request at once."""
    model_path = Path(path)
    if not model_path.is_file():
        raise EngineError(f"model file not found: {path}")
    if backend not in BACKENDS:
        raise EngineError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    check_device(device)
    if model_path.suffix not in (".pt", ".onnx", ".engine"):
        raise EngineError(f"{path}: unknown model file type {model_path.suffix!r}; expected .pt, .onnx or .engine")
    return model_path


def load_engine(path: str, backend: str = "auto", device: str = "auto", fp16: Optional[bool] = None) -> Engine:
    """Open a model file with the requested (or fastest available) backend."""
    model_path = check_model_file(path, backend, device)
    suffix = model_path.suffix
    chosen = _auto_backend(suffix, device) if backend == "auto" else backend
    engine = _open(model_path, chosen, device, fp16)
    LOG.info("inference backend %s on %s for %s%s", engine.backend, engine.device, path,
             " (auto)" if backend == "auto" else "")
    return engine


def _open(path: Path, backend: str, device: str, fp16: Optional[bool]) -> Engine:
    suffix = path.suffix
    if backend in ("torch", "torchscript"):
        if suffix != ".pt":
            raise EngineError(f"backend {backend} needs a .pt checkpoint, got {path.name}")
        _require("torch", "pip install torch (CPU) or use JetPack's PyTorch wheel on the Jetson")
        from .torch_engine import TorchEngine  # noqa: PLC0415 - optional runtime

        return TorchEngine.from_checkpoint(str(path), device=device, script=backend == "torchscript", fp16=fp16)
    if backend == "onnxruntime":
        if suffix == ".engine":
            raise EngineError("a TensorRT .engine file can only run on the tensorrt backend")
        _require("onnxruntime", "pip install onnxruntime (or onnxruntime-gpu)")
        from .onnx_engine import OnnxEngine  # noqa: PLC0415 - optional runtime

        return OnnxEngine(str(onnx_for_checkpoint(path) if suffix == ".pt" else path), device=device)
    _require("tensorrt", "install TensorRT's Python bindings (JetPack: python3-libnvinfer; x86: pip install tensorrt)")
    _require("torch", "TensorRT engines keep their buffers in torch CUDA tensors: install JetPack's PyTorch wheel")
    from .tensorrt_engine import TensorRTEngine, build_engine  # noqa: PLC0415 - optional runtime

    if suffix == ".engine":
        return TensorRTEngine(str(path))
    onnx_path = onnx_for_checkpoint(path) if suffix == ".pt" else path
    return TensorRTEngine(str(build_engine(str(onnx_path), fp16=True if fp16 is None else fp16)))
