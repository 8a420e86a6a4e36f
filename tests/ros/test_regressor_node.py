from __future__ import annotations

import uuid

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseWithCovarianceStamped
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

from pose_regressor_node.messages import rclpy_factory
from pose_regressor_node.ros.regressor_node import RegressorNode

from .conftest import Harness

FACTORY = rclpy_factory()


def _node(model: str, **params):
    """Each test gets its own namespace, so a previous test's node still known to DDS cannot interfere.
    Frames are never too old to process unless a test asks (``max_image_age``): on a loaded machine a
    test's frame could wait out the default 0.5 s and be dropped, and the test time out waiting."""
    params = {"max_image_age": 0.0, **params}
    overrides = [Parameter("model_path", value=model), Parameter("backend", value="onnxruntime"),
                 Parameter("device", value="cpu")]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    return RegressorNode(parameter_overrides=overrides, namespace=f"/t{uuid.uuid4().hex[:8]}")


def _topic(node, name: str) -> str:
    return f"{node.get_namespace()}/{name}"


def _image(node, rgb: np.ndarray, encoding: str = "rgb8", data: bytes = None) -> Image:
    msg = Image()
    msg.header = FACTORY.header(node.get_clock().now().nanoseconds, "camera_optical_frame")
    msg.height, msg.width = rgb.shape[:2]
    msg.encoding = encoding
    msg.step = rgb.shape[1] * (rgb.shape[2] if rgb.ndim == 3 else 1)
    msg.data = rgb.tobytes() if data is None else data
    return msg


def _frame(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (96, 128, 3), dtype=np.uint8)


def _diag_value(harness, received, key):
    harness.wait_for(lambda: any(kv.key == key for m in received for s in m.status for kv in s.values),
                     what=f"diagnostics with {key}")
    values = [kv.value for m in received for s in m.status for kv in s.values if kv.key == key]
    return values[-1]


@pytest.fixture
def regressor(ros_context, small_model):
    node = _node(small_model, position_std=0.3, orientation_std=0.1)
    harness = Harness(node)
    yield node, harness
    harness.close()


def test_image_in_pose_out_with_capture_stamp_frame_and_covariance(regressor):
    node, h = regressor
    out = h.collect(PoseWithCovarianceStamped, _topic(node, "regressor_node/pose"))
    pub = h.publisher(Image, _topic(node, "image"))
    msg = _image(node, _frame())
    pub.publish(msg)
    h.wait_for(lambda: len(out) >= 1, what="a regressed pose")
    pose = out[0]
    assert pose.header.stamp == msg.header.stamp
    assert pose.header.frame_id == "map"
    cov = np.array(pose.pose.covariance).reshape(6, 6)
    np.testing.assert_allclose(np.diag(cov), [0.09] * 3 + [0.01] * 3)
    q = pose.pose.pose.orientation
    assert abs(np.linalg.norm([q.w, q.x, q.y, q.z]) - 1.0) < 1e-6


def test_no_type_description_service_whose_teardown_hung(regressor):
    node, _ = regressor
    assert node.get_parameter("start_type_description_service").value is False
    assert not [s.srv_name for s in node.services if s.srv_name.endswith("get_type_description")]
    assert node.get_parameter("position_std").value == 0.3  # the caller's overrides are kept


def test_processing_is_timed_from_dds_reception(regressor):
    """DDS stamps each frame: processing counts from reception, transport (source -> reception) apart."""
    node, h = regressor
    out = h.collect(PoseWithCovarianceStamped, _topic(node, "regressor_node/pose"))
    diags = h.collect(DiagnosticArray, "/diagnostics")
    pub = h.publisher(Image, _topic(node, "image"))
    pub.publish(_image(node, _frame()))
    h.wait_for(lambda: len(out) >= 1, what="a regressed pose")
    processing, transport = node.compute.latest(), node.transport.latest()
    assert 0.0 < processing < 10_000.0  # ms: a frame, not a stamp from another clock
    assert 0.0 <= transport < processing  # in-process delivery is quicker than the inference after it
    assert float(_diag_value(h, diags, "image_transport_ms_p50")) == pytest.approx(transport, abs=1e-3)
    assert float(_diag_value(h, diags, "processing_ms_p50")) == pytest.approx(processing, abs=1e-3)
    assert _diag_value(h, diags, "error_shape") == "free"  # a model calibrated before shapes (or never)


