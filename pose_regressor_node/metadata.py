"""Metadata that travels with the weights: architecture, preprocessing and uncertainty calibration.

The checkpoint, the ONNX file (``metadata_props``) and the TensorRT sidecar all carry one
``ModelMetadata``; every consumer reads preprocessing from there, never from a second copy.
Kept free of torch so that ONNX Runtime and TensorRT deployments do not need it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Tuple

from .errors import ParameterError

__all__ = ["PreprocessSpec", "ModelMetadata", "FORMAT_VERSION", "IMAGENET_MEAN", "IMAGENET_STD"]

FORMAT_VERSION = 1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessSpec:
    """RGB image -> resize shorter side to ``resize`` -> centre crop ``crop`` -> (x/255 - mean)/std."""

    resize: int = 256
    crop: int = 224
    mean: Tuple[float, float, float] = IMAGENET_MEAN
    std: Tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.crop <= 0 or self.resize < self.crop:
            raise ParameterError(f"need 0 < crop <= resize, got resize={self.resize} crop={self.crop}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ParameterError(f"mean/std need 3 values each and std > 0, got {self.mean} {self.std}")
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> PreprocessSpec:
        return cls(int(data["resize"]), int(data["crop"]), tuple(data["mean"]), tuple(data["std"]))


@dataclass(frozen=True)
class ModelMetadata:
    """What a model file must say about itself so that any engine can run it correctly."""

    arch: str
    arch_options: Dict[str, Any] = field(default_factory=dict)
    preprocess: PreprocessSpec = field(default_factory=PreprocessSpec)
    dataset: str = ""
    step: int = 0
    epoch: int = 0
    val_errors: Dict[str, float] = field(default_factory=dict)
    # Variance scale factors fitted on the validation split for the uncertainty head (already in the weights).
    calibration: Dict[str, float] = field(default_factory=dict)
    # The training views' errors, looked up at each predicted pose (``ErrorMap.to_metadata``); empty without.
    error_map: Dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ModelMetadata:
        try:
            return cls(
                arch=str(data["arch"]),
                arch_options=dict(data.get("arch_options", {})),
                preprocess=PreprocessSpec.from_dict(data["preprocess"]),
                dataset=str(data.get("dataset", "")),
                step=int(data.get("step", 0)),
                epoch=int(data.get("epoch", 0)),
                val_errors={k: float(v) for k, v in dict(data.get("val_errors", {})).items()},
                calibration={k: float(v) for k, v in dict(data.get("calibration", {})).items()},
                error_map=dict(data.get("error_map", {})),
                format_version=int(data.get("format_version", FORMAT_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ParameterError(f"model metadata is incomplete or malformed: {err}") from err

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise ParameterError(f"model metadata is not valid JSON: {err}") from err
