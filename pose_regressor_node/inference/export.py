"""Export a checkpoint to ONNX (metadata in ``metadata_props``) or to a TensorRT engine.

ONNX: opset 13 by default (TensorRT 8.2 of JetPack 4.6 on the Nano reads up to 13), dynamic batch
axis named ``batch``, input ``image`` (N,3,crop,crop) float32 normalised as the metadata says,
outputs ``xyz`` (N,3) and ``quat`` (N,4, w x y z, unit).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Optional

from ..errors import EngineError

__all__ = ["export_onnx", "export_tensorrt", "METADATA_KEY", "DEFAULT_OPSET"]

METADATA_KEY = "pose_regressor_metadata"
DEFAULT_OPSET = 13


def export_onnx(checkpoint: str, out: str, opset: int = DEFAULT_OPSET, dynamic_batch: bool = True) -> Path:
    import onnx  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from ..model import load_checkpoint  # noqa: PLC0415

    ckpt = load_checkpoint(checkpoint)
    crop = ckpt.metadata.preprocess.crop
    example = torch.zeros(1, 3, crop, crop)
    axes = {"image": {0: "batch"}, "xyz": {0: "batch"}, "quat": {0: "batch"}} if dynamic_batch else None
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(ckpt.model.eval(), (example,), str(out_path), input_names=["image"],
                          output_names=["xyz", "quat"], dynamic_axes=axes, opset_version=opset, dynamo=False)
    model = onnx.load(str(out_path))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, ckpt.metadata.to_json()
    entry = model.metadata_props.add()
    entry.key, entry.value = "source_checkpoint", Path(checkpoint).name
    onnx.checker.check_model(model)
    onnx.save(model, str(out_path))
    return out_path


def export_tensorrt(model: str, out: Optional[str] = None, fp16: bool = True, int8: bool = False,
                    calib_dir: Optional[str] = None) -> Path:
    """Build a TensorRT engine on this GPU (engines are not portable between GPUs or versions)."""
    try:
        import tensorrt  # noqa: F401, PLC0415
    except ImportError as err:
        raise EngineError("TensorRT's Python bindings are not installed (JetPack: python3-libnvinfer; "
                          "x86: pip install tensorrt); build the engine on the target machine") from err
    from .tensorrt_engine import build_engine  # noqa: PLC0415

    source = Path(model)
    if source.suffix == ".pt":
        onnx_path = source.with_suffix(".onnx")
        export_onnx(str(source), str(onnx_path))
        source = onnx_path
    return build_engine(str(source), fp16=fp16, int8=int8, calib_dir=calib_dir, out=out)


def metadata_json(path: str) -> str:
    """The metadata an exported file carries (for the CLI's summary)."""
    import onnx  # noqa: PLC0415

    props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    return json.dumps(json.loads(props.get(METADATA_KEY, "{}")), indent=2)
