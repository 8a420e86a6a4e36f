"""Parameters of the fusion filter; every one can change at runtime (``PoseFuser.configure``).

Process noise reads like robot_localization's, with motion-proportional terms added: standard
deviations grow per metre driven and per radian turned (what wheel odometry gets wrong) and per
square root of a second (what time alone adds: vibration, a car pushed by hand, unmodelled slip).
In 3-D mode the noise is isotropic in the odometry's own frame: no axis is assumed to be "up".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..settings import Settings, setting

__all__ = ["FusionConfig"]


@dataclass(frozen=True)
class FusionConfig(Settings):
    two_d_mode: bool = setting(True, "estimate x, y, yaw only (the car on a flat floor); false: full 3-D pose")
    # --- process noise while odometry drives the prediction
    process_noise: str = setting("config", "'config' (the noise_* parameters) or 'odometry' (the odometry twist "
                                 "covariance times the time step)", choices=("config", "odometry"))
    noise_xy_per_m: float = setting(0.05, "position std (m) per metre driven; 3-D: every axis", bounds=(0.0, 10.0))
    noise_yaw_per_rad: float = setting(0.1, "heading std (rad) per radian turned; 3-D: every rotation axis",
                                       bounds=(0.0, 10.0))
    noise_yaw_per_m: float = setting(0.05, "heading std (rad) per metre driven (slip); 3-D: every rotation axis",
                                     bounds=(0.0, 10.0))
    noise_xy_per_s: float = setting(0.02, "x and y std (m) per sqrt(s), also when stationary", bounds=(1e-6, 10.0))
    noise_yaw_per_s: float = setting(0.02, "yaw std (rad) per sqrt(s), also when stationary", bounds=(1e-6, 10.0))
    noise_z_per_s: float = setting(0.02, "3-D mode: z std (m) per sqrt(s)", bounds=(1e-6, 10.0))
    noise_roll_pitch_per_s: float = setting(0.02, "3-D mode: roll and pitch std (rad) per sqrt(s)", bounds=(1e-6, 10.0))
    # --- prediction without odometry (absent, stale or distrusted): constant velocity
    free_noise_xy_per_s: float = setting(0.5, "position std (m) per sqrt(s) when predicting without odometry "
                                         "(how fast the car can change its speed)", bounds=(1e-3, 100.0))
    free_noise_yaw_per_s: float = setting(0.5, "heading std (rad) per sqrt(s) when predicting without odometry",
                                          bounds=(1e-3, 100.0))
    velocity_window_s: float = setting(1.0, "without odometry the velocity is fitted to the regressed poses of this "
                                       "last stretch of time (s)", bounds=(0.1, 30.0))
    odometry_timeout_s: float = setting(0.3, "odometry older than this is absent: predict from the velocity",
                                        bounds=(0.02, 60.0))
    # --- odometry sanity and calibration
    max_speed: float = setting(3.0, "faster than this (m/s) between two odometry samples is a jump (a restart, "
                               "a glitch): the odometry reference is re-anchored, the fused pose does not move",
                               bounds=(0.01, 1e3))
    max_yaw_rate: float = setting(6.0, "turning faster than this (rad/s) between two odometry samples is a jump",
                                  bounds=(0.01, 1e3))
    estimate_odometry_scale: bool = setting(True, "estimate the odometry's distance scale online (tyre radius, "
                                            "visual-odometry scale drift)")
    odometry_scale_std: float = setting(0.1, "prior std of the log distance scale (0.1: about 10 %)",
                                        bounds=(1e-6, 10.0))
    odometry_scale_drift_per_m: float = setting(0.01, "log scale std per sqrt(metre) driven", bounds=(0.0, 10.0))
    # --- consistency monitoring and adaptation
    monitor_window_s: float = setting(2.0, "window over which odometry and regressed relative motion are compared (s)",
                                      bounds=(0.2, 30.0))
    monitor_min_poses: int = setting(8, "regressed poses a window needs before it is tested", bounds=(3, 1000))
    monitor_probability: float = setting(0.999, "chi-square probability of the relative-motion test",
                                         bounds=(0.5, 0.999999))
    monitor_fail_windows: int = setting(2, "failed windows in a row before odometry is distrusted", bounds=(1, 100))
    monitor_pass_windows: int = setting(3, "passed windows in a row before it is trusted again", bounds=(1, 100))
    max_noise_inflation: float = setting(100.0, "largest factor on the process noise while odometry is suspect "
                                         "(covariance matching)", bounds=(1.0, 1e6))
    # --- regressed poses
    measurement_std_xy: Optional[float] = setting(None, "xy measurement std override (m); 0: use each pose's "
                                                  "covariance", bounds=(1e-6, 100.0), unset=0.0)
    measurement_std_z: Optional[float] = setting(None, "z measurement std override (m); 0: use each pose's "
                                                 "covariance", bounds=(1e-6, 100.0), unset=0.0)
    measurement_std_rot: Optional[float] = setting(None, "rotation measurement std override (rad); 0: use each "
                                                   "pose's covariance", bounds=(1e-6, 100.0), unset=0.0)
    gate_probability: float = setting(0.999, "chi-square probability of the Mahalanobis gate for regressed poses",
                                      bounds=(0.5, 0.999999))
    init_poses: int = setting(3, "agreeing regressed poses needed to initialise (or re-initialise after the car "
                              "was moved)", bounds=(1, 100))
    kidnap_rejections: int = setting(8, "gated regressed poses within the window, agreeing with each other, that "
                                     "re-initialise the filter (the car was moved)", bounds=(2, 1000))
    # --- latency and time
    history_s: float = setting(2.0, "how long late poses and out-of-order odometry are still applied at their "
                               "stamp (s); older odometry means the clock jumped back (a looping bag): reset",
                               bounds=(0.05, 60.0))
    max_future_s: float = setting(0.5, "inputs stamped further than this ahead of the clock are refused (s)",
                                  bounds=(0.0, 60.0))
    # --- outputs
    publish_rate_hz: float = setting(50.0, "fused poses per second; each stamped with the time of the data it "
                                     "reflects", bounds=(0.1, 1000.0))
    max_extrapolation_s: float = setting(0.5, "without odometry, how far past the newest regressed pose the output "
                                         "is carried at the estimated velocity (s)", bounds=(0.0, 10.0))
    planar_fixed_variance: float = setting(1e-4, "variance reported for z, roll and pitch in 2-D mode (never zero)",
                                           bounds=(1e-12, 1e3))
    initial_std_xy: float = setting(0.5, "position std (m) of a reset that gives no covariance", bounds=(1e-6, 1e3))
    initial_std_yaw: float = setting(0.3, "yaw std (rad) of a reset that gives no covariance", bounds=(1e-6, 10.0))

    def consistency_problems(self) -> List[str]:
        if self.kidnap_rejections < self.init_poses:
            return [f"kidnap_rejections ({self.kidnap_rejections}) must be at least init_poses ({self.init_poses})"]
        return []

    @property
    def measurement_override(self) -> Tuple[Optional[float], Optional[float], Optional[float]]:
        return self.measurement_std_xy, self.measurement_std_z, self.measurement_std_rot
