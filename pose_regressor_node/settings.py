"""Typed, self-validating settings whose fields carry their own description and bounds.

Each component's settings are a frozen dataclass deriving from ``Settings`` (``FusionConfig``,
``RegressorConfig``...). A field declared with ``setting(...)`` says what it means, its range or
choices, and whether 0 means "unset" (ROS parameters cannot be None). From that one declaration:

- ``__post_init__`` refuses NaN and inf, out-of-range numbers, unknown choices and wrong list
  lengths, naming every problem at once (a ``ParameterError``);
- ``from_params`` builds the settings from node parameters or their YAML (unset -> None);
- the nodes declare their ROS parameters with these descriptions and ranges (``ros.parameters``),
  so bounds live in one place and replay reads the same settings the robot does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence as AbcSequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar

from .errors import ParameterError

__all__ = ["Settings", "SettingInfo", "setting"]

S = TypeVar("S", bound="Settings")


def setting(default: Any, description: str, *, bounds: Optional[Tuple[float, float]] = None,
            choices: Optional[Sequence[str]] = None, unset: Optional[float] = None, length: Optional[int] = None,
            non_empty: bool = False, read_only: bool = False, reload: bool = False) -> Any:
    """A dataclass field with its meaning and limits.

    ``bounds``: inclusive (low, high) for a number; ``choices``: allowed strings; ``unset``: the
    parameter value that stands for None (the field's default is then None); ``length``: the size of
    a list of numbers; ``non_empty``: a string that must not be empty (a frame name);
    ``read_only``: fixed after start-up; ``reload``: changing it reloads something (the model).
    """
    metadata = {"description": description, "bounds": bounds, "choices": tuple(choices) if choices else None,
                "unset": unset, "length": length, "non_empty": non_empty, "read_only": read_only, "reload": reload}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class SettingInfo:
    """One setting as a node declares it: the parameter's default value (never None) and limits."""

    name: str
    default: Any
    description: str
    bounds: Optional[Tuple[float, float]]
    choices: Optional[Tuple[str, ...]]
    read_only: bool
    reload: bool


def _problem(name: str, value: Any, meta: Mapping[str, Any]) -> Optional[str]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return f"{name} must be a finite number, got {value}"
        bounds = meta.get("bounds")
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            return f"{name} must be in [{bounds[0]}, {bounds[1]}], got {value}"
        return None
    if isinstance(value, str):
        choices = meta.get("choices")
        if choices and value not in choices:
            return f"{name} must be one of {', '.join(choices)}, got {value!r}"
        if meta.get("non_empty") and not value.strip():
            return f"{name} must not be empty"
        return None
    if isinstance(value, AbcSequence):  # list, tuple, or the array.array rclpy gives for double arrays
        length = meta.get("length")
        if length is not None and len(value) != length:
            return f"{name} needs {length} numbers, got {len(value)}"
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value):
            return f"{name} must hold finite numbers, got {list(value)}"
    return None


@dataclass(frozen=True)
class Settings:
    """Base of the package's settings dataclasses (see the module docstring)."""

    def __post_init__(self) -> None:
        problems = [p for f in fields(self) if (p := _problem(f.name, getattr(self, f.name), f.metadata))]
        problems += self.consistency_problems() if not problems else []
        if problems:
            raise ParameterError("; ".join(problems))

    def consistency_problems(self) -> List[str]:
        """Rules between fields (a subclass adds its own); each problem is one sentence."""
        return []

    @classmethod
    def from_params(cls: Type[S], params: Mapping[str, Any]) -> S:
        """From node parameters or their YAML: fields not given keep their defaults, the ``unset``
        value becomes None, unknown names are ignored (they belong to the node, not to these settings)."""
        kwargs: Dict[str, Any] = {}
        for f in fields(cls):
            if f.name in params:
                value = params[f.name]
                unset = f.metadata.get("unset")
                if unset is not None and value is not None and not isinstance(value, bool) and value == unset:
                    value = None
                if isinstance(value, AbcSequence) and not isinstance(value, str):
                    value = list(value)  # array.array from rclpy, tuples from YAML: one type for comparisons
                kwargs[f.name] = value
        return cls(**kwargs)

    def updated(self: S, **changes: Any) -> S:
        """A validated copy with ``changes`` applied (raises ParameterError, leaving self untouched)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ParameterError(f"unknown parameters {sorted(unknown)}")
        return replace(self, **changes)

    def as_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def as_params(self) -> Dict[str, Any]:
        """As node parameters: None becomes the field's ``unset`` value."""
        return {f.name: f.metadata.get("unset") if getattr(self, f.name) is None else getattr(self, f.name)
                for f in fields(self)}

    @classmethod
    def infos(cls) -> List[SettingInfo]:
        out = []
        for f in fields(cls):
            if f.default is not MISSING:
                default = f.default
            elif f.default_factory is not MISSING:
                default = f.default_factory()
            else:
                raise TypeError(f"setting {f.name} of {cls.__name__} has no default")
            meta = f.metadata
            unset = meta.get("unset")
            out.append(SettingInfo(f.name, unset if default is None else default,
                                   meta.get("description", f.name.replace("_", " ")), meta.get("bounds"),
                                   meta.get("choices"), bool(meta.get("read_only")), bool(meta.get("reload"))))
        return out
