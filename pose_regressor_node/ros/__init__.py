"""The ROS 2 nodes (thin: message conversion, parameters, callbacks). Importing this needs rclpy."""

__all__ = ["regressor_node", "fusion_node"]
