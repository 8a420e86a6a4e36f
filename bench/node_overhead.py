"""Regressor node cost per frame, message in -> pose out over real DDS, divided by the engine's own
inference time on the same frames in the same run (target: at most 1.15).

The production configuration: ResNet18 at 224 x 224 with the uncertainty head and an error map the
size of the demo model's (each frame's covariance looked up in it) on ONNX Runtime (CPU), 640 x 480 rgb8 frames
from the synthetic world, the process configured as the nodes' main does (``ros.process``). Node
and sender share this process (each on its own single-threaded executor): raw 921 KB frames sent
best-effort between processes are lost by Fast DDS with its default shared-memory segment (seen
here: 78 of 78; the profile config/fastdds_large_frames.xml delivers them, at 2.43-3.26 ms for an
echo round trip, more than in one process). Frames are sent one at a time (the next after the
previous pose came back), so queueing never counts.

The node's cost is timed with DDS's own stamps: from the frame's source stamp (set when the
sender's writer hands the frame to DDS) to the pose's reception stamp at the subscriber's reader.
That is DDS delivery in, the node's executor, everything the node does, and DDS delivery out;
it leaves out the sender turning a Python message into CDR before the write (a camera driver's
cost) and the subscriber's executor reaching its Python callback after the read (the subscriber's
cost, which in this one process also waits for the node's thread to give up the GIL). The time
from the sender's publish call to the subscriber's callback is reported beside it
(``ratio_publish_call_to_callback``). The harness node has no parameter services or rosout: it is
not the node under test. Prints JSON. Run: PYTHONPATH=. .venv/bin/python bench/node_overhead.py
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # DDS never leaves this machine
os.environ.setdefault("ROS_DOMAIN_ID", "71")

import numpy as np  # noqa: E402
import rclpy  # noqa: E402
from geometry_msgs.msg import PoseWithCovarianceStamped  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from pose_regressor_node.error_map import ErrorMap  # noqa: E402
from pose_regressor_node.error_shape import ErrorShape  # noqa: E402
from pose_regressor_node.geometry import quat_from_yaw, quat_multiply  # noqa: E402
from pose_regressor_node.messages import rclpy_factory  # noqa: E402
from pose_regressor_node.metadata import ModelMetadata  # noqa: E402
from pose_regressor_node.model import build_model, save_checkpoint  # noqa: E402
from pose_regressor_node.ros.parameters import node_options  # noqa: E402
from pose_regressor_node.ros.process import configure_process  # noqa: E402
from pose_regressor_node.ros.regressor_node import RegressorNode  # noqa: E402
from pose_regressor_node.ros.spin import BackgroundSpin  # noqa: E402
from pose_regressor_node.sim import Renderer, default_extrinsic, demo_world, generate_trajectory  # noqa: E402


def frames(n: int):
    world = demo_world()
    renderer = Renderer(world)
    traj = generate_trajectory(world, "loop", seed=5, duration_s=n / 5.0)
    return [renderer.render(traj.pose(i) @ default_extrinsic()) for i in range(0, len(traj), 10)][:n]


def room_error_map(views: int = 12558, seed: int = 0) -> ErrorMap:
    """An error map the size of the demo model's (12,558 training views over a 6 x 4 m room): the
    node looks each frame's covariance up in it, as it does for the demo model."""
    rng = np.random.default_rng(seed)
    positions = np.column_stack([rng.uniform(0, 6, views), rng.uniform(0, 4, views), np.full(views, 0.15)])
    quats = np.array([quat_multiply(quat_from_yaw(yaw), default_extrinsic().quaternion)
                      for yaw in rng.uniform(-np.pi, np.pi, views)])
    return ErrorMap.build(positions, quats, rng.gamma(2.0, 0.01, (views, 2)), dof=(2, 1))


