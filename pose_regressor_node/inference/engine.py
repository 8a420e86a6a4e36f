"""One ``Engine`` protocol over every backend, chosen by file suffix (rosbags' plugin pattern).

``.pt`` checkpoint -> torch (eager or TorchScript), ``.onnx`` -> ONNX Runtime, ``.engine`` ->
TensorRT. ``load_engine(path, backend="auto")`` picks the fastest backend available on this
machine and logs its choice. Every engine exposes the ``ModelMetadata`` its file carries, so the
caller builds ``Preprocess`` from the model, never from constants.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..errors import EngineError
from ..metadata import ModelMetadata

try:
    from typing import Protocol
except ImportError:  # Python 3.7 has no typing.Protocol; the robot runs 3.8+
    Protocol = object  # type: ignore[assignment,misc]

__all__ = ["Engine", "load_engine", "available_backends", "BACKENDS", "cache_dir", "importable"]

LOG = logging.getLogger("pose_regressor.inference")
BACKENDS = ("auto", "torch", "torchscript", "onnxruntime", "tensorrt")


class Engine(Protocol):
    """``infer(batch float32 [N,3,H,W]) -> (xyz [N,3], quat_wxyz [N,4])`` as float64 arrays."""

    backend: str
    device: str
    metadata: ModelMetadata

    def infer(self, batch: np.ndarray) -> Tuple[np.ndarray, np.ndarray]: ...


def cache_dir() -> Path:
    """Where exported ONNX files and built TensorRT engines are cached (``POSE_REGRESSOR_CACHE``)."""
    path = Path(os.environ.get("POSE_REGRESSOR_CACHE", Path.home() / ".cache" / "pose_regressor"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def importable(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def _cuda_available() -> bool:
    if not importable("torch"):
        return False
    import torch  # noqa: PLC0415

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


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _onnx_for_checkpoint(path: Path) -> Path:
    """Export a checkpoint to ONNX once and reuse it (cache keyed by the checkpoint's content)."""
    from .export import export_onnx  # noqa: PLC0415

    onnx_path = cache_dir() / f"{path.stem}-{_file_digest(path)}.onnx"
    if not onnx_path.exists():
        LOG.info("exporting %s to %s for ONNX Runtime", path, onnx_path)
        export_onnx(str(path), str(onnx_path))
    return onnx_path


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


def load_engine(path: str, backend: str = "auto", device: str = "auto", fp16: Optional[bool] = None) -> Engine:
    """Open a model file with the requested (or fastest available) backend."""
    model_path = Path(path)
    if not model_path.is_file():
        raise EngineError(f"model file not found: {path}")
    if backend not in BACKENDS:
        raise EngineError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    suffix = model_path.suffix
    if suffix not in (".pt", ".onnx", ".engine"):
        raise EngineError(f"{path}: unknown model file type {suffix!r}; expected .pt, .onnx or .engine")
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
        from .torch_engine import TorchEngine  # noqa: PLC0415

        return TorchEngine.from_checkpoint(str(path), device=device, script=backend == "torchscript", fp16=fp16)
    if backend == "onnxruntime":
        _require("onnxruntime", "pip install onnxruntime (or onnxruntime-gpu)")
        from .onnx_engine import OnnxEngine  # noqa: PLC0415

        onnx_path = _onnx_for_checkpoint(path) if suffix == ".pt" else path
        if suffix == ".engine":
            raise EngineError("a TensorRT .engine file can only run on the tensorrt backend")
        return OnnxEngine(str(onnx_path), device=device)
    _require("tensorrt", "install TensorRT's Python bindings (JetPack: python3-libnvinfer; x86: pip install tensorrt)")
    _require("torch", "TensorRT engines keep their buffers in torch CUDA tensors: install JetPack's PyTorch wheel")
    from .tensorrt_engine import TensorRTEngine, build_engine  # noqa: PLC0415

    if suffix == ".engine":
        return TensorRTEngine(str(path))
    onnx_path = _onnx_for_checkpoint(path) if suffix == ".pt" else path
    return TensorRTEngine(str(build_engine(str(onnx_path), fp16=True if fp16 is None else fp16)))
