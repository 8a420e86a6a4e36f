"""``python -m pose_regressor_node demo``: the whole localizer on the demo drive, live over DDS.

1. Writes (or reuses) the demo bag: the synthetic world's test drive, JPEG camera, odometry, truth.
2. Starts regressor_node and fusion_node as processes (the launch file's executables, with
   ``config/localize.yaml``, ``use_sim_time``), plays the bag into them with /clock and records
   their outputs.
3. Scores the live run and an offline replay of the same bag with the same metrics, and prints
   both tables. Every process runs with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST on a domain of
   its own; all of them are stopped before it returns.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

from ..atomic import is_complete, mark_complete
from ..cli_args import positive_float
from ..errors import PoseRegressorError
from ..optional import importable
from .metrics import evaluate
from .pipeline import ReplayOptions, ReplayResult, replay
from .report import table_markdown, write_outputs
from .settings import DEFAULT_PARAMS_FILE, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODEL = ROOT / "models" / "demo-resnet18.pt"
# Links the bag's first messages depend on, as the least subscribers each topic needs: both nodes on
# /clock (use_sim_time: a node's clock starts with its first /clock message), and the fusion node and
# the recorder on the regressor's poses.
NODE_LINKS = {"/clock": 2, "/regressor_node/pose": 2}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=ROOT / "demo_out", help="bag, reports and plots go here")
    parser.add_argument("--model", type=Path, default=DEMO_MODEL)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS_FILE)
    parser.add_argument("--duration", type=positive_float, default=60.0, help="seconds of the demo drive")
    parser.add_argument("--rate", type=positive_float, default=1.0, help="playback speed (1 = real time)")
    parser.add_argument("--backend", default="auto")


def _environment() -> Dict[str, str]:
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # DDS never leaves this machine
    env.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _ensure_bag(out: Path, duration: float) -> Path:
    """The demo bag, written once: reused only when its completion marker says it was written to the end."""
    bag = out / f"demo_bag_{int(duration)}s"
    if is_complete(bag):
        print(f"reusing {bag}")
        return bag
    if bag.exists():
        print(f"removing {bag}: an earlier run did not finish writing it")
        shutil.rmtree(bag)
    out.mkdir(parents=True, exist_ok=True)
    print(f"writing the demo bag {bag} (the demo room's test drive, {duration:.0f} s)")
    written = subprocess.run([sys.executable, "-m", "pose_regressor_node", "sim", "--format", "rosbag2", "--out",
                              str(bag), "--split", "test", "--duration", str(duration), "--compressed"], cwd=ROOT,
                             env=_environment(), check=False)
    if written.returncode != 0:
        raise PoseRegressorError(f"writing the demo bag failed (exit code {written.returncode}); its error is above")
    mark_complete(bag)
    return bag


def _start_nodes(model: Path, params: Path, backend: str, logs: Path, env: Dict[str, str]) -> List[subprocess.Popen]:
    common = ["--ros-args", "--params-file", str(params), "-p", "use_sim_time:=true"]
    commands = {
        "regressor_node": [sys.executable, "-m", "pose_regressor_node.ros.regressor_node", *common,
                           "-p", f"model_path:={model}", "-p", f"backend:={backend}", "-p", "image_transport:=compressed",
                           "-r", "image/compressed:=/camera/image_raw/compressed"],
        "fusion_node": [sys.executable, "-m", "pose_regressor_node.ros.fusion_node", *common,
                        "-r", "odom:=/odom", "-r", "pose:=/regressor_node/pose"],
    }
    procs = []
    for name, cmd in commands.items():
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    return procs


def _stop(procs: List[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + 10.0
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _live_result(offline: ReplayResult, live: Dict, max_diff_s: float) -> ReplayResult:
    trajectories = {"regressor": live["regressor"], "odometry": offline.trajectories["odometry"],
                    "fused": live["fused"]}
    evaluations = {n: evaluate(offline.truth, t, max_diff_s) for n, t in trajectories.items()}
    counts = {"regressor_poses": len(live["regressor"]), "fused_poses": len(live["fused"])}
    return ReplayResult(offline.topics, "live nodes", 0.0, False, offline.truth, trajectories, evaluations, counts,
                        ["live run: regressor_node and fusion_node as processes, bag played over DDS with /clock"])


def run(args: argparse.Namespace) -> int:
    if not args.model.is_file():
        raise PoseRegressorError(f"demo model {args.model} not found; train one (see models/README.md)")
    env = _environment()
    os.environ.update({k: env[k] for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID")})
    out = args.out
    bag = _ensure_bag(out, args.duration)
    settings = load_settings(args.params)
    options = ReplayOptions(backend=args.backend, regressor=settings.regressor, fusion=settings.fusion)
    print("offline replay of the demo bag (same objects, simulated latency)")
    offline = replay(bag, str(args.model), options)
    offline_files = write_outputs(offline, out / "offline", title="Offline replay of the demo bag")
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"starting regressor_node and fusion_node (ROS_DOMAIN_ID={env['ROS_DOMAIN_ID']}, discovery on localhost)")
    procs = _start_nodes(args.model, args.params, args.backend, logs, env)
    try:
        from .live import play_and_record  # noqa: PLC0415 - needs rclpy

        topics = ["/camera/image_raw/compressed", "/odom"]
        if importable("tf2_msgs"):  # with ROS installed the extrinsic travels on /tf_static too
            topics.append("/tf_static")
        live = play_and_record(bag, topics, {"regressor": "/regressor_node/pose", "fused": "/fusion_node/odometry"},
                               wait_for=["/camera/image_raw/compressed", "/odom"], rate=args.rate,
                               links=NODE_LINKS)
    finally:
        _stop(procs)
    if any(p.returncode not in (0, -signal.SIGINT, 130, None) for p in procs):
        print(f"warning: a node exited with an error; see {logs}", file=sys.stderr)
    if not len(live["fused"]):
        raise PoseRegressorError(f"the nodes published nothing; see their logs in {logs}")
    live_result = _live_result(offline, live, options.max_diff_s)
    live_files = write_outputs(live_result, out / "live", title="Live demo: nodes over DDS")
    med = {name: float(np.median(r.evaluations["fused"].ape_translation)) for name, r in
           (("live", live_result), ("offline", offline))}
    print("\nLive run (regressor_node + fusion_node over DDS, bag played with /clock):")
    print(table_markdown(live_result.evaluations))
    print("\nOffline replay of the same bag:")
    print(table_markdown(offline.evaluations))
    print(f"\nfused median position error: live {med['live']:.3f} m, offline {med['offline']:.3f} m "
          f"(difference {abs(med['live'] - med['offline']) / med['offline']:.1%})")
    print(f"plots: {live_files['topview_png']}, {live_files.get('error_time_png')}, {live_files.get('cdf_png')}")
    print(f"reports: {live_files['report']}, {offline_files['report']}")
    return 0