def main(n: int = 40) -> dict:
    configure_process()  # as the nodes' main does (ros/spin.py)
    images = frames(n)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model("resnet18", uncertainty=True).eval()
        path = os.path.join(tmp, "resnet18-224.pt")
        save_checkpoint(path, model, ModelMetadata(arch="resnet18", arch_options=model.options,
                                                   calibration=ErrorShape(planar=True).to_calibration(),
                                                   error_map=room_error_map().to_metadata()))
        rclpy.init()
        node = RegressorNode(parameter_overrides=[Parameter("model_path", value=path),
                                                  Parameter("backend", value="onnxruntime"),
                                                  Parameter("device", value="cpu"),
                                                  Parameter("max_image_age", value=0.0)])
        # the harness only publishes frames and takes poses: no parameter services or rosout to spin
        helper = rclpy.create_node("bench_helper", **node_options(start_parameter_services=False, enable_rosout=False))
        done, arrivals, received_ns, sources_ns = threading.Event(), [], [], []

        def on_pose(_msg: PoseWithCovarianceStamped, info) -> None:  # "pose out": when a subscriber has it
            arrivals.append(time.perf_counter())
            received_ns.append(info["received_timestamp"])
            done.set()

        (images_in,) = [sub for sub in node.subscriptions if sub.topic_name.endswith("/image")]
        on_image = images_in.callback

        def noting_source_stamp(msg, info) -> None:  # "message in": the frame's DDS source stamp
            sources_ns.append(info["source_timestamp"])
            on_image(msg, info)

        images_in.callback = noting_source_stamp

        helper.create_subscription(PoseWithCovarianceStamped, "/regressor_node/pose", on_pose, 10)
        pub = helper.create_publisher(Image, "image", 10)
        spinners = []
        for spun in (node, helper):  # each node spun as rclpy.spin would in its own process: single-threaded
            executor = SingleThreadedExecutor()
            executor.add_node(spun)
            spinners.append(BackgroundSpin(executor))
        while pub.get_subscription_count() == 0:
            time.sleep(0.05)
        factory = rclpy_factory()
        engine = node.regressor.engine
        batches = [node.regressor.preprocess(img).copy()[None] for img in images]
        msgs = []
        for i, img in enumerate(images):
            msg = Image(height=480, width=640, encoding="rgb8", step=640 * 3, data=img.tobytes())
            msg.header = factory.header(i + 1, "camera_optical_frame")
            msgs.append(msg)
        node_times, harness_times, inside_times, transport_times, engine_times = [], [], [], [], []
        for rep in range(3):  # interleave so drift in machine load hits both alike; rep 0 warms up
            for msg, batch in zip(msgs, batches):
                done.clear()
                published = node.counts["published"]
                start = time.perf_counter()
                pub.publish(msg)
                if not done.wait(10.0):
                    raise RuntimeError("regressor_node published no pose within 10 s")
                while node.counts["published"] == published:  # its bookkeeping (compute time) follows publish
                    time.sleep(1e-4)
                if rep:
                    harness_times.append(arrivals[-1] - start)
                    node_times.append((received_ns[-1] - sources_ns[-1]) * 1e-9)
                    inside_times.append(node.compute.latest() * 1e-3)
                    transport_times.append(node.transport.latest() * 1e-3)
                start = time.perf_counter()
                engine.infer(batch)
                if rep:
                    engine_times.append(time.perf_counter() - start)
        for spinner in spinners:
            spinner.stop()
        node.destroy_node()
        helper.destroy_node()
        rclpy.shutdown()
    node_ms, harness_ms, inside_ms, transport_ms, engine_ms = (
        float(np.median(t)) * 1e3 for t in (node_times, harness_times, inside_times, transport_times, engine_times))
    result = {"bench": "node_overhead", "frames": len(node_times), "model": "resnet18 224x224, onnxruntime cpu",
              "node_dds_source_to_pose_received_ms_p50": round(node_ms, 2),
              "engine_infer_ms_p50": round(engine_ms, 2),
              "image_dds_source_to_reception_ms_p50": round(transport_ms, 2),
              "node_reception_to_published_ms_p50": round(inside_ms, 2),
              "publish_call_to_subscriber_callback_ms_p50": round(harness_ms, 2),
              "ratio": round(node_ms / engine_ms, 3), "target_ratio": 1.15,
              "ratio_publish_call_to_callback": round(harness_ms / engine_ms, 3)}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
