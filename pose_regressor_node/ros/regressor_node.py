"""regressor_node: camera frames -> absolute base_link poses in map.

Thin by design: converts messages, holds parameters, and calls ``FrameRegressor`` (Preprocess +
Engine), the object replay uses too. Always works on the newest frame: the image subscription
keeps one sample (best effort, depth 1), so a frame arriving while one is being processed replaces
the waiting one inside the middleware, and the frame is processed in its own callback (no hand-off
to a worker thread: that cost 0.3-0.6 ms per frame waiting for the executor to release the GIL).
Frames older than ``max_image_age`` when processing starts are dropped and counted. Replaced frames
never reach the node; ``input_rate_hz`` below the camera's rate shows them. Where rosbags is
installed the node takes frames as CDR bytes and deserialises them as replay does, without
copying the pixels (``deserialize_image``).

Processing time runs from the frame's DDS reception stamp, not from the callback, so time a frame
waits for the executor counts; the transport delay (DDS source -> reception stamp) is reported
apart, as it is the camera link's, not the node's.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Dict, List, Optional

import numpy as np
import rclpy
from geometry_msgs.msg import PoseWithCovarianceStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from sensor_msgs.msg import CompressedImage, Image

from ..errors import PoseRegressorError
from ..geometry import Pose, quat_from_euler
from ..inference.decode import IMAGE_TYPES, ImageDecodeError, decode_image, deserialize_image
from ..inference.engine import importable, load_engine
from ..inference.frame_regressor import (
    DEFAULT_EXTRINSIC_RPY,
    DEFAULT_EXTRINSIC_XYZ,
    DEFAULT_ORIENTATION_STD,
    DEFAULT_POSITION_STD,
    FrameRegressor,
    pose_covariance,
)
from ..messages import rclpy_factory, stamp_ns_of
from . import diagnostics
from .model_path import default_model_path
from .parameters import Param, declare_all, values
from .spin import spin_node

__all__ = ["RegressorNode", "main", "PARAMS", "NEWEST_FRAME_QOS"]

# Sensor-data QoS with a one-sample history: the reader holds only the newest frame.
NEWEST_FRAME_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)

PARAMS = [
    Param("model_path", "", "model file (.pt, .onnx or .engine); empty: the package's demo model", restart=True),
    Param("backend", "auto", "auto, torch, torchscript, onnxruntime or tensorrt", restart=True),
    Param("device", "auto", "auto, cpu or cuda", restart=True),
    Param("image_transport", "raw", "raw: subscribe to 'image'; compressed: 'image/compressed'", read_only=True),
    Param("map_frame", "map", "frame of the published poses"),
    Param("base_frame", "base_link", "robot frame whose pose is published"),
    Param("use_tf_extrinsic", True, "take base_frame -> camera frame from /tf_static when tf2_ros is available"),
    Param("extrinsic_xyz", list(DEFAULT_EXTRINSIC_XYZ), "camera optical frame origin in base_frame (m), if not from TF"),
    Param("extrinsic_rpy", list(DEFAULT_EXTRINSIC_RPY),
          "camera optical frame orientation in base_frame (roll, pitch, yaw, rad), if not from TF"),
    Param("position_std", DEFAULT_POSITION_STD, "published position standard deviation (m)", (1e-4, 100.0)),
    Param("orientation_std", DEFAULT_ORIENTATION_STD, "published orientation standard deviation (rad)", (1e-5, 3.2)),
    Param("max_image_age", 0.5, "drop frames older than this when processing starts (s); 0 disables", (0.0, 60.0)),
]


class RegressorNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("regressor_node", **kwargs)
        declare_all(self, PARAMS)
        self.p = values(self, PARAMS)
        self.factory = rclpy_factory()
        self.counts: Counter = Counter()
        self.problems = diagnostics.ProblemLog(self.get_logger(), self.counts)
        self.input_rate, self.output_rate = diagnostics.RateMeter(), diagnostics.RateMeter()
        self.latency = diagnostics.LatencyMeter()  # capture stamp -> published
        self.compute = diagnostics.LatencyMeter()  # DDS reception -> published
        self.transport = diagnostics.LatencyMeter()  # DDS source -> reception, where the middleware stamps both
        self.regressor = self._make_regressor(self.p)  # a missing model stops the node here, loudly
        self._tf = self._make_tf_buffer()
        self._extrinsic_from_tf = False
        self.add_on_set_parameters_callback(self._on_parameters)
        self.publisher = self.create_publisher(PoseWithCovarianceStamped, "~/pose", 10)
        compressed = self.p["image_transport"] == "compressed"
        self._image_type = IMAGE_TYPES[1] if compressed else IMAGE_TYPES[0]
        self._raw = importable("rosbags.typesys")
        self.create_subscription(CompressedImage if compressed else Image, "image/compressed" if compressed else "image",
                                 self._image_callback(), NEWEST_FRAME_QOS, raw=self._raw)
        self.diagnostics_pub = self.create_publisher(diagnostics.DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0, self._publish_diagnostics)
        self.get_logger().info(f"backend {self.regressor.engine.backend} on {self.regressor.engine.device}, "
                               f"input {self.regressor.preprocess.spec.crop}px, transport {self.p['image_transport']}")

    # ------------------------------------------------------------------ setup
    def _make_regressor(self, p) -> FrameRegressor:
        engine = load_engine(p["model_path"] or default_model_path(), backend=p["backend"], device=p["device"])
        return FrameRegressor(engine, self._param_extrinsic(p), pose_covariance(p["position_std"], p["orientation_std"]))

    @staticmethod
    def _param_extrinsic(p) -> Pose:
        xyz, rpy = list(p["extrinsic_xyz"]), list(p["extrinsic_rpy"])
        if len(xyz) != 3 or len(rpy) != 3:
            raise ValueError("extrinsic_xyz and extrinsic_rpy need 3 numbers each")
        return Pose(np.array(xyz, dtype=float), quat_from_euler(*rpy))

    def _make_tf_buffer(self):
        if not self.p["use_tf_extrinsic"]:
            return None
        try:
            from tf2_ros import Buffer, TransformListener  # noqa: PLC0415 - part of ROS, not of the pip wheels
        except ImportError:
            self.get_logger().info("tf2_ros not available: camera extrinsic from parameters")
            return None
        buffer = Buffer()
        self._tf_listener = TransformListener(buffer, self)
        return buffer

    def _refresh_extrinsic(self, camera_frame: str) -> None:
        if self._tf is None or self._extrinsic_from_tf or not camera_frame:
            return
        try:
            t = self._tf.lookup_transform(self.p["base_frame"], camera_frame, rclpy.time.Time())
        except Exception:  # tf2 raises several lookup exception types; try again on the next frame
            return
        from ..messages import transform_to_pose  # noqa: PLC0415

        self.regressor.set_extrinsic(transform_to_pose(t.transform))
        self._extrinsic_from_tf = True
        self.get_logger().info(f"camera extrinsic {self.p['base_frame']} -> {camera_frame} from TF")

    # ------------------------------------------------------------------ parameters
    def _on_parameters(self, params: List[rclpy.parameter.Parameter]) -> SetParametersResult:
        new = dict(self.p)
        new.update({param.name: param.value for param in params})
        try:
            covariance = pose_covariance(new["position_std"], new["orientation_std"])
            extrinsic = self._param_extrinsic(new)
            regressor = self.regressor
            if any(new[k] != self.p[k] for k in ("model_path", "backend", "device")):
                regressor = self._make_regressor(new)  # load first: a failure changes nothing
        except (ValueError, PoseRegressorError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        regressor.covariance = covariance
        if not self._extrinsic_from_tf:
            regressor.set_extrinsic(extrinsic)
        self.regressor, self.p = regressor, new
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ data path
    def _image_callback(self):
        """rclpy passes DDS's message info to two-argument callbacks since Iron; Humble's passes none."""
        if hasattr(Subscription, "CallbackType"):
            return self._on_image
        return lambda msg: self._on_image(msg, None)

    def _on_image(self, msg: Any, info: Optional[Dict[str, int]]) -> None:
        received_ns = time.time_ns()
        if info and info.get("received_timestamp"):
            received_ns = info["received_timestamp"]
            if info.get("source_timestamp"):
                self.transport.add(max(0, received_ns - info["source_timestamp"]) * 1e-9)
        self.input_rate.tick()
        try:
            self.process(deserialize_image(msg, self._image_type) if self._raw else msg, received_ns)
        except ImageDecodeError as err:  # bytes that are no image message at all
            self.problems.report("bad_image", f"cannot use image: {err}")
        except Exception as err:  # never let one frame stop the node; count and report it
            self.problems.report("errors", f"inference failed: {err}", error=True)

    def process(self, msg: Any, received_ns: Optional[int] = None) -> Optional[PoseWithCovarianceStamped]:
        """Decode, regress and publish one frame; returns the message published (None if dropped).

        ``received_ns``: when the frame arrived (system clock, as DDS stamps it); default now.
        """
        received_ns = time.time_ns() if received_ns is None else received_ns
        stamp_ns = stamp_ns_of(msg)
        age_limit = self.p["max_image_age"]
        now_ns = self.get_clock().now().nanoseconds
        if age_limit > 0 and now_ns - stamp_ns > age_limit * 1e9:
            self.problems.report("dropped_stale", f"dropping frames older than max_image_age={age_limit} s")
            return None
        try:
            rgb = decode_image(msg)
        except ImageDecodeError as err:
            self.problems.report("bad_image", f"cannot use image: {err}")
            return None
        self._refresh_extrinsic(msg.header.frame_id)
        (estimate,) = self.regressor.estimate([rgb], [stamp_ns])
        out = self.factory.pose_with_covariance_stamped(estimate.pose, estimate.covariance, stamp_ns,
                                                        self.p["map_frame"])
        self.publisher.publish(out)
        self.output_rate.tick()
        self.compute.add(max(0, time.time_ns() - received_ns) * 1e-9)
        self.latency.add(max(0.0, (self.get_clock().now().nanoseconds - stamp_ns) * 1e-9))
        self.counts["published"] += 1
        return out

    # ------------------------------------------------------------------ diagnostics
    def _publish_diagnostics(self) -> None:
        p50, p95 = self.compute.percentiles()
        c50, c95 = self.latency.percentiles()
        t50, t95 = self.transport.percentiles()
        values_ = {"input_rate_hz": self.input_rate.rate(), "output_rate_hz": self.output_rate.rate(),
                   "processing_ms_p50": p50, "processing_ms_p95": p95, "capture_to_publish_ms_p50": c50,
                   "capture_to_publish_ms_p95": c95, "image_transport_ms_p50": t50, "image_transport_ms_p95": t95,
                   "backend": self.regressor.engine.backend,
                   "device": self.regressor.engine.device, **dict(sorted(self.counts.items()))}
        diagnostics.publish(self, self.diagnostics_pub, "pose regressor", "camera", values_, self.problems.summary(),
                            stale=self.input_rate.rate() == 0.0)


def main(args: Optional[List[str]] = None) -> None:
    spin_node(RegressorNode, "regressor_node", args)


if __name__ == "__main__":
    main()
