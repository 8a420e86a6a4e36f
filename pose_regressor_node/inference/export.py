"""Export a checkpoint to ONNX (metadata in ``metadata_props``) or to a TensorRT engine.

ONNX: opset 13 by default (TensorRT 8.2 of JetPack 4.6 on the Nano reads up to 13), dynamic batch
axis named ``batch``, input ``image`` (N,3,crop,crop) float32 normalised as the metadata says,
outputs ``xyz`` (N,3) and ``quat`` (N,4, w x y z, unit), and ``log_var`` (N,2, calibrated) for
models with an uncertainty head.

A checkpoint reaches ONNX Runtime and TensorRT by one route, ``onnx_for_checkpoint``: exported
once into the cache, keyed by the checkpoint's content.

ONNX INT8 (``quantize_onnx``) is for CPUs: ONNX Runtime's static quantization, QDQ format, weights
per output channel, activation ranges calibrated on sample images of the room. It changes the
numbers, so it is a file the user makes on purpose, never what ``auto`` picks for an fp32 model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Optional

from ..errors import EngineError
from ..paths import cache_dir
from .calibration import calibration_batches
from .model_file import METADATA_KEY, QUANTIZATION_KEY, metadata_from_props, onnx_props

__all__ = ["export_onnx", "quantize_onnx", "export_tensorrt", "onnx_for_checkpoint", "DEFAULT_OPSET"]

LOG = logging.getLogger("pose_regressor.inference")
DEFAULT_OPSET = 13


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def onnx_for_checkpoint(path: Path) -> Path:
    """The checkpoint exported to ONNX once and reused: cached under its content's hash, so an edited
    checkpoint gets a new export and a stale one is never run."""
    path = Path(path)
    onnx_path = cache_dir() / f"{path.stem}-{_file_digest(path)}.onnx"
    if not onnx_path.exists():
        LOG.info("exporting %s to %s", path, onnx_path)
        tmp = onnx_path.with_name(onnx_path.stem + ".partial.onnx")
        export_onnx(str(path), str(tmp))
        tmp.replace(onnx_path)  # complete or absent: an interrupted export is never reused
    return onnx_path


def export_onnx(checkpoint: str, out: str, opset: int = DEFAULT_OPSET, dynamic_batch: bool = True) -> Path:
    import onnx  # noqa: PLC0415 - export needs onnx and torch; inference with ONNX Runtime needs neither
    import torch  # noqa: PLC0415

    from ..model import InferenceGraph, load_checkpoint  # noqa: PLC0415 - torch, see above

    ckpt = load_checkpoint(checkpoint)
    crop = ckpt.metadata.preprocess.crop
    example = torch.zeros(1, 3, crop, crop)
    graph = InferenceGraph(ckpt.model.eval()).eval()
    names = list(graph.output_names)
    axes = {name: {0: "batch"} for name in ["image", *names]} if dynamic_batch else None
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
            torch.onnx.export(graph, (example,), str(out_path), input_names=["image"],
                              output_names=names, dynamic_axes=axes, opset_version=opset, dynamo=False)
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
    import onnx  # noqa: PLC0415 - optional, see export_onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static  # noqa: PLC0415
    from onnxruntime.quantization.shape_inference import quant_pre_process  # noqa: PLC0415

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
        import tensorrt  # noqa: F401, PLC0415 - optional runtime
    except ImportError as err:
        raise EngineError("TensorRT's Python bindings are not installed (JetPack: python3-libnvinfer; "
                          "x86: pip install tensorrt); build the engine on the target machine") from err
    from .tensorrt_engine import build_engine  # noqa: PLC0415 - needs TensorRT, checked above

    source = Path(model)
    onnx_path = onnx_for_checkpoint(source) if source.suffix == ".pt" else source
    return build_engine(str(onnx_path), fp16=fp16, int8=int8, calib_dir=calib_dir, out=out)
