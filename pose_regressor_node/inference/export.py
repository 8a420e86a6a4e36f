"""Export a checkpoint to ONNX (metadata in ``metadata_props``) or to a TensorRT engine.

ONNX: opset 13 by default (TensorRT 8.2 of JetPack 4.6 on the Nano reads up to 13), dynamic batch
axis named ``batch``, input ``image`` (N,3,crop,crop) float32 normalised as the metadata says,
outputs ``xyz`` (N,3) and ``quat`` (N,4, w x y z, unit).

ONNX INT8 (``quantize_onnx``) is for CPUs: ONNX Runtime's static quantization, QDQ format, weights
per output channel, activation ranges calibrated on sample images of the room. It changes the
numbers, so it is a file the user makes on purpose, never what ``auto`` picks for an fp32 model.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Dict, Mapping, Optional

from ..errors import EngineError
from ..metadata import ModelMetadata

__all__ = ["export_onnx", "quantize_onnx", "export_tensorrt", "onnx_props", "metadata_from_props", "METADATA_KEY",
           "QUANTIZATION_KEY", "DEFAULT_OPSET"]

METADATA_KEY = "pose_regressor_metadata"
QUANTIZATION_KEY = "pose_regressor_quantization"
DEFAULT_OPSET = 13


def onnx_props(path: str) -> Dict[str, str]:
    """An ONNX file's ``metadata_props`` as a dict."""
    import onnx  # noqa: PLC0415

    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}


def metadata_from_props(props: Mapping[str, str], path: str) -> ModelMetadata:
    """The ``ModelMetadata`` an exported file carries; EngineError naming the file if it has none."""
    if METADATA_KEY not in props:
        raise EngineError(f"{path} carries no '{METADATA_KEY}' metadata; export it with "
                          "`python -m pose_regressor_node export CHECKPOINT --to onnx`")
    try:
        return ModelMetadata.from_dict(json.loads(props[METADATA_KEY]))
    except (ValueError, KeyError) as err:
        raise EngineError(f"{path}: malformed model metadata: {err}") from err


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
            torch.onnx.export(ckpt.model.eval(), (example,), str(out_path), input_names=["image"],
                              output_names=["xyz", "quat"], dynamic_axes=axes, opset_version=opset, dynamo=False)
    except (torch.onnx.OnnxExporterError, RuntimeError) as err:
        out_path.unlink(missing_ok=True)
        if "opset" not in str(err):  # only an opset torch or this model cannot be written at is the user's to fix
            raise
        raise EngineError(f"torch cannot export {checkpoint} at ONNX opset {opset} ({err}); use --opset "
                          f"{DEFAULT_OPSET}, the default, which TensorRT on JetPack 4.6 reads") from err
    model = onnx.load(str(out_path))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, ckpt.metadata.to_json()
    entry = model.metadata_props.add()
    entry.key, entry.value = "source_checkpoint", Path(checkpoint).name
    onnx.checker.check_model(model)
    onnx.save(model, str(out_path))
    return out_path


def quantize_onnx(fp32_onnx: str, out: str, calib_dir: str) -> Path:
    """fp32 ONNX export -> static INT8 (QDQ) ONNX, calibrated on the images under ``calib_dir``."""
    import onnx  # noqa: PLC0415
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static  # noqa: PLC0415
    from onnxruntime.quantization.shape_inference import quant_pre_process  # noqa: PLC0415

    from .calibration import calibration_batches  # noqa: PLC0415

    props = onnx_props(fp32_onnx)
    batches = calibration_batches(calib_dir, metadata_from_props(props, fp32_onnx).preprocess)

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._left = iter(batches)

        def get_next(self):
            batch = next(self._left, None)
            return None if batch is None else {"image": batch}

    out_path = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        # ONNX Runtime's pre-processing (shape inference, graph fusions) first: without it the QDQ model
        # ran slower than fp32 here (ResNet18 224: 30.32 ms vs 21.35), with it 13.46 ms.
        prepared = str(Path(tmp) / "prepared.onnx")
        quant_pre_process(fp32_onnx, prepared, skip_symbolic_shape=True)
        quantize_static(prepared, str(out_path), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    model = onnx.load(str(out_path))
    del model.metadata_props[:]
    for key, value in {**props, QUANTIZATION_KEY: json.dumps({
            "precision": "int8", "format": "QDQ", "weights": "int8 per channel", "activations": "uint8",
            "calibration_images": len(batches), "calibration_dir": Path(calib_dir).name})}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
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
    return json.dumps(json.loads(onnx_props(path).get(METADATA_KEY, "{}")), indent=2)
