"""What `ros2 launch PACKAGE FILE ARG:=VALUE ...` does, for the tests: run a launch file through
launch.LaunchService (ros2cli, which wraps it, is not on PyPI). Usage: python launch_runner.py FILE [ARG:=VALUE ...]"""

from __future__ import annotations

import sys

from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

from launch import LaunchDescription, LaunchService


def main(argv) -> int:
    path, arguments = argv[0], [a.split(":=", 1) for a in argv[1:]]
    service = LaunchService(argv=argv[1:], noninteractive=True)
    service.include_launch_description(LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(path), launch_arguments=[tuple(a) for a in arguments]),
    ]))
    return service.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
