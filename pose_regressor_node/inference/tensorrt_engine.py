"""TensorRT engines: build FP16 (or INT8) from ONNX on the target GPU, cache, and run.

Engines are specific to a GPU and a TensorRT version, so the cache key holds both; the model's
metadata travels in a JSON sidecar (``<engine>.json``). Device buffers and the stream are torch
CUDA tensors and streams, so torch with CUDA is needed (NVIDIA's PyTorch wheel for JetPack).

Two TensorRT APIs are spoken: the tensor-name API of TensorRT 8.5 and later (10 dropped the old
one) and the binding-index API of TensorRT 8.2, the newest the Jetson Nano's JetPack 4.6 has.

Not exercised by this repository's CI (no GPU there); the parity test runs where TensorRT exists.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import tensorrt as trt  # this module is only imported where TensorRT exists
import torch

from ..errors import EngineError
from ..metadata import ModelMetadata
from ..paths import cache_dir
from .calibration import calibration_batches
from .model_file import metadata_from_props, onnx_props
from .protocol import OUTPUT_NAMES, EngineOutput

__all__ = ["TensorRTEngine", "build_engine", "engine_cache_path", "EntropyCalibrator"]

LOG = logging.getLogger("pose_regressor.inference")
_TRT_LOGGER = trt.Logger(trt.Logger.WARNING)
MAX_BATCH = 8


def _gpu_name() -> str:
    return torch.cuda.get_device_name(0)


def engine_cache_path(onnx_path: str, precision: str) -> Path:
    gpu = re.sub(r"[^A-Za-z0-9]+", "-", _gpu_name()).strip("-")
    return cache_dir() / f"{Path(onnx_path).stem}.{gpu}.trt{trt.__version__}.{precision}.engine"


class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
    """Feeds preprocessed sample images (a folder of .png/.jpg) to TensorRT's INT8 calibration."""

    def __init__(self, calib_dir: str, metadata: ModelMetadata, cache: Path, batch: int = 8) -> None:
        super().__init__()
        self._batches = calibration_batches(calib_dir, metadata.preprocess, batch)
        self._batch = batch
        self._cache = cache
        self._device = torch.empty((batch, 3, metadata.preprocess.crop, metadata.preprocess.crop),
                                   dtype=torch.float32, device="cuda")
        self._index = 0

    def get_batch_size(self) -> int:
        return self._batch

    def get_batch(self, names):  # noqa: ARG002 - TensorRT's signature
        if self._index >= len(self._batches):
            return None
        self._device.copy_(torch.from_numpy(self._batches[self._index]))
        self._index += 1
        return [int(self._device.data_ptr())]

    def read_calibration_cache(self):
        return self._cache.read_bytes() if self._cache.exists() else None

    def write_calibration_cache(self, cache) -> None:
        self._cache.write_bytes(bytes(cache))


