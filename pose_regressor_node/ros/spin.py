"""The one ``main`` body both nodes share: init, spin until Ctrl-C, clean shutdown.

Before anything allocates, the process is configured for frames (``process``): it keeps freed
image-sized memory, and OpenCV stays on one thread. A known error at start-up (a missing or
mismatched model, an invalid parameter) is logged as one fatal line that says what to fix, and the
process exits with status 1.
"""

from __future__ import annotations

from typing import Callable, List, Optional

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from ..errors import PoseRegressorError
from .process import configure_process

__all__ = ["spin_node"]


def spin_node(make_node: Callable[[], Node], name: str, args: Optional[List[str]] = None) -> None:
    configure_process()
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        rclpy.spin(node)
    except PoseRegressorError as err:
        rclpy.logging.get_logger(name).fatal(str(err))
        raise SystemExit(1) from err
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
