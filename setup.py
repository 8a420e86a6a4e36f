"""ament_python package: `colcon build` installs executables where `ros2 run pose_regressor` finds them."""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "pose_regressor"


def _share(folder, pattern="*"):
    files = [f for f in glob(os.path.join(folder, pattern)) if os.path.isfile(f)]
    return (os.path.join("share", PACKAGE, folder), files)


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["pose_regressor_node", "pose_regressor_node.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        _share("launch", "*.launch.py"),
        _share("config", "*.yaml"),
        _share("config", "*.xml"),
        _share("rviz", "*.rviz"),
        _share("models", "*"),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="pose_regressor maintainers",
    maintainer_email="maintainers@example.com",
    description="Absolute pose regression fused with wheel odometry for an indoor RC car",
    license="BSD-3-Clause",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "regressor_node = pose_regressor_node.ros.regressor_node:main",
            "fusion_node = pose_regressor_node.ros.fusion_node:main",
            "pose_regressor = pose_regressor_node.__main__:main",
        ],
    },
)
