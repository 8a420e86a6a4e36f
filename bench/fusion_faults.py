"""Fusion under odometry faults: regressor only vs odometry only vs fused, per fault kind.

Drives, ground truth and wheel odometry come from the synthetic world (loop-31, figure8-32,
waypoints-33, 120 s each, odometry at 50 Hz); faults are applied to the odometry as a real robot
produces them. Regressed poses carry errors like a real regressor's: a bias that varies smoothly
over the room (0.08 m per axis, 1.5 deg), white noise (0.10 m per axis, 3 deg) and 5 % gross
outliers (up to 1.5 m and 40 deg), at 10 Hz, arriving 100 ms after capture; their covariance is
the regressor's stated 0.15 m / 4 deg. Errors are of what the controller receives: the fused output
at the output clock's ticks (50 Hz), after every input that has arrived by then.

Pass criteria (issue #15): on every row the fused median is no worse than the regressor-only and
the odometry-only median; over the fault rows the median fused/regressor ratio is at most 0.5.

The cost lines compare the filter's per-input time with filterpy's bare Kalman update of the same
size, measured in the same run. Prints JSON; writes a PNG of the table when given --plot.
Run: PYTHONPATH=. .venv/bin/python bench/fusion_faults.py [--plot fusion_faults.png]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
from filterpy.kalman import KalmanFilter
from fusion import call_times  # bench/fusion.py: the same timing loop

from pose_regressor_node.fusion import FusionConfig, fuse_in_arrival_order
from pose_regressor_node.geometry import Pose, angle_diff, quat_from_yaw
from pose_regressor_node.measurements import OdometrySample, PoseEstimate
from pose_regressor_node.sim import demo_world, simulate_drive

CAMERA_HZ, LATENCY_S = 10.0, 0.1
BIAS_XY, BIAS_YAW = 0.08, math.radians(1.5)
NOISE_XY, NOISE_YAW = 0.10, math.radians(3.0)
OUTLIER_RATE = 0.05
STATED_XY, STATED_YAW = 0.15, math.radians(4.0)
DRIVES = (("loop", 31), ("figure8", 32), ("waypoints", 33))
DURATION_S = 120.0


# ----------------------------------------------------------------------------- the regressor
def bias_field(rng: np.random.Generator) -> Callable[[float, float], Tuple[float, float, float]]:
    """A smooth bias over the room: two low-frequency waves per component."""
    waves = rng.uniform(0.25, 0.6, (3, 2, 2)) * 2 * math.pi  # per component, per wave: kx, ky (rad/m)
    phases = rng.uniform(0, 2 * math.pi, (3, 2))
    amplitude = np.array([BIAS_XY, BIAS_XY, BIAS_YAW])

    def bias(x: float, y: float) -> Tuple[float, float, float]:
        values = [amplitude[c] * np.mean([math.sin(waves[c, w, 0] * x + waves[c, w, 1] * y + phases[c, w])
                                          for w in range(2)]) * math.sqrt(2) for c in range(3)]
        return values[0], values[1], values[2]

    return bias


def regressed_poses(drive, rng: np.random.Generator) -> List[PoseEstimate]:
    bias = bias_field(rng)
    step = int(round(50 / CAMERA_HZ))
    cov = np.diag([STATED_XY ** 2, STATED_XY ** 2, 0.01, 0.01, 0.01, STATED_YAW ** 2])
    out = []
    for k in range(0, len(drive.truth), step):
        truth = drive.truth.pose(k)
        bx, by, byaw = bias(truth.position[0], truth.position[1])
        if rng.random() < OUTLIER_RATE:
            offset, dyaw = rng.uniform(-1.5, 1.5, 2), rng.uniform(-0.7, 0.7)
        else:
            offset, dyaw = np.array([bx, by]) + rng.normal(0, NOISE_XY, 2), byaw + rng.normal(0, NOISE_YAW)
        pose = Pose.from_xyz_yaw(truth.position[0] + offset[0], truth.position[1] + offset[1], truth.yaw + dyaw)
        out.append(PoseEstimate(int(drive.truth.stamps_ns[k]), pose, cov))
    return out


# ----------------------------------------------------------------------------- odometry faults
def _rebuild(odometry: Sequence[OdometrySample], change: Callable[[int, Pose, np.ndarray], Tuple[Pose, np.ndarray]]
             ) -> List[OdometrySample]:
    """Re-integrate the odometry with each sample's increment (and twist) changed by ``change``."""
    out = [odometry[0]]
    pose = odometry[0].pose
    for k in range(1, len(odometry)):
        delta = odometry[k - 1].pose.inverse() @ odometry[k].pose
        delta, twist = change(k, delta, odometry[k].twist)
        pose = pose @ delta
        out.append(OdometrySample(odometry[k].stamp_ns, pose, twist, odometry[k].pose_covariance,
                                  odometry[k].twist_covariance))
    return out


