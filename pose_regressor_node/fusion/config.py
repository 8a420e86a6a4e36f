"""Parameters of the fusion filter; every one can change at runtime (``PoseFuser.configure``)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from ..errors import ParameterError

__all__ = ["FusionConfig"]


@dataclass(frozen=True)
class FusionConfig:
    two_d_mode: bool = True
    # Process noise. "config": standard deviations grow with distance and rotation travelled;
    # "odometry": from the odometry's twist covariance times the time step.
    process_noise: str = "config"
    noise_xy_per_m: float = 0.05  # m of position std per metre driven
    noise_yaw_per_rad: float = 0.1  # rad of yaw std per radian turned
    noise_yaw_per_m: float = 0.05  # rad of yaw std per metre driven (slip)
    noise_z_rp_per_m: float = 0.02  # 3-D mode: z (m) and roll/pitch (rad) std per metre
    noise_xy_per_s: float = 0.01  # floor, so that a stationary car's covariance never collapses
    noise_yaw_per_s: float = 0.02
    # Measurement noise override (None: use the covariance that comes with each regressed pose).
    measurement_std_xy: Optional[float] = None
    measurement_std_z: Optional[float] = None
    measurement_std_rot: Optional[float] = None
    # Outlier gating: squared Mahalanobis distance against the chi-square quantile of this probability.
    gate_probability: float = 0.999
    # Kidnapped robot: after this many consecutive rejected poses that agree, re-initialise.
    kidnap_rejections: int = 8
    kidnap_agreement_m: float = 0.3
    kidnap_agreement_deg: float = 15.0
    # Latency and time.
    history_s: float = 2.0
    time_jump_s: float = 5.0
    max_future_s: float = 0.5
    # Variance reported for quantities the planar filter does not estimate (never zero).
    planar_fixed_variance: float = 1e-4
    initial_std_xy: float = 0.5  # used when a reset gives no covariance
    initial_std_yaw: float = 0.3

    def __post_init__(self) -> None:
        problems = []
        if self.process_noise not in ("config", "odometry"):
            problems.append(f"process_noise must be 'config' or 'odometry', got {self.process_noise!r}")
        positive = ("noise_xy_per_s", "noise_yaw_per_s", "history_s", "time_jump_s", "planar_fixed_variance",
                    "initial_std_xy", "initial_std_yaw", "kidnap_agreement_m", "kidnap_agreement_deg")
        problems += [f"{name} must be > 0, got {getattr(self, name)}" for name in positive if not getattr(self, name) > 0]
        non_negative = ("noise_xy_per_m", "noise_yaw_per_rad", "noise_yaw_per_m", "noise_z_rp_per_m", "max_future_s")
        problems += [f"{name} must be >= 0, got {getattr(self, name)}" for name in non_negative
                     if not getattr(self, name) >= 0]
        for name in ("measurement_std_xy", "measurement_std_z", "measurement_std_rot"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                problems.append(f"{name} must be > 0 (or unset), got {value}")
        if not 0.5 <= self.gate_probability < 1.0:
            problems.append(f"gate_probability must be in [0.5, 1), got {self.gate_probability}")
        if self.kidnap_rejections < 2:
            problems.append(f"kidnap_rejections must be >= 2, got {self.kidnap_rejections}")
        if self.time_jump_s <= self.history_s:
            problems.append(f"time_jump_s ({self.time_jump_s}) must exceed history_s ({self.history_s})")
        if problems:
            raise ParameterError("; ".join(problems))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> FusionConfig:
        """From node parameters (or their YAML): fields not given keep their defaults; a
        ``measurement_std_*`` of 0 means no override (a ROS parameter cannot be None)."""
        kwargs = {}
        for f in fields(cls):
            if f.name in params:
                value = params[f.name]
                if f.name.startswith("measurement_std_"):
                    value = float(value) if value and float(value) > 0 else None
                kwargs[f.name] = value
        return cls(**kwargs)

    def updated(self, **changes: Any) -> FusionConfig:
        """A validated copy with ``changes`` applied (raises ParameterError, leaving self untouched)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ParameterError(f"unknown fusion parameters {sorted(unknown)}")
        return replace(self, **changes)

    def as_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def measurement_override(self) -> Tuple[Optional[float], Optional[float], Optional[float]]:
        return self.measurement_std_xy, self.measurement_std_z, self.measurement_std_rot
