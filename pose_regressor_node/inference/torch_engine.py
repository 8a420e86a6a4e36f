"""PyTorch engines: eager, or TorchScript (traced and frozen); CUDA with fp16 where available."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ..errors import EngineError
from ..metadata import ModelMetadata
from ..model import InferenceGraph, PoseRegressor, load_checkpoint
from .protocol import EngineOutput

__all__ = ["TorchEngine"]


class TorchEngine:
    def __init__(self, model: PoseRegressor, metadata: ModelMetadata, device: str = "auto", script: bool = False,
                 fp16: Optional[bool] = None) -> None:
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineError(f"device {device} requested but torch sees no CUDA GPU; use device=cpu")
        self.device = device
        self.metadata = metadata
        self.half = bool(fp16) if fp16 is not None else device.startswith("cuda")
        if self.half and not device.startswith("cuda"):
            raise EngineError("fp16 inference needs a CUDA device")
        graph: torch.nn.Module = InferenceGraph(model.eval()).eval().to(device)
        if self.half:
            graph = graph.half()
        self._dtype = torch.float16 if self.half else torch.float32
        self.backend = "torchscript" if script else "torch"
        if script:
            crop = metadata.preprocess.crop
            example = torch.zeros(1, 3, crop, crop, device=device, dtype=self._dtype)
            with torch.no_grad():
                traced = torch.jit.trace(graph, example, check_trace=False)
                graph = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        self._model = graph

    @classmethod
    def from_checkpoint(cls, path: str, device: str = "auto", script: bool = False,
                        fp16: Optional[bool] = None) -> TorchEngine:
        ckpt = load_checkpoint(path)
        return cls(ckpt.model, ckpt.metadata, device=device, script=script, fp16=fp16)

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> EngineOutput:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device, self._dtype)
        return EngineOutput(*(t.float().cpu().numpy().astype(np.float64) for t in self._model(x)))