def scaled(factor_at: Callable[[float], float]):
    def fault(odometry: Sequence[OdometrySample]) -> List[OdometrySample]:
        t0 = odometry[0].stamp_ns

        def change(k, delta, twist):
            f = factor_at((odometry[k].stamp_ns - t0) * 1e-9)
            return Pose(delta.position * f, delta.quaternion), np.concatenate([twist[:3] * f, twist[3:]])

        return _rebuild(odometry, change)
    return fault


def stuck(start_s: float, duration_s: float):
    def fault(odometry):
        t0 = odometry[0].stamp_ns

        def change(k, delta, twist):
            t = (odometry[k].stamp_ns - t0) * 1e-9
            return (Pose(), np.zeros(6)) if start_s <= t < start_s + duration_s else (delta, twist)

        return _rebuild(odometry, change)
    return fault


def yaw_jumps(times_s: Sequence[float], degrees: float = 20.0):
    def fault(odometry):
        t0 = odometry[0].stamp_ns
        jump_at = {int(np.argmin([abs((o.stamp_ns - t0) * 1e-9 - t) for o in odometry])): (-1) ** i
                   for i, t in enumerate(times_s)}

        def change(k, delta, twist):
            if k in jump_at:
                delta = Pose(delta.position, quat_from_yaw(jump_at[k] * math.radians(degrees))) @ delta
            return delta, twist

        return _rebuild(odometry, change)
    return fault


def restart(at_s: float):
    def fault(odometry):
        t0 = odometry[0].stamp_ns
        k0 = next(k for k, o in enumerate(odometry) if (o.stamp_ns - t0) * 1e-9 >= at_s)
        origin = odometry[k0].pose.inverse()
        return list(odometry[:k0]) + [OdometrySample(o.stamp_ns, origin @ o.pose, o.twist, o.pose_covariance,
                                                     o.twist_covariance) for o in odometry[k0:]]
    return fault


def dropout(start_s: float, duration_s: float):
    def fault(odometry):
        t0 = odometry[0].stamp_ns
        return [o for o in odometry if not start_s <= (o.stamp_ns - t0) * 1e-9 < start_s + duration_s]
    return fault


FAULTS: Dict[str, Callable] = {
    "scale 0.3x from the start": scaled(lambda t: 0.3),
    "scale 2x from the start": scaled(lambda t: 2.0),
    "scale collapsing to 0.1x at 40 s": scaled(lambda t: 1.0 if t < 40.0 else 0.1),
    "wheels stuck 5 s (30-35 s) while moving": stuck(30.0, 5.0),
    "20 deg yaw jumps at 20, 50, 80 s": yaw_jumps((20.0, 50.0, 80.0)),
    "restart to zero at 45 s": restart(45.0),
    "5 s dropout (60-65 s)": dropout(60.0, 5.0),
    "good odometry": list,
}


# ----------------------------------------------------------------------------- scoring
def _errors(stamps: Sequence[int], poses: Sequence[Pose], drive) -> np.ndarray:
    """(n, 2): planar position error (m) and |yaw error| (deg) against the truth sample nearest in time."""
    truth_ns = drive.truth.stamps_ns
    out = []
    for stamp, pose in zip(stamps, poses):
        k = int(np.clip(np.searchsorted(truth_ns, stamp), 1, len(truth_ns) - 1))
        k = k - 1 if abs(truth_ns[k - 1] - stamp) <= abs(truth_ns[k] - stamp) else k
        if abs(truth_ns[k] - stamp) > 10_000_000:
            continue
        truth = drive.truth.pose(k)
        out.append((float(np.hypot(*(pose.position[:2] - truth.position[:2]))),
                    abs(math.degrees(angle_diff(pose.yaw, truth.yaw)))))
    return np.array(out)


def row(drives, fault, config: FusionConfig, rng) -> Dict[str, np.ndarray]:
    errors: Dict[str, List[np.ndarray]] = {"regressor only": [], "odometry only": [], "fused": []}
    for drive in drives:
        poses = regressed_poses(drive, rng)
        odometry = fault(drive.odometry)
        start = drive.truth.pose(0) @ odometry[0].pose.inverse()
        errors["regressor only"].append(_errors([p.stamp_ns for p in poses], [p.pose for p in poses], drive))
        errors["odometry only"].append(_errors([o.stamp_ns for o in odometry], [start @ o.pose for o in odometry],
                                               drive))
        fused = fuse_in_arrival_order(odometry, poses, int(LATENCY_S * 1e9), config)
        errors["fused"].append(_errors(fused.stamps_ns, fused.poses, drive))
    return {k: np.concatenate(v) for k, v in errors.items()}