def test_bad_images_are_counted_and_the_node_keeps_running(regressor):
    node, h = regressor
    out = h.collect(PoseWithCovarianceStamped, _topic(node, "regressor_node/pose"))
    diags = h.collect(DiagnosticArray, "/diagnostics")
    pub = h.publisher(Image, _topic(node, "image"))
    bad_images = (_image(node, _frame(), encoding="yuv422"), _image(node, _frame(), data=b""),
                  _image(node, _frame(), data=_frame().tobytes()[:1000]))
    for count, bad in enumerate(bad_images, start=1):
        pub.publish(bad)
        h.wait_for(lambda c=count: node.counts["bad_image"] >= c, what="the bad image to be counted")
    h.wait_for(lambda: node.counts["bad_image"] == 3, what="three bad images counted")
    pub.publish(b"\x00\x01\x00\x00 these bytes are no Image")  # not even a message: raw CDR garbage
    h.wait_for(lambda: node.counts["bad_image"] == 4, what="the malformed message to be counted")
    pub.publish(_image(node, _frame(1)))
    h.wait_for(lambda: len(out) >= 1, what="a pose after bad input")
    assert _diag_value(h, diags, "bad_image") == "4"


def test_a_burst_of_frames_is_answered_for_the_newest(regressor):
    """Frames arriving while one is processed replace each other: the node never works through a backlog."""
    node, h = regressor
    out = h.collect(PoseWithCovarianceStamped, _topic(node, "regressor_node/pose"))
    pub = h.publisher(Image, _topic(node, "image"))
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    burst = [_image(node, frame) for _ in range(40)]
    for i, msg in enumerate(burst):
        msg.header.stamp = FACTORY.time(node.get_clock().now().nanoseconds + i)
    for msg in burst:
        pub.publish(msg)
    h.wait_for(lambda: any(p.header.stamp == burst[-1].header.stamp for p in out), what="the newest frame's pose")
    assert out[-1].header.stamp == burst[-1].header.stamp
    assert len(out) < len(burst) // 2


def test_stale_frames_are_dropped(ros_context, small_model):
    node = _node(small_model, max_image_age=0.2)
    h = Harness(node)
    try:
        pub = h.publisher(Image, _topic(node, "image"))
        old = _image(node, _frame())
        old.header.stamp = FACTORY.time(node.get_clock().now().nanoseconds - 5 * 10**9)
        pub.publish(old)
        h.wait_for(lambda: node.counts["dropped_stale"] == 1, what="the stale frame to be dropped")
    finally:
        h.close()


def test_compressed_transport(ros_context, small_model):
    node = _node(small_model, image_transport="compressed")
    h = Harness(node)
    try:
        out = h.collect(PoseWithCovarianceStamped, _topic(node, "regressor_node/pose"))
        pub = h.publisher(CompressedImage, _topic(node, "image/compressed"))
        msg = CompressedImage()
        msg.header = FACTORY.header(node.get_clock().now().nanoseconds, "camera")
        msg.format = "jpeg"
        msg.data = cv2.imencode(".jpg", _frame())[1].tobytes()
        pub.publish(msg)
        h.wait_for(lambda: len(out) >= 1, what="a pose from a CompressedImage")
        assert out[0].header.stamp == msg.header.stamp
        truncated = CompressedImage(header=msg.header, format="jpeg", data=msg.data[:50])
        pub.publish(truncated)
        h.wait_for(lambda: node.counts["bad_image"] == 1, what="the truncated JPEG to be counted")
    finally:
        h.close()


def _set(h, name, value, kind):
    field = {ParameterType.PARAMETER_DOUBLE: "double_value", ParameterType.PARAMETER_STRING: "string_value"}[kind]
    request = SetParameters.Request(parameters=[ParameterMsg(name=name, value=ParameterValue(type=kind, **{field: value}))])
    return h.call(SetParameters, f"{h.nodes[0].get_namespace()}/regressor_node/set_parameters", request).results[0]


