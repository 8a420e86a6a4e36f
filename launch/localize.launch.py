"""On-robot entry point: regressor_node + fusion_node (+ RViz).

    ros2 launch pose_regressor localize.launch.py model:=/path/model.engine image_topic:=/camera/image_raw
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node

from launch import LaunchDescription


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
             remappings=[("image", image_topic),
                         ("image/compressed", PythonExpression(["'", image_topic, "' + ('' if '", image_topic,
                                                                "'.endswith('/compressed') else '/compressed')"]))],
             ),
        Node(package="pose_regressor", executable="fusion_node", name="fusion_node", output="screen",
             parameters=[params_file, sim_time],
             remappings=[("odom", odom_topic), ("pose", "/regressor_node/pose")]),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
             arguments=["-d", os.path.join(share, "rviz", "localize.rviz")], parameters=[sim_time],
             condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
