"""Declaring node parameters with descriptors (description, range, read-only) in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

__all__ = ["Param", "declare_all", "values"]


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    description: str
    range: Optional[Tuple[float, float]] = None
    read_only: bool = False
    restart: bool = False  # applied by reloading (model) rather than instantly


def _descriptor(p: Param) -> ParameterDescriptor:
    d = ParameterDescriptor(description=p.description + (" (reloads the model)" if p.restart else ""),
                            read_only=p.read_only)
    if p.range is not None:
        lo, hi = p.range
        if isinstance(p.default, bool):
            pass
        elif isinstance(p.default, int):
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=0)]
        elif isinstance(p.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
    return d


def declare_all(node: Node, params: Sequence[Param]) -> None:
    for p in params:
        node.declare_parameter(p.name, p.default, _descriptor(p))


def values(node: Node, params: Sequence[Param]) -> Dict[str, Any]:
    return {p.name: node.get_parameter(p.name).value for p in params}
