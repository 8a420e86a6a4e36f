"""`ros2 launch pose_regressor localize.launch.py` for real: the package built with colcon, the launch
file run through launch.LaunchService (what `ros2 launch` runs), a bag played in, fused odometry out,
and Ctrl-C as a terminal sends it (SIGINT to the whole process group): every process exits 0, with
no traceback and no orphan. Also the node processes on their own: bad start-up parameters end in one
FATAL line, a plain checkout starts with the shipped config, a repeated SIGINT ends cleanly.

The launch packages are not on PyPI: `make test` installs the upstream sources from
../shared/vendor (tools/install_launch.py). Without ../shared these tests skip; with it, a launch
that does not import is a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from pose_regressor_node.ros.rviz_config import display_topics, render_rviz_config

from ..conftest import ROOT

VENDOR = ROOT.parent / "shared" / "vendor" / "ros2-launch-jazzy"
LAUNCH_FILE = ROOT / "launch" / "localize.launch.py"
RUNNER = Path(__file__).with_name("launch_runner.py")
SIGINT_RUNS = 3  # in make test; the closing note's figure comes from more runs of the same check


def _environment(install: Path) -> Dict[str, str]:
    env = dict(os.environ)  # ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST from tests/conftest.py
    env["ROS_DOMAIN_ID"] = str(1 + (int(os.environ["ROS_DOMAIN_ID"]) + 50) % 100)  # not the in-process tests'
    env["AMENT_PREFIX_PATH"] = os.pathsep.join([str(install / "pose_regressor"), sys.prefix])
    env["PYTHONPATH"] = str(next((install / "pose_regressor" / "lib").glob("python*/site-packages")))
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    return env


@pytest.fixture(scope="module")
def install(tmp_path_factory) -> Path:
    if not VENDOR.is_dir():
        pytest.skip(f"the upstream launch sources are not at {VENDOR} (only beside the project checkout)")
    try:
        import launch_ros.actions  # noqa: F401
    except ImportError as err:
        pytest.fail(f"launch_ros does not import ({err}); make test installs it: python tools/install_launch.py "
                    f"{VENDOR}")
    base = tmp_path_factory.mktemp("ros2_ws")
    build = subprocess.run([str(Path(sys.prefix) / "bin" / "colcon"), "--log-base", str(base / "log"), "build",
                            "--base-paths", str(ROOT / "ros2_ws" / "src"), "--build-base", str(base / "build"),
                            "--install-base", str(base / "install")], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return base / "install"


@pytest.fixture(scope="module")
def bag(tmp_path_factory) -> Path:
    from pose_regressor_node.sim import Renderer, demo_world, split_drives
    from pose_regressor_node.sim.bag_writer import write_rosbag2

    world = demo_world()
    drive = split_drives(world, "test", duration_s=4.0)[0]
    return write_rosbag2(tmp_path_factory.mktemp("bag") / "drive", Renderer(world), drive, compressed=True)


def _launch(install: Path, log: Path, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(RUNNER), str(LAUNCH_FILE), *arguments], env=_environment(install),
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115


def _wait_for(log: Path, text: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in the launch output after {timeout} s:\n{log.read_text()[-3000:]}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _ctrl_c(process: subprocess.Popen, log: Path) -> str:
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it; the output once all have exited."""
    os.killpg(process.pid, signal.SIGINT)
    code = process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = _group_alive(process.pid)
    if orphans:
        os.killpg(process.pid, signal.SIGKILL)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert not orphans, "processes were left running after the launch exited"
    assert "Traceback" not in output and "process has died" not in output, output[-3000:]
    assert output.count("process has finished cleanly") == 2, output[-3000:]
    return output


