"""What an exported model file says about itself: the ``ModelMetadata`` in an ONNX file's
``metadata_props`` (and, for INT8 exports, how it was quantised). Read by ONNX Runtime, the
TensorRT builder, the INT8 quantiser and the export summary alike."""

from __future__ import annotations

import json
from typing import Dict, List, Mapping

from ..errors import EngineError
from ..metadata import ModelMetadata

__all__ = ["METADATA_KEY", "QUANTIZATION_KEY", "onnx_props", "onnx_output_names", "metadata_from_props",
           "metadata_json"]

METADATA_KEY = "pose_regressor_metadata"
QUANTIZATION_KEY = "pose_regressor_quantization"


def _load(path: str):
    import onnx  # noqa: PLC0415 - optional: the robot may run TensorRT engines without it

    try:
        return onnx.load(path, load_external_data=False)
    except Exception as err:  # protobuf raises DecodeError and friends on files that are no ONNX model
        raise EngineError(f"{path} is not a readable ONNX file: {err}") from err


def onnx_props(path: str) -> Dict[str, str]:
    """An ONNX file's ``metadata_props`` as a dict."""
    return {p.key: p.value for p in _load(path).metadata_props}


def onnx_output_names(path: str) -> List[str]:
    return [o.name for o in _load(path).graph.output]


def metadata_from_props(props: Mapping[str, str], path: str) -> ModelMetadata:
    """The ``ModelMetadata`` an exported file carries; EngineError naming the file if it has none."""
    if METADATA_KEY not in props:
        raise EngineError(f"{path} carries no '{METADATA_KEY}' metadata; export it with "
                          "`python -m pose_regressor_node export CHECKPOINT --to onnx`")
    try:
        return ModelMetadata.from_dict(json.loads(props[METADATA_KEY]))
    except (ValueError, KeyError) as err:
        raise EngineError(f"{path}: malformed model metadata: {err}") from err


def metadata_json(path: str) -> str:
    """The metadata an exported file carries, pretty-printed (for the CLI's summary); the error map's
    arrays (half a megabyte of base64 for 12,558 training views) as their sizes."""
    metadata = json.loads(onnx_props(path).get(METADATA_KEY, "{}"))
    error_map = metadata.get("error_map") or {}
    for name in ("positions", "directions", "variances"):
        if name in error_map:
            error_map[name] = f"<{len(error_map[name])} characters of base64 float32>"
    return json.dumps(metadata, indent=2)
