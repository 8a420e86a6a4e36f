"""On-robot entry point: regressor_node + fusion_node (+ RViz).

    ros2 launch pose_regressor localize.launch.py model:=/path/model.engine image_topic:=/camera/image_raw

``rviz:=true`` starts rviz2 with ``rviz/localize.rviz`` rendered for the topics given here (camera,
transport, odometry); where rviz2 is not installed it says so and the localizer runs without it.
"""

import os
import tempfile

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node

from launch import LaunchDescription


def _compressed_topic(image_topic):
    return PythonExpression(["'", image_topic, "' + ('' if '", image_topic,
                             "'.endswith('/compressed') else '/compressed')"])


def _rviz(context, share, sim_time):
    """RViz with the view rendered for this launch's topics, or a message when rviz2 is missing."""
    if LaunchConfiguration("rviz").perform(context).lower() not in ("true", "1", "yes"):
        return []
    try:
        get_package_share_directory("rviz2")
    except PackageNotFoundError:
        return [LogInfo(msg="rviz:=true, but rviz2 is not installed (apt install ros-$ROS_DISTRO-rviz2); "
                            "the localizer runs without RViz")]
    from pose_regressor_node.ros.rviz_config import render_rviz_config

    with open(os.path.join(share, "rviz", "localize.rviz")) as f:
        text = render_rviz_config(f.read(), LaunchConfiguration("image_topic").perform(context),
                                  LaunchConfiguration("image_transport").perform(context),
                                  LaunchConfiguration("odom_topic").perform(context))
    handle, path = tempfile.mkstemp(prefix="localize_", suffix=".rviz")
    with os.fdopen(handle, "w") as f:
        f.write(text)
    return [Node(package="rviz2", executable="rviz2", name="rviz2", output="screen", arguments=["-d", path],
                 parameters=[sim_time])]


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("pose_regressor")
    model = LaunchConfiguration("model")
    backend = LaunchConfiguration("backend")
    image_topic = LaunchConfiguration("image_topic")
    odom_topic = LaunchConfiguration("odom_topic")
    params_file = LaunchConfiguration("params_file")
    use_sim_time = LaunchConfiguration("use_sim_time")
    transport = LaunchConfiguration("image_transport")
    sim_time = {"use_sim_time": PythonExpression(["'", use_sim_time, "' == 'true'"])}
    return LaunchDescription([
        DeclareLaunchArgument("model", default_value=os.path.join(share, "models", "demo-resnet18.pt"),
                              description="model file: .engine (TensorRT), .onnx or .pt"),
        DeclareLaunchArgument("backend", default_value="auto", description="auto|tensorrt|onnxruntime|torch"),
        DeclareLaunchArgument("image_topic", default_value="/camera/image_raw", description="camera image topic"),
        DeclareLaunchArgument("image_transport", default_value="raw", description="raw or compressed"),
        DeclareLaunchArgument("odom_topic", default_value="/odom", description="wheel odometry topic"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "localize.yaml"),
                              description="parameters of both nodes"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="true when playing bags"),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 with rviz/localize.rviz"),
        Node(package="pose_regressor", executable="regressor_node", name="regressor_node", output="screen",
             parameters=[params_file, sim_time, {"model_path": model, "backend": backend,
                                                 "image_transport": transport}],
             remappings=[("image", image_topic), ("image/compressed", _compressed_topic(image_topic))]),
        Node(package="pose_regressor", executable="fusion_node", name="fusion_node", output="screen",
             parameters=[params_file, sim_time],
             remappings=[("odom", odom_topic), ("pose", "/regressor_node/pose")]),
        OpaqueFunction(function=_rviz, args=[share, sim_time]),
    ])
