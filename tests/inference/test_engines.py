from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from pose_regressor_node.error_map import ErrorMap
from pose_regressor_node.error_shape import ErrorShape
from pose_regressor_node.errors import EngineError
from pose_regressor_node.geometry import rotation_error_deg
from pose_regressor_node.inference import Preprocess, load_engine
from pose_regressor_node.inference.config import RegressorConfig
from pose_regressor_node.inference.export import export_onnx
from pose_regressor_node.inference.frame_regressor import FrameRegressor
from pose_regressor_node.inference.model_file import METADATA_KEY, metadata_json, onnx_output_names
from pose_regressor_node.metadata import ModelMetadata, PreprocessSpec
from pose_regressor_node.model import build_model, load_checkpoint, save_checkpoint
from pose_regressor_node.sim import default_extrinsic


def _save(path, uncertainty: bool, calibration=None, error_map=None):
    torch.manual_seed(0)
    model = build_model("resnet18", uncertainty=uncertainty).eval()
    with torch.no_grad():  # realistic outputs: metres away from the origin, rotations all around
        model.head.fc_xyz.bias.copy_(torch.tensor([3.0, -2.0, 0.4]))
        model.head.fc_xyz.weight.mul_(50.0)
        model.head.fc_quat.weight.mul_(100.0)
        if uncertainty:  # log-variances that vary per frame, and a calibration that must travel with the weights
            model.head.fc_log_var.weight.mul_(1000.0)
            model.head.log_var_offset.copy_(torch.tensor([0.7, -1.3]))
    save_checkpoint(str(path), model, ModelMetadata(arch="resnet18", arch_options=model.options,
                                                    preprocess=PreprocessSpec(resize=72, crop=64),
                                                    calibration=calibration or {}, error_map=error_map or {}))
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A model with the uncertainty head (calibrated): every engine must return its log-variances."""
    return _save(tmp_path_factory.mktemp("ckpt") / "model.pt", uncertainty=True)


@pytest.fixture(scope="module")
def old_checkpoint(tmp_path_factory):
    """A model from before the uncertainty head."""
    return _save(tmp_path_factory.mktemp("ckpt") / "old.pt", uncertainty=False)


@pytest.fixture
def batch(rng):
    return rng.standard_normal((3, 3, 64, 64)).astype(np.float32)


def _assert_parity(a, b, atol=1e-4, max_deg=0.01):
    np.testing.assert_allclose(a.xyz, b.xyz, atol=atol)
    assert np.max(rotation_error_deg(a.quat, b.quat)) < max_deg
    assert np.ptp(a.xyz) > 0.01  # the model's outputs do vary with the input
    assert (a.log_var is None) == (b.log_var is None)
    if a.log_var is not None:
        np.testing.assert_allclose(a.log_var, b.log_var, atol=atol * 10)
        assert a.log_var.shape == (len(a.xyz), 2) and (len(a.xyz) == 1 or np.ptp(a.log_var[:, 0]) > 1e-3)


def test_every_engine_returns_the_calibrated_log_variances(checkpoint, batch):
    out = load_engine(str(checkpoint), backend="torch", device="cpu").infer(batch)
    model = load_checkpoint(str(checkpoint)).model
    with torch.no_grad():
        raw = model.head.fc_log_var(model.head.relu(model.head.fc(model.backbone.forward_features(
            torch.from_numpy(batch))[0])))
    np.testing.assert_allclose(out.log_var, raw.numpy() + [0.7, -1.3], atol=1e-4)  # the offset is in the output


def test_the_published_covariance_follows_the_error_shape_the_model_carries(checkpoint, tmp_path, rng):
    """A car's model (planar shape, in its metadata through ONNX): its variances on x, y and yaw, the
    measured constants on z, roll and pitch; an older model without a shape: isotropic."""
    shape = ErrorShape(planar=True, height_var=2e-6, tilt_var=1e-4)
    planar = _save(tmp_path / "planar.pt", uncertainty=True, calibration={"frames": 10.0, **shape.to_calibration()})
    onnx_path = export_onnx(str(planar), str(tmp_path / "planar.onnx"))
    frames = [rng.integers(0, 255, (72, 96, 3), dtype=np.uint8) for _ in range(2)]
    config = RegressorConfig(model_covariance_scale=2.0)
    for path in (planar, onnx_path):
        regressor = FrameRegressor(load_engine(str(path), device="cpu"), default_extrinsic(), config)
        assert regressor.error_shape == shape
        log_var = regressor.infer(frames).log_var
        for estimate, (var_t, var_r) in zip(regressor.estimate(frames, [1, 2]), np.exp(log_var)):
            cov = estimate.covariance
            np.testing.assert_allclose(cov[3:, 3:], 2.0 * np.diag([1e-4, 1e-4, var_r]), rtol=1e-5)
            # x and y carry the head's variance (plus what yaw adds over the lever arm), z only the constant
            assert min(cov[0, 0], cov[1, 1]) >= 2.0 * var_t * (1 - 1e-6) and cov[2, 2] < 1e-4
            assert np.all(np.linalg.eigvalsh(cov) > 0)
    free = FrameRegressor(load_engine(str(checkpoint), device="cpu"), default_extrinsic(), config)
    assert not free.error_shape.planar
    cov = free.estimate(frames[:1], [1])[0].covariance
    assert cov[3, 3] == pytest.approx(cov[5, 5]) and cov[3, 3] == pytest.approx(cov[4, 4])


def test_the_error_map_gives_each_frame_its_covariance_through_every_engine(tmp_path, rng):
    """A model calibrated with an error map (carried through ONNX's metadata): ``model`` publishes the
    map's variances at each predicted camera pose, the same whichever engine predicted it; ``head``
    the head's; ``fixed`` the fixed ones."""
    shape = ErrorShape(planar=True, height_var=2e-6, tilt_var=1e-4)
    views = 400
    positions = np.column_stack([rng.uniform(-3, 9, views), rng.uniform(-8, 4, views), rng.uniform(-2, 3, views)])
    quats = rng.standard_normal((views, 4))
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    error_map = ErrorMap.build(positions, quats, rng.gamma(2.0, 0.01, (views, 2)), dof=(2, 1)).with_scales(1.5, 0.5)
    path = _save(tmp_path / "mapped.pt", uncertainty=True, calibration={"frames": 10.0, **shape.to_calibration()},
                 error_map=error_map.to_metadata())
    onnx_path = export_onnx(str(path), str(tmp_path / "mapped.onnx"))
    summary = metadata_json(str(onnx_path))  # what `export` prints: the map's arrays as their sizes
    assert "characters of base64 float32" in summary and len(summary) < 5000
    frames = [rng.integers(0, 255, (72, 96, 3), dtype=np.uint8) for _ in range(4)]
    yaw_variances = []
    for model_file in (path, onnx_path):
        regressor = FrameRegressor(load_engine(str(model_file), device="cpu"), default_extrinsic(), RegressorConfig())
        assert regressor.covariance_source == "map"
        out = regressor.infer(frames)
        expected = error_map.variances(out.xyz, out.quat)
        estimates = regressor.estimate(frames, [1, 2, 3, 4])
        yaw = np.array([e.covariance[5, 5] for e in estimates])
        np.testing.assert_allclose(yaw, expected[:, 1], rtol=1e-4)
        assert np.ptp(yaw) > 0  # the frames' predicted poses differ, and so do their variances
        yaw_variances.append(yaw)
        regressor.configure(RegressorConfig(covariance_source="head"))
        assert regressor.covariance_source == "head"
        np.testing.assert_allclose([e.covariance[5, 5] for e in regressor.estimate(frames, [1, 2, 3, 4])],
                                   np.exp(out.log_var[:, 1]), rtol=1e-4)
        regressor.configure(RegressorConfig(covariance_source="fixed"))
        assert regressor.covariance_source == "fixed"
    np.testing.assert_allclose(yaw_variances[0], yaw_variances[1], rtol=1e-3)


def test_a_model_without_the_head_still_runs_everywhere(old_checkpoint, batch, tmp_path):
    onnx_path = export_onnx(str(old_checkpoint), str(tmp_path / "old.onnx"))
    assert onnx_output_names(str(onnx_path)) == ["xyz", "quat"]
    for engine in (load_engine(str(old_checkpoint), backend=b, device="cpu") for b in ("torch", "torchscript")):
        assert engine.infer(batch).log_var is None
    ort = load_engine(str(onnx_path), backend="onnxruntime", device="cpu")
    assert ort.infer(batch).log_var is None


def test_onnxruntime_matches_torch(checkpoint, batch, tmp_path):
    torch_engine = load_engine(str(checkpoint), backend="torch", device="cpu")
    onnx_path = export_onnx(str(checkpoint), str(tmp_path / "model.onnx"))
    assert onnx_output_names(str(onnx_path)) == ["xyz", "quat", "log_var"]
    ort_engine = load_engine(str(onnx_path), backend="onnxruntime", device="cpu")
    assert ort_engine.metadata == torch_engine.metadata
    _assert_parity(torch_engine.infer(batch), ort_engine.infer(batch))
    _assert_parity(torch_engine.infer(batch[:1]), ort_engine.infer(batch[:1]))  # dynamic batch


def test_torchscript_matches_torch(checkpoint, batch):
    _assert_parity(load_engine(str(checkpoint), backend="torch", device="cpu").infer(batch),
                   load_engine(str(checkpoint), backend="torchscript", device="cpu").infer(batch))


def test_auto_backend_on_cpu_is_onnxruntime_from_a_checkpoint(checkpoint, batch, tmp_path, monkeypatch):
    monkeypatch.setenv("POSE_REGRESSOR_CACHE", str(tmp_path))
    engine = load_engine(str(checkpoint), device="cpu")
    assert engine.backend == "onnxruntime" and list(tmp_path.glob("*.onnx"))
    _assert_parity(engine.infer(batch), load_engine(str(checkpoint), backend="torch", device="cpu").infer(batch))


def test_tensorrt_fp16_parity(checkpoint, batch, tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed on this machine")
    if not torch.cuda.is_available():
        pytest.skip("TensorRT needs a CUDA GPU; none here")
    onnx_path = export_onnx(str(checkpoint), str(tmp_path / "model.onnx"))
    trt_engine = load_engine(str(onnx_path), backend="tensorrt")
    ref = load_engine(str(checkpoint), backend="torch", device="cpu").infer(batch)
    _assert_parity(trt_engine.infer(batch), ref, atol=2e-2, max_deg=1.0)  # fp16


def test_onnx_file_carries_metadata(checkpoint, tmp_path):
    path = export_onnx(str(checkpoint), str(tmp_path / "m.onnx"))
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    meta = ModelMetadata.from_dict(json.loads(props[METADATA_KEY]))
    assert meta.preprocess.crop == 64 and meta.arch == "resnet18"


def test_engine_errors_say_what_to_fix(checkpoint, tmp_path):
    with pytest.raises(EngineError, match="not found"):
        load_engine(str(tmp_path / "missing.pt"))
    bad = tmp_path / "weights.bin"
    bad.write_bytes(b"0")
    with pytest.raises(EngineError, match="unknown model file type"):
        load_engine(str(bad))
    with pytest.raises(EngineError, match="unknown backend"):
        load_engine(str(checkpoint), backend="tflite")
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(build_model("resnet18").eval(), (torch.zeros(1, 3, 32, 32),), str(plain), dynamo=False)
    with pytest.raises(EngineError, match="carries no 'pose_regressor_metadata'"):
        load_engine(str(plain), backend="onnxruntime")
    with pytest.raises(EngineError, match="needs a .pt checkpoint"):
        load_engine(str(plain), backend="torch")
    with pytest.raises(EngineError, match="cannot export .* at ONNX opset 7 .*use --opset 13"):
        export_onnx(str(checkpoint), str(tmp_path / "old.onnx"), opset=7)  # no Expand before opset 8
    assert not (tmp_path / "old.onnx").exists()


@pytest.mark.parametrize("encoding, channels", [("rgb8", 3), ("bgr8", 3), ("rgba8", 4), ("mono8", 1)])
def test_preprocess_encodings(rng, encoding, channels):
    spec = PreprocessSpec(resize=64, crop=56)
    shape = (120, 160) if channels == 1 else (120, 160, channels)
    out = Preprocess(spec)(rng.integers(0, 256, shape, dtype=np.uint8), encoding)
    assert out.shape == (3, 56, 56) and out.dtype == np.float32 and np.isfinite(out).all()


def test_preprocess_rgb_vs_bgr_and_unsupported(rng):
    pre = Preprocess(PreprocessSpec(resize=64, crop=56))
    rgb = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    a = pre(rgb, "rgb8").copy()
    np.testing.assert_array_equal(a, pre(rgb[..., ::-1].copy(), "bgr8"))
    with pytest.raises(ValueError, match="unsupported image encoding 'yuv422'"):
        pre(rgb, "yuv422")


def test_preprocess_matches_resize_then_crop(rng):
    """Cropping first is the documented resize-shorter-side-then-centre-crop, up to interpolation."""
    import cv2

    spec = PreprocessSpec(resize=256, crop=224)
    image = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
    resized = cv2.resize(image, (341, 256), interpolation=cv2.INTER_AREA)
    top, left = (256 - 224) // 2, (341 - 224) // 2
    reference = resized[top:top + 224, left:left + 224].astype(float)
    assert np.abs(Preprocess(spec).crop(image).astype(float) - reference).mean() < 2.0


def test_float_resize_stays_within_half_a_level_of_the_uint8_one(rng):
    """The crop is resized in float32 for speed; it must not drift from OpenCV's uint8 area filter."""
    import cv2

    spec = PreprocessSpec(resize=256, crop=224)
    image = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    region = image[30:450, 110:530]  # the centre 420 x 420 that becomes the 224 crop
    reference = cv2.resize(region, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32)
    crop = Preprocess(spec).crop(image)
    assert crop.dtype == np.float32
    assert np.abs(crop - reference).max() <= 0.5 + 1e-3


def test_preprocess_reuses_its_buffer_and_batches(rng):
    pre = Preprocess(PreprocessSpec(resize=64, crop=56))
    images = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    assert pre(images[0]) is pre(images[1])
    batch = pre.batch(images)
    assert batch.shape == (3, 3, 56, 56)
    np.testing.assert_array_equal(batch[2], pre(images[2]))


def test_torch_engine_on_cuda_in_fp16_matches_cpu(checkpoint, batch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    gpu = load_engine(str(checkpoint), backend="torch", device="cuda")
    assert gpu.device == "cuda" and gpu.half
    _assert_parity(gpu.infer(batch), load_engine(str(checkpoint), backend="torch", device="cpu").infer(batch),
                   atol=2e-2, max_deg=1.0)
    assert load_engine(str(checkpoint), device="auto").backend in ("tensorrt", "onnxruntime", "torch")
