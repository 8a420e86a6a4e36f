"""Node parameters declared from the typed settings (``pose_regressor_node.settings``).

Descriptions, ranges and read-only flags come from the settings' field declarations, so a bound
is written once; validation is the settings' own (``from_params`` raises ``ParameterError``),
which the nodes return as the reason a ``ros2 param set`` is refused.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Type

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from rclpy.parameter import Parameter

from ..settings import SettingInfo, Settings

__all__ = ["declare_settings", "node_options", "values"]


def node_options(**kwargs: Any) -> Dict[str, Any]:
    """``Node`` keyword arguments for every node the package makes (the two nodes, the demo's bag
    player, the test and bench helpers): the caller's, without rclpy's ~/get_type_description
    service. Destroying that service at Ctrl-C hung rclpy 7.1.6's ``destroy_node`` (once in 14 runs of
    the launch test; the teardown watchdog's stacks showed where). Our nodes use only standard message
    types, which every ROS install can describe, so nothing is lost. It is an override: a parameters
    file cannot turn it on."""
    overrides = list(kwargs.pop("parameter_overrides", None) or [])
    overrides.append(Parameter("start_type_description_service", value=False))
    return {**kwargs, "parameter_overrides": overrides}


def _descriptor(info: SettingInfo) -> ParameterDescriptor:
    text = info.description + (" (reloads the model)" if info.reload else "")
    if info.choices:
        text += f"; one of: {', '.join(info.choices)}"
    d = ParameterDescriptor(description=text, read_only=info.read_only)
    if info.bounds is not None and not isinstance(info.default, bool):
        low, high = info.bounds
        if isinstance(info.default, (int, float)):  # the unset value (0) must stay settable
            low = min(low, info.default)
        if isinstance(info.default, int):
            d.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        elif isinstance(info.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
    return d


def declare_settings(node: Node, *classes: Type[Settings]) -> List[SettingInfo]:
    """Declare every field of ``classes`` as a parameter of ``node``; returns what was declared."""
    infos = [info for cls in classes for info in cls.infos()]
    for info in infos:
        node.declare_parameter(info.name, info.default, _descriptor(info))
    return infos


def values(node: Node, infos: Iterable[SettingInfo]) -> Dict[str, Any]:
    return {info.name: node.get_parameter(info.name).value for info in infos}