def build_engine(onnx_path: str, fp16: bool = True, int8: bool = False, calib_dir: Optional[str] = None,
                 out: Optional[str] = None) -> Path:
    """Build (or reuse from the cache) an engine with a dynamic batch of 1..MAX_BATCH."""
    precision = "int8" if int8 else ("fp16" if fp16 else "fp32")
    path = Path(out) if out else engine_cache_path(onnx_path, precision)
    metadata = metadata_from_props(onnx_props(onnx_path), onnx_path)
    if path.exists() and Path(str(path) + ".json").exists():
        return path
    builder = trt.Builder(_TRT_LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, _TRT_LOGGER)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    if hasattr(config, "set_memory_pool_limit"):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 28)
    else:  # TensorRT 8.2 (JetPack 4.6)
        config.max_workspace_size = 1 << 28
    if fp16:
        if not getattr(builder, "platform_has_fast_fp16", True):  # deprecated in TensorRT 10
            raise EngineError(f"{_gpu_name()} has no fast FP16; build with fp16=False")
        config.set_flag(trt.BuilderFlag.FP16)
    if int8:
        if not getattr(builder, "platform_has_fast_int8", True):
            raise EngineError(f"{_gpu_name()} does not support INT8 inference (the Jetson Nano's Maxwell GPU "
                              "has no INT8 tensor math); use --fp16")
        if not calib_dir:
            raise EngineError("INT8 needs --calib DIR with sample images of the scene")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = EntropyCalibrator(calib_dir, metadata, path.with_suffix(".calib"))
    crop = metadata.preprocess.crop
    profile = builder.create_optimization_profile()
    profile.set_shape("image", (1, 3, crop, crop), (1, 3, crop, crop), (MAX_BATCH, 3, crop, crop))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineError(f"TensorRT failed to build an engine from {onnx_path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(serialized))
    Path(str(path) + ".json").write_text(json.dumps({"metadata": metadata.to_dict(), "precision": precision,
                                                     "gpu": _gpu_name(), "tensorrt": trt.__version__}))
    LOG.info("built TensorRT %s engine %s", precision, path)
    return path


class TensorRTEngine:
    backend = "tensorrt"

    def __init__(self, path: str) -> None:
        sidecar = Path(path + ".json")
        if not sidecar.exists():
            raise EngineError(f"{path} has no metadata sidecar {sidecar.name}; rebuild it with pose_regressor_node export")
        info = json.loads(sidecar.read_text())
        self.metadata = ModelMetadata.from_dict(info["metadata"])
        self.precision = info.get("precision", "?")
        runtime = trt.Runtime(_TRT_LOGGER)
        self._engine = runtime.deserialize_cuda_engine(Path(path).read_bytes())
        if self._engine is None:
            raise EngineError(f"{path} was built for another GPU or TensorRT version; rebuild it on this machine")
        self._context = self._engine.create_execution_context()
        self._stream = torch.cuda.Stream()
        self.device = f"cuda ({_gpu_name()}, {self.precision})"
        self._by_name = hasattr(self._engine, "num_io_tensors")  # TensorRT >= 8.5; 8.2 has binding indices

    def infer(self, batch: np.ndarray) -> EngineOutput:
        with torch.cuda.stream(self._stream):  # the upload, the run and the outputs on one stream, in order
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).cuda()
            outputs = self._run_by_name(x) if self._by_name else self._run_by_binding(x)
            host = [outputs[name].cpu() for name in OUTPUT_NAMES if name in outputs]
        self._stream.synchronize()
        return EngineOutput(*(t.numpy().astype(np.float64) for t in host))

    def _run_by_name(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        self._context.set_input_shape("image", tuple(x.shape))
        outputs = {}
        for name in (self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)):
            if name == "image":
                self._context.set_tensor_address(name, int(x.data_ptr()))
                continue
            outputs[name] = torch.empty(tuple(self._context.get_tensor_shape(name)), dtype=torch.float32,
                                        device="cuda")
            self._context.set_tensor_address(name, int(outputs[name].data_ptr()))
        if not self._context.execute_async_v3(self._stream.cuda_stream):
            raise EngineError(f"TensorRT could not run a batch of shape {tuple(x.shape)}")
        return outputs

    def _run_by_binding(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        self._context.set_binding_shape(self._engine.get_binding_index("image"), tuple(x.shape))
        outputs, bindings = {}, []
        for index in range(self._engine.num_bindings):
            if self._engine.binding_is_input(index):
                bindings.append(int(x.data_ptr()))
                continue
            name = self._engine.get_binding_name(index)
            outputs[name] = torch.empty(tuple(self._context.get_binding_shape(index)), dtype=torch.float32,
                                        device="cuda")
            bindings.append(int(outputs[name].data_ptr()))
        if not self._context.execute_async_v2(bindings, self._stream.cuda_stream):
            raise EngineError(f"TensorRT could not run a batch of shape {tuple(x.shape)}")
        return outputs