def _play(install: Path, bag: Path) -> dict:
    """Play the bag into the launched nodes (in a process of its own) and count what comes out."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from pose_regressor_node.replay.live import play_and_record\n"
        "from pose_regressor_node.replay.demo import NODE_LINKS\n"
        f"out = play_and_record(Path({str(bag)!r}), ['/camera/image_raw/compressed', '/odom'], "
        "{'regressor': '/regressor_node/pose', 'fused': '/fusion_node/odometry'}, "
        "wait_for=['/camera/image_raw/compressed', '/odom'], settle_s=2.0, startup_timeout_s=60.0, "
        "links=NODE_LINKS)\n"
        "print(json.dumps({k: len(v) for k, v in out.items()}))\n"
    )
    env = _environment(install)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env["PYTHONPATH"]])
    played = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180,
                            check=False)
    assert played.returncode == 0, played.stderr[-3000:]
    return json.loads(played.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_launch_file_runs_the_localizer_and_ctrl_c_stops_it_cleanly(install, bag, tmp_path):
    log = tmp_path / "launch.log"
    process = _launch(install, log, "use_sim_time:=true", "image_transport:=compressed")
    try:
        _wait_for(log, "covariance from")  # the regressor loaded its model
        counts = _play(install, bag)
        assert counts["regressor"] >= 20 and counts["fused"] >= 50, counts  # 4 s: 40 frames, odometry at 50 Hz
    finally:
        output = _ctrl_c(process, log)
    assert "[regressor_node-1]" in output and "[fusion_node-2]" in output


@pytest.mark.slow
@pytest.mark.parametrize("run", range(SIGINT_RUNS))
def test_ctrl_c_right_after_start_up_is_clean(install, tmp_path, run):
    log = tmp_path / f"launch{run}.log"
    process = _launch(install, log)
    _wait_for(log, "covariance from")
    _ctrl_c(process, log)


@pytest.mark.slow
def test_rviz_without_rviz2_says_so_and_leaves_no_orphans(install, tmp_path):
    log = tmp_path / "rviz.log"
    process = _launch(install, log, "rviz:=true")
    _wait_for(log, "rviz2 is not installed")
    _wait_for(log, "covariance from")  # the localizer runs on
    output = _ctrl_c(process, log)
    assert "the localizer runs without RViz" in output


def _node(module: str, *ros_args: str, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", f"pose_regressor_node.ros.{module}", "--ros-args", *ros_args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


@pytest.mark.parametrize("module, args, message", [
    ("regressor_node", ["-p", "max_image_age:=-5.0"], "max_image_age"),
    ("regressor_node", ["-p", "map_frame:=''"], "map_frame must not be empty"),
    ("regressor_node", ["-p", "device:=bogus"], "device must be auto, cpu, cuda or cuda:N"),
    ("regressor_node", ["-p", "backend:=tflite"], "backend must be one of"),
    ("fusion_node", ["-p", "initial_pose:=[.nan, 0.0, 0.0]"], "initial_pose must hold finite numbers"),
    ("fusion_node", ["-p", "gate_probability:=1.5"], "gate_probability"),
])
def test_bad_start_up_parameters_end_in_one_fatal_line(module, args, message):
    process = _node(module, *args)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "Traceback" not in output, output
    fatal = [line for line in output.splitlines() if "FATAL" in line]
    assert len(fatal) == 1 and message in fatal[0], output


def test_a_plain_checkout_starts_with_the_shipped_config_and_a_double_ctrl_c_is_clean():
    env = dict(os.environ)
    env.pop("AMENT_PREFIX_PATH", None)  # no ROS install: the demo model comes from the checkout
    process = _node("regressor_node", "--params-file", str(ROOT / "config" / "localize.yaml"), env=env)
    lines: List[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.stdout is not None:
        line = process.stdout.readline()
        lines.append(line)
        if "covariance from" in line or not line:
            break
    assert any("covariance from" in line for line in lines), "".join(lines)
    os.killpg(process.pid, signal.SIGINT)
    time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C, then launch's own SIGINT
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output


def test_rviz_config_shows_only_topics_that_exist_and_follows_the_launch_arguments():
    text = (ROOT / "rviz" / "localize.rviz").read_text()
    published = {"/regressor_node/pose", "/fusion_node/odometry", "/fusion_node/pose", "/diagnostics"}
    remapped = {"/camera/image_raw", "/odom"}  # the launch file's defaults for image_topic and odom_topic
    subscribed = {"/initialpose"}  # the fusion node's input, published by RViz's tool
    for name, topic in display_topics(text):
        assert topic in published | remapped | subscribed, f"RViz display {name!r} shows {topic}, which nothing uses"
    rendered = render_rviz_config(text, "/csi_cam_0/image_raw", "compressed", "/vesc/odom")
    topics = dict(display_topics(rendered))
    assert topics["Camera"] == "/csi_cam_0/image_raw/compressed" and topics["Wheel odometry"] == "/vesc/odom"
    assert yaml.safe_load(rendered)["Visualization Manager"]["Global Options"]["Fixed Frame"] == "map"
    launch_text = LAUNCH_FILE.read_text()
    assert "render_rviz_config" in launch_text  # the launch file renders it, it does not pass the template
