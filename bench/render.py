"""Renderer throughput at 640x480 on one core, with a numpy baseline measured in the same run.

Baseline: the cost of one elementwise float32 pass over the image's ray array, so the ratio
(frame time / baseline pass time) is comparable across noisy shared machines.
Prints JSON. Run: PYTHONPATH=. .venv/bin/python bench/render.py
"""

from __future__ import annotations

import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from pose_regressor_node.geometry import Pose  # noqa: E402
from pose_regressor_node.sim import PinholeCamera, Renderer, default_extrinsic, demo_world, generate_trajectory  # noqa: E402


def main(frames: int = 150) -> dict:
    world = demo_world()
    renderer = Renderer(world, PinholeCamera(640, 480))
    traj = generate_trajectory(world, "waypoints", seed=21, duration_s=frames / 10.0)
    poses = [traj.pose(i) @ default_extrinsic() for i in range(0, len(traj), 5)][:frames]
    renderer.render(poses[0])
    start = time.perf_counter()
    for pose in poses:
        renderer.render(pose)
    per_frame = (time.perf_counter() - start) / len(poses)
    rays = np.random.default_rng(0).random((3, 480, 640), dtype=np.float32)
    start = time.perf_counter()
    for _ in range(50):
        np.multiply(rays, 1.5, out=rays)
    per_pass = (time.perf_counter() - start) / 50
    result = {
        "bench": "render", "resolution": "640x480", "frames": len(poses),
        "frames_per_s": round(1.0 / per_frame, 1), "ms_per_frame": round(per_frame * 1e3, 2),
        "baseline_numpy_pass_ms": round(per_pass * 1e3, 3), "frame_over_numpy_pass": round(per_frame / per_pass, 1),
        "target_frames_per_s": 30, "meets_target": 1.0 / per_frame >= 30,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    Pose()  # geometry import check
    main()
