"""The RViz view of the localizer, following the launch arguments.

``rviz/localize.rviz`` is written for the default topics; the launch file renders it for the
topics actually used (a remapped camera or odometry, the compressed image transport) so that
RViz shows what runs. ROS-free text processing, so it is tested without RViz.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List

import yaml

__all__ = ["render_rviz_config", "display_topics", "CAMERA_DISPLAY", "ODOMETRY_DISPLAY"]

CAMERA_DISPLAY = "Camera"  # the Image display showing the camera the regressor reads
ODOMETRY_DISPLAY = "Wheel odometry"  # the Odometry display showing the odometry the filter reads


def _displays(config: Dict[str, Any]) -> List[Dict[str, Any]]:
    return list((config.get("Visualization Manager") or {}).get("Displays") or [])


def display_topics(text: str) -> Iterator[tuple]:
    """(display or tool name, topic) for every display and tool of an .rviz file that subscribes or publishes."""
    config = yaml.safe_load(text) or {}
    manager = config.get("Visualization Manager") or {}
    for entry in list(manager.get("Displays") or []) + list(manager.get("Tools") or []):
        topic = (entry.get("Topic") or {}).get("Value") if isinstance(entry.get("Topic"), dict) else None
        if topic:
            yield entry.get("Name", entry.get("Class", "?")), topic


def render_rviz_config(text: str, image_topic: str, image_transport: str, odom_topic: str) -> str:
    """The .rviz file with the camera display on ``image_topic`` (its ``/compressed`` topic for the
    compressed transport: RViz picks the transport from the topic name) and the odometry display on
    ``odom_topic``."""
    if image_transport not in ("raw", "compressed"):
        raise ValueError(f"image_transport must be raw or compressed, got {image_transport!r}")
    config = yaml.safe_load(text) or {}
    camera = image_topic
    if image_transport == "compressed" and not camera.endswith("/compressed"):
        camera += "/compressed"
    found = set()
    for display in _displays(config):
        if display.get("Name") == CAMERA_DISPLAY:
            display.setdefault("Topic", {})["Value"] = camera
            found.add(CAMERA_DISPLAY)
        elif display.get("Name") == ODOMETRY_DISPLAY:
            display.setdefault("Topic", {})["Value"] = odom_topic
            found.add(ODOMETRY_DISPLAY)
    missing = {CAMERA_DISPLAY, ODOMETRY_DISPLAY} - found
    if missing:
        raise ValueError(f"the RViz config has no display named {sorted(missing)}")
    return yaml.safe_dump(config, sort_keys=False)
