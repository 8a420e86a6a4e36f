"""Training labels for a user's own room without motion capture: a recorded drive -> keyframes ->
structure-from-motion (pycolmap) -> a metric, gravity-aligned map frame scaled by the car's camera
height -> a self-checked ``folder`` dataset. A desktop tool (pycolmap has no aarch64 or Python 3.8
wheels); nothing on the robot imports it."""

__all__ = ["cli", "pipeline"]