def test_parameters_through_the_real_service(regressor, tmp_path):
    node, h = regressor
    ok = _set(h, "position_std", 0.5, ParameterType.PARAMETER_DOUBLE)
    assert ok.successful
    assert node.regressor.config.position_std == 0.5 and node.regressor.covariance_source == "fixed"
    out_of_range = _set(h, "position_std", -1.0, ParameterType.PARAMETER_DOUBLE)
    assert not out_of_range.successful and out_of_range.reason
    missing = _set(h, "model_path", str(tmp_path / "nope.pt"), ParameterType.PARAMETER_STRING)
    assert not missing.successful and "not found" in missing.reason
    assert node.get_parameter("model_path").value != str(tmp_path / "nope.pt")
    read_only = _set(h, "image_transport", "compressed", ParameterType.PARAMETER_STRING)
    assert not read_only.successful
    out = h.collect(PoseWithCovarianceStamped, _topic(node, "regressor_node/pose"))
    pub = h.publisher(Image, _topic(node, "image"))
    pub.publish(_image(node, _frame()))
    h.wait_for(lambda: len(out) >= 1, what="a pose after the changes")
    assert np.array(out[0].pose.covariance)[0] == pytest.approx(0.25)  # applied, the bad ones not


@pytest.fixture(scope="module")
def uncertain_model(tmp_path_factory):
    """A model with a (calibrated) uncertainty head whose variances change from frame to frame."""
    import torch

    from pose_regressor_node.metadata import ModelMetadata, PreprocessSpec
    from pose_regressor_node.model import build_model, save_checkpoint

    model = build_model("resnet18", uncertainty=True).eval()
    with torch.no_grad():
        model.head.fc_log_var.weight.mul_(2000.0)
    path = tmp_path_factory.mktemp("model") / "uncertain.pt"
    save_checkpoint(str(path), model, ModelMetadata(arch="resnet18", arch_options=model.options,
                                                    preprocess=PreprocessSpec(resize=72, crop=64)))
    return str(path)


def test_each_frame_gets_the_covariance_the_model_predicts(ros_context, uncertain_model):
    node = _node(uncertain_model)
    h = Harness(node)
    try:
        assert node.regressor.covariance_source == "head"  # ``model`` without an error map: the head's
        out = h.collect(PoseWithCovarianceStamped, _topic(node, "regressor_node/pose"))
        pub = h.publisher(Image, _topic(node, "image"))
        for seed in (1, 2):
            pub.publish(_image(node, _frame(seed)))
            h.wait_for(lambda seed=seed: len(out) >= seed, what=f"pose {seed}")
        covs = [np.array(m.pose.covariance).reshape(6, 6) for m in out[:2]]
        assert not np.allclose(covs[0], covs[1])  # per frame, not one fixed covariance
        assert all(np.all(np.linalg.eigvalsh(c) > 0) for c in covs)
        assert _set(h, "model_covariance_scale", 4.0, ParameterType.PARAMETER_DOUBLE).successful
        pub.publish(_image(node, _frame(1)))  # the same frame again: the same variances, four times over
        h.wait_for(lambda: len(out) >= 3, what="a pose with the scaled covariance")
        np.testing.assert_allclose(np.array(out[2].pose.covariance).reshape(6, 6), 4.0 * covs[0], rtol=1e-4)
        assert not _set(h, "covariance_source", "ensemble", ParameterType.PARAMETER_STRING).successful
        assert _set(h, "covariance_source", "fixed", ParameterType.PARAMETER_STRING).successful
        pub.publish(_image(node, _frame(3)))
        h.wait_for(lambda: len(out) >= 4, what="a pose with the fixed covariance")
        assert np.array(out[3].pose.covariance)[0] == pytest.approx(0.4 ** 2)
    finally:
        h.close()


def test_a_new_model_loads_in_the_background_and_a_broken_one_changes_nothing(ros_context, small_model,
                                                                              uncertain_model, tmp_path):
    node = _node(small_model)
    h = Harness(node)
    try:
        old = node.regressor
        assert _set(h, "model_path", uncertain_model, ParameterType.PARAMETER_STRING).successful  # returns at once
        h.wait_for(lambda: node.regressor is not old, timeout=60, what="the new model to be swapped in")
        assert node.regressor.covariance_source == "head"
        broken = tmp_path / "broken.pt"
        broken.write_bytes(b"not a checkpoint")
        current = node.regressor
        assert _set(h, "model_path", str(broken), ParameterType.PARAMETER_STRING).successful  # the file exists
        h.wait_for(lambda: node.counts["model_load_failed"] == 1, timeout=60, what="the load to fail")
        h.wait_for(lambda: node.get_parameter("model_path").value == uncertain_model, what="the parameter restored")
        assert node.regressor is current
    finally:
        h.close()
