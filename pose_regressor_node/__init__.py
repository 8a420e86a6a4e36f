"""pose_regressor: absolute camera pose regression fused with wheel odometry, for ROS 2.

Import subpackages explicitly (``pose_regressor_node.fusion``...); this top level stays light so
that on-robot processes load only what they use.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
