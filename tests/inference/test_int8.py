"""ONNX INT8 export: static QDQ quantisation calibrated on images of the scene, run by ONNX Runtime."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnx
import pytest
import torch

from pose_regressor_node.__main__ import main
from pose_regressor_node.errors import EngineError
from pose_regressor_node.geometry import rotation_error_deg
from pose_regressor_node.inference import Preprocess, load_engine
from pose_regressor_node.inference.calibration import calibration_batches
from pose_regressor_node.inference.export import export_onnx, quantize_onnx
from pose_regressor_node.inference.model_file import METADATA_KEY, QUANTIZATION_KEY
from pose_regressor_node.metadata import ModelMetadata, PreprocessSpec
from pose_regressor_node.model import build_model, save_checkpoint
from pose_regressor_node.sim import Renderer, default_extrinsic, demo_world, generate_trajectory


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A checkpoint and 24 rendered frames of one drive: 16 to calibrate on, 8 held out."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("int8")
    model = build_model("resnet18").eval()
    checkpoint = root / "model.pt"
    save_checkpoint(str(checkpoint), model, ModelMetadata(arch="resnet18", arch_options=model.options,
                                                          preprocess=PreprocessSpec(resize=72, crop=64)))
    world = demo_world()
    renderer, traj = Renderer(world), generate_trajectory(world, "loop", seed=3, duration_s=12.0)
    frames = [renderer.render(traj.pose(i) @ default_extrinsic()) for i in range(0, len(traj), len(traj) // 24)][:24]
    calib = root / "calib"
    calib.mkdir()
    for i, rgb in enumerate(frames[:16]):
        cv2.imwrite(str(calib / f"frame-{i:03d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return checkpoint, calib, frames[16:]


def test_int8_model_carries_metadata_runs_quantized_and_stays_near_fp32(scene, tmp_path):
    checkpoint, calib, held_out = scene
    fp32 = export_onnx(str(checkpoint), str(tmp_path / "m.onnx"))
    int8 = quantize_onnx(str(fp32), str(tmp_path / "m.int8.onnx"), str(calib))
    model = onnx.load(str(int8))
    assert sum(n.op_type == "QuantizeLinear" for n in model.graph.node) >= 20  # every conv's input, not a stray one
    props = {p.key: p.value for p in model.metadata_props}
    assert ModelMetadata.from_json(props[METADATA_KEY]).preprocess.crop == 64
    assert json.loads(props[QUANTIZATION_KEY])["calibration_images"] == 16
    reference, quantized = (load_engine(str(p), device="cpu") for p in (fp32, int8))
    assert (reference.device, quantized.device) == ("cpu", "cpu (int8)")  # what the node's diagnostics show
    batch = Preprocess(reference.metadata.preprocess).batch(held_out)
    (xyz, quat, _), (xyz_q, quat_q, _) = reference.infer(batch), quantized.infer(batch)
    spread = np.ptp(xyz, axis=0).max()
    assert spread > 1e-3  # the outputs do depend on the frame
    assert np.abs(xyz_q - xyz).max() < 0.25 * spread  # quantisation noise, not a different function
    assert not np.allclose(xyz_q, xyz, atol=1e-6)  # and really quantised
    assert np.all(rotation_error_deg(quat_q, quat) < 5.0)


def test_calibration_folder_problems_say_what_to_fix(scene, tmp_path):
    spec = PreprocessSpec(resize=72, crop=64)
    with pytest.raises(EngineError, match="does not exist"):
        calibration_batches(str(tmp_path / "missing"), spec)
    with pytest.raises(EngineError, match="0 calibration images"):
        calibration_batches(str(tmp_path), spec)
    (tmp_path / "frame.png").write_bytes(b"not a png")
    with pytest.raises(EngineError, match="cannot read calibration image .*frame.png"):
        calibration_batches(str(tmp_path), spec)
    batches = calibration_batches(str(scene[1]), spec, batch=5)
    assert [b.shape for b in batches] == [(5, 3, 64, 64)] * 3  # 16 images: the partial batch is left out


def test_export_cli_int8_needs_calibration_images(scene, tmp_path, capsys):
    checkpoint, calib, _ = scene
    assert main(["export", str(checkpoint), "--to", "onnx", "--int8"]) == 1
    assert "--int8 needs --calib DIR" in capsys.readouterr().err
    out = tmp_path / "cli.int8.onnx"
    assert main(["export", str(checkpoint), "--to", "onnx", "--int8", "--calib", str(calib), "--out", str(out)]) == 0
    assert out.is_file() and (tmp_path / "cli.onnx").is_file()  # the fp32 export beside it