# ----------------------------------------------------------------------------- cost
def cost(drive, poses: List[PoseEstimate], config: FusionConfig) -> Dict[str, float]:
    """Median microseconds per add_odometry, per on-time add_pose and per 100 ms late add_pose, and a bare
    filterpy update of the same size, all in this run."""
    odom_t, pose_t = call_times(drive, poses, 0, config)
    _, late_t = call_times(drive, poses, int(LATENCY_S * 1e9), config)
    kf = KalmanFilter(dim_x=4, dim_z=3)
    kf.H = np.eye(3, 4)
    kf.R = np.eye(3) * 0.02
    z = np.zeros((3, 1))
    bare = []
    for _ in range(2000):
        kf.x, kf.P = np.zeros((4, 1)), np.eye(4) * 0.1
        start = time.perf_counter()
        kf.update(z)
        bare.append(time.perf_counter() - start)
    us = {"odometry_step_us": float(np.median(odom_t) * 1e6), "pose_update_us": float(np.median(pose_t) * 1e6),
          "pose_100ms_late_us": float(np.median(late_t) * 1e6), "filterpy_bare_update_us": float(np.median(bare) * 1e6)}
    us["odometry_step_over_filterpy"] = us["odometry_step_us"] / us["filterpy_bare_update_us"]
    us["pose_update_over_filterpy"] = us["pose_update_us"] / us["filterpy_bare_update_us"]
    us["pose_100ms_late_over_filterpy"] = us["pose_100ms_late_us"] / us["filterpy_bare_update_us"]
    us["p95_odometry_step_us"] = float(np.percentile(odom_t, 95) * 1e6)
    us["p95_pose_100ms_late_us"] = float(np.percentile(late_t, 95) * 1e6)
    return {k: round(v, 2) for k, v in us.items()}


def plot_table(table: Dict[str, Dict[str, float]], path: str) -> None:
    from pose_regressor_node.plots import plt, save_figure

    names = list(table)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.27
    for i, source in enumerate(("regressor only", "odometry only", "fused")):
        values = [min(table[n][source], 2.0) for n in names]
        ax.barh(np.arange(len(names)) + (i - 1) * width, values, height=width, label=source)
    ax.set_yticks(np.arange(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median position error (m, clipped at 2)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("fusion under odometry faults")
    save_figure(fig, path)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plot", default=None, help="write a bar chart of the table here (PNG)")
    args = parser.parse_args()
    world = demo_world()
    drives = [simulate_drive(world, kind, seed, duration_s=DURATION_S) for kind, seed in DRIVES]
    config = FusionConfig()
    table: Dict[str, Dict[str, float]] = {}
    for name, fault in FAULTS.items():
        errors = row(drives, fault, config, np.random.default_rng(7))
        table[name] = {source: round(float(np.median(e[:, 0])), 4) for source, e in errors.items()}
        table[name].update({f"{source} yaw deg": round(float(np.median(e[:, 1])), 2) for source, e in errors.items()})
        table[name]["fused / regressor"] = round(table[name]["fused"] / table[name]["regressor only"], 3)
        print(f"{name:<42} regressor {table[name]['regressor only']:.3f}  odometry {table[name]['odometry only']:.3f}"
              f"  fused {table[name]['fused']:.3f}", flush=True)
    fault_rows = [n for n in table if n != "good odometry"]
    ratios = [table[n]["fused / regressor"] for n in fault_rows]
    worse = [n for n in table if table[n]["fused"] > min(table[n]["regressor only"], table[n]["odometry only"])]
    rng = np.random.default_rng(7)
    result = {
        "bench": "fusion_faults", "drives": ", ".join(f"{k}-{s}" for k, s in DRIVES) + f", {DURATION_S:.0f} s each",
        "regressor_model": f"smooth bias {BIAS_XY} m / {math.degrees(BIAS_YAW):.1f} deg, noise {NOISE_XY} m / "
                           f"{math.degrees(NOISE_YAW):.0f} deg, {OUTLIER_RATE:.0%} outliers, {CAMERA_HZ:.0f} Hz, "
                           f"{LATENCY_S * 1e3:.0f} ms late",
        "median_position_error_m": table,
        "median_fused_over_regressor_on_fault_rows": round(float(np.median(ratios)), 3),
        "rows_where_fused_is_worse_than_an_input": worse,
        "pass": not worse and float(np.median(ratios)) <= 0.5,
        "cost": cost(drives[0], regressed_poses(drives[0], rng), config),
    }
    print(json.dumps(result, indent=2))
    if args.plot:
        plot_table(table, args.plot)
    return result


if __name__ == "__main__":
    main()
