"""ONNX Runtime engine: TensorRT / CUDA execution providers where installed, else CPU."""

from __future__ import annotations

from typing import List

import numpy as np
import onnxruntime as ort

from ..errors import EngineError
from .model_file import QUANTIZATION_KEY, metadata_from_props
from .protocol import OUTPUT_NAMES, EngineOutput

__all__ = ["OnnxEngine"]


def _providers(device: str) -> List[str]:
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    wanted = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    if device.startswith("cuda") and not any(p in available for p in wanted[:2]):
        raise EngineError("device cuda requested but onnxruntime has no CUDA provider: pip install onnxruntime-gpu")
    return [p for p in wanted if p in available]


class OnnxEngine:
    backend = "onnxruntime"

    def __init__(self, path: str, device: str = "auto") -> None:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # After each run ONNX Runtime's pool threads spin for work by default: 8.06 ms of CPU in the 10 ms
        # after a ResNet18 run here, a core the camera driver and fusion node need. Stopping them costs
        # the run nothing measurable (20.90 vs 21.12 ms).
        options.add_session_config_entry("session.force_spinning_stop", "1")
        try:
            self._session = ort.InferenceSession(path, sess_options=options, providers=_providers(device))
        except EngineError:
            raise
        except Exception as err:  # onnxruntime raises its own exception types for bad files
            raise EngineError(f"onnxruntime cannot load {path}: {err}") from err
        props = self._session.get_modelmeta().custom_metadata_map
        self.metadata = metadata_from_props(props, path)
        provider = self._session.get_providers()[0]
        self.device = "cpu" if provider == "CPUExecutionProvider" else f"cuda ({provider})"
        if QUANTIZATION_KEY in props:
            self.device += " (int8)"  # as TensorRT engines name their precision: logs and diagnostics show it
        self._input = self._session.get_inputs()[0].name
        present = {o.name for o in self._session.get_outputs()}
        self._outputs = [name for name in OUTPUT_NAMES if name in present]

    def infer(self, batch: np.ndarray) -> EngineOutput:
        arrays = self._session.run(self._outputs, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})
        return EngineOutput(*(a.astype(np.float64) for a in arrays))
