"""regressor_node: camera frames -> absolute base_link poses in map, each with its covariance.

Thin by design: converts messages, holds parameters (``RegressorConfig``), and calls
``FrameRegressor`` (Preprocess + Engine), the object replay uses too. Always works on the newest
frame: the image subscription keeps one sample (best effort, depth 1), so a frame arriving while
one is being processed replaces the waiting one inside the middleware, and the frame is processed
in its own callback (no hand-off to a worker thread: that cost 0.3-0.6 ms per frame waiting for the
executor to release the GIL). Frames older than ``max_image_age`` when processing starts are dropped
and counted. Replaced frames never reach the node; ``input_rate_hz`` below the camera's rate shows
them. Where rosbags is installed the node takes frames as CDR bytes and deserialises them as replay
does, without copying the pixels (``deserialize_image``).

Processing time runs from the frame's DDS reception stamp, not from the callback, so time a frame
waits for the executor counts; the transport delay (DDS source -> reception stamp) is reported
apart, as it is the camera link's, not the node's.

A new ``model_path`` / ``backend`` / ``device`` is loaded in a background thread (building a
TensorRT engine takes minutes) while the old model keeps running; the new one replaces it when
ready. If loading fails, the old model stays and the parameters are set back to it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Dict, List, Optional

import rclpy
from geometry_msgs.msg import PoseWithCovarianceStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from sensor_msgs.msg import CompressedImage, Image

from ..errors import PoseRegressorError
from ..images import IMAGE_TYPES, ImageDecodeError, decode_image, deserialize_image
from ..inference.config import RegressorConfig
from ..inference.engine import check_model_file, load_engine
from ..inference.frame_regressor import FrameRegressor
from ..messages import rclpy_factory, stamp_ns_of, transform_to_pose
from ..optional import importable
from . import diagnostics
from .model_path import default_model_path
from .parameters import declare_settings, node_options, values
from .spin import spin_node

__all__ = ["RegressorNode", "main", "NEWEST_FRAME_QOS", "MODEL_KEYS"]

# Sensor-data QoS with a one-sample history: the reader holds only the newest frame.
NEWEST_FRAME_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
MODEL_KEYS = ("model_path", "backend", "device")  # changing one reloads the model
TF_RETRY_S = 1.0  # how often to look for the camera's transform until it is found


def load_regressor(config: RegressorConfig, base_to_camera) -> FrameRegressor:
    engine = load_engine(config.model_path or default_model_path(), backend=config.backend, device=config.device)
    return FrameRegressor(engine, base_to_camera, config)


class RegressorNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("regressor_node", **node_options(**kwargs))
        self._infos = declare_settings(self, RegressorConfig)
        self.config = RegressorConfig.from_params(values(self, self._infos))
        self.factory = rclpy_factory()
        self.counts: Counter = Counter()
        self.problems = diagnostics.ProblemLog(self.get_logger(), self.counts)
        self.input_rate, self.output_rate = diagnostics.RateMeter(), diagnostics.RateMeter()
        self.latency = diagnostics.LatencyMeter()  # capture stamp -> published
        self.compute = diagnostics.LatencyMeter()  # DDS reception -> published
        self.transport = diagnostics.LatencyMeter()  # DDS source -> reception, where the middleware stamps both
        self.regressor = load_regressor(self.config, self.config.extrinsic)  # a missing model stops the node here
        self._loading: Optional[threading.Thread] = None
        self._restore_timer: Optional[Any] = None  # puts the model parameters back after a failed load
        self._tf = self._make_tf_buffer()
        self._extrinsic_from_tf = False
        self._next_tf_try = 0.0
        self.add_on_set_parameters_callback(self._on_parameters)
        self.publisher = self.create_publisher(PoseWithCovarianceStamped, "~/pose", 10)
        compressed = self.config.image_transport == "compressed"
        self._image_type = IMAGE_TYPES[1] if compressed else IMAGE_TYPES[0]
        self._raw = importable("rosbags.typesys")
        self.create_subscription(CompressedImage if compressed else Image, "image/compressed" if compressed else "image",
                                 self._image_callback(), NEWEST_FRAME_QOS, raw=self._raw)
        self.diagnostics_pub = self.create_publisher(diagnostics.DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0, self._publish_diagnostics)
        self.get_logger().info(f"backend {self.regressor.engine.backend} on {self.regressor.engine.device}, "
                               f"input {self.regressor.preprocess.spec.crop}px, transport {self.config.image_transport}, "
                               f"covariance from {self.regressor.covariance_source} "
                               f"({self.regressor.error_shape.name} error shape)")

    # ------------------------------------------------------------------ camera extrinsic
    def _make_tf_buffer(self):
        if not self.config.use_tf_extrinsic:
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
        """Look the camera up in TF at most once per ``TF_RETRY_S`` until found, then never again."""
        if self._tf is None or self._extrinsic_from_tf or not camera_frame or time.monotonic() < self._next_tf_try:
            return
        self._next_tf_try = time.monotonic() + TF_RETRY_S
        try:
            t = self._tf.lookup_transform(self.config.base_frame, camera_frame, rclpy.time.Time())
        except Exception:  # tf2 raises several lookup exception types; try again later
            return
        self.regressor.set_extrinsic(transform_to_pose(t.transform))
        self._extrinsic_from_tf = True
        self.get_logger().info(f"camera extrinsic {self.config.base_frame} -> {camera_frame} from TF")

    # ------------------------------------------------------------------ parameters
    def _on_parameters(self, params: List[Parameter]) -> SetParametersResult:
        new = self.config.as_params()
        new.update({param.name: param.value for param in params})
        try:
            config = RegressorConfig.from_params(new)
        except (PoseRegressorError, TypeError, ValueError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        reload = any(getattr(config, k) != getattr(self.config, k) for k in MODEL_KEYS)
        if reload and self._loading is not None and self._loading.is_alive():
            return SetParametersResult(successful=False, reason="a model is still loading; try again when it is done")
        if reload:
            try:  # what can be refused at once is; the slow part (a TensorRT build) runs in the background
                check_model_file(config.model_path or default_model_path(), config.backend, config.device)
            except PoseRegressorError as err:
                return SetParametersResult(successful=False, reason=str(err))
        previous, self.config = self.config, config
        self.regressor.configure(config)
        if not self._extrinsic_from_tf:
            self.regressor.set_extrinsic(config.extrinsic)
        if reload:
            self._loading = threading.Thread(target=self._reload, args=(config, previous), daemon=True)
            self._loading.start()
        return SetParametersResult(successful=True)

    def _reload(self, config: RegressorConfig, previous: RegressorConfig) -> None:
        """Load in the background; swap on success, keep the old model and restore its parameters on failure."""
        self.counts["model_loads"] += 1
        try:
            regressor = load_regressor(config, self.regressor.base_to_camera)
        except (PoseRegressorError, OSError) as err:
            self.problems.report("model_load_failed", f"cannot load {config.model_path or 'the demo model'}: {err}; "
                                 "keeping the current model", error=True)
            self.config = self.config.updated(**{k: getattr(previous, k) for k in MODEL_KEYS})  # so no reload follows
            restore = [Parameter(k, value=getattr(previous, k)) for k in MODEL_KEYS]
            # Not from this thread: rclpy stores a parameter after the callback that accepted it returns, so a
            # quick failure's restore could land first and be overwritten by the failed value. A timer runs on
            # the executor, after the set that started this load has finished.
            self._restore_timer = self.create_timer(0.001, lambda: self._restore_parameters(restore))
            return
        regressor.configure(self.config)
        self.regressor = regressor  # one reference assignment: the image callback sees the old or the new model
        self.get_logger().info(f"now running {config.model_path or 'the demo model'} on {regressor.engine.backend}")

    def _restore_parameters(self, restore: List[Parameter]) -> None:
        if self._restore_timer is not None:
            self._restore_timer.cancel()
            self.destroy_timer(self._restore_timer)
            self._restore_timer = None
        self.set_parameters(restore)

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
        age_limit = self.config.max_image_age
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
                                                        self.config.map_frame)
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
        engine = self.regressor.engine
        loading = self._loading is not None and self._loading.is_alive()
        values_ = {"input_rate_hz": self.input_rate.rate(), "output_rate_hz": self.output_rate.rate(),
                   "processing_ms_p50": p50, "processing_ms_p95": p95, "capture_to_publish_ms_p50": c50,
                   "capture_to_publish_ms_p95": c95, "image_transport_ms_p50": t50, "image_transport_ms_p95": t95,
                   "backend": engine.backend, "device": engine.device,
                   "covariance_source": self.regressor.covariance_source,
                   "error_shape": self.regressor.error_shape.name, "model_loading": loading,
                   **dict(sorted(self.counts.items()))}
        diagnostics.publish(self, self.diagnostics_pub, "pose regressor", "camera", values_, self.problems.summary(),
                            stale=self.input_rate.rate() == 0.0)


def main(args: Optional[List[str]] = None) -> None:
    spin_node(RegressorNode, "regressor_node", args)


if __name__ == "__main__":
    main()
