"""Ray-cast renderer of the synthetic room: exact perspective, per-pixel nearest-hit occlusion.

Vectorised over pixels with numpy: one ray per pixel is intersected with the room's six planes
(slab exit) and with each box (slab entry), limited to the box's projected bounding rectangle so
that obstacles cost only the pixels they can cover. Texture lookup is a single gather from one
atlas holding every surface.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from ..geometry import Pose
from .camera import PinholeCamera
from .world import PIXELS_PER_METRE, World

__all__ = ["Renderer", "RenderOptions", "frame_options"]

_BAND_ROWS = 48  # 48 x 640 float32 temporaries (120 KB) stay in L2

# Corner indices (x, y, z bits as in Renderer._box_window) joined by the 12 edges of a box.
_BOX_EDGES = np.array([(i, i | bit) for i in range(8) for bit in (1, 2, 4) if not i & bit])


@dataclass(frozen=True)
class RenderOptions:
    """Photometric effects; all off by default so that ground truth images are exact."""

    exposure: float = 1.0  # multiplies brightness
    blur_sigma_px: float = 0.0  # Gaussian blur (defocus / motion)
    noise_std: float = 0.0  # sensor noise, in 8-bit levels


def frame_options(stamp_ns: int, realistic: bool) -> RenderOptions:
    """Slow auto-exposure drift, slight defocus and sensor noise, as a cheap camera shows."""
    if not realistic:
        return RenderOptions()
    t = stamp_ns * 1e-9
    return RenderOptions(exposure=1.0 + 0.12 * math.sin(0.4 * t) + 0.05 * math.sin(2.3 * t),
                         blur_sigma_px=0.6, noise_std=2.0)


class Renderer:
    """Render RGB uint8 images of ``world`` seen by ``camera`` at given camera-to-world poses."""

    def __init__(self, world: World, camera: PinholeCamera = PinholeCamera()) -> None:
        self.world = world
        self.camera = camera
        rays = camera.ray_grid()  # (H, W, 3)
        self._rays_planar = np.ascontiguousarray(rays.reshape(-1, 3).T)  # (3, H*W)
        self._ray_norm = np.linalg.norm(rays, axis=-1)
        # Each face's fixed shading is baked into its texels, so rendering gathers final colours.
        textures = [np.clip(s.texture.reshape(-1, 3) * s.shade + 0.5, 0, 255).astype(np.uint8)
                    for s in world.surfaces]
        self._atlas = np.concatenate(textures, axis=0)
        sizes = np.array([t.shape[0] for t in textures])
        self._offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
        self._tex_w = np.array([s.texture.shape[1] for s in world.surfaces], np.int32)
        self._tex_h = np.array([s.texture.shape[0] for s in world.surfaces], np.int32)
        self._ppm = np.array([s.texture.shape[1] / self._extent(s) for s in world.surfaces], np.float32)
        self._u_is_x = np.array([s.u_axis == 0 for s in world.surfaces])
        self._v_is_y = np.array([s.v_axis == 1 for s in world.surfaces])
        self._origin_u = np.array([s.origin_u for s in world.surfaces], np.float32)
        self._origin_v = np.array([s.origin_v for s in world.surfaces], np.float32)
        self._lo = np.zeros(3, np.float32)  # room bounds
        self._hi = np.array(world.size, np.float32)

    def _extent(self, surface) -> float:
        """Metres covered by the texture along u (ceiling textures are coarser than walls)."""
        if surface.name.startswith("box"):
            return surface.texture.shape[1] / PIXELS_PER_METRE
        return self.world.size[surface.u_axis]

    def render_depth(self, camera_pose: Pose) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per pixel: ray length t (camera z = 1 units, i.e. depth), surface index, world rays (3, H, W)."""
        bands = [self._trace_band(camera_pose, windows, r0, r1)
                 for windows, r0, r1 in self._bands(camera_pose)]
        return (np.concatenate([b[0] for b in bands]), np.concatenate([b[1] for b in bands]),
                np.concatenate([b[2] for b in bands], axis=1))

    def _bands(self, camera_pose: Pose):
        """Row bands small enough for the temporaries to stay in cache, with each box's window."""
        windows = [self._box_window(box, camera_pose) for box in self.world.boxes]
        for r0 in range(0, self.camera.height, _BAND_ROWS):
            yield windows, r0, min(self.camera.height, r0 + _BAND_ROWS)

    def _trace_band(self, camera_pose: Pose, windows, r0: int, r1: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Depth, surface index and world rays for image rows r0:r1 (channel-planar arrays)."""
        rot = camera_pose.rotation.astype(np.float32)
        origin = camera_pose.position.astype(np.float32)
        w = self.camera.width
        rays = (rot @ self._rays_planar[:, r0 * w:r1 * w]).reshape(3, r1 - r0, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / rays
            # Inside the room one of the two planes of each axis is ahead (t > 0), the other behind.
            t_axes = np.maximum((self._lo[:, None, None] - origin[:, None, None]) * inv,
                                (self._hi[:, None, None] - origin[:, None, None]) * inv)
        # room surfaces: floor 0, ceiling 1, wall_y0 2, wall_y1 3, wall_x0 4, wall_x1 5
        depth = t_axes[0]
        surface = np.where(rays[0] > 0, np.int16(5), np.int16(4))
        for axis, (neg, pos) in ((1, (2, 3)), (2, (0, 1))):
            closer = t_axes[axis] < depth
            depth = np.where(closer, t_axes[axis], depth)
            surface = np.where(closer, np.where(rays[axis] > 0, np.int16(pos), np.int16(neg)), surface)
        for index, (box, window) in enumerate(zip(self.world.boxes, windows)):
            if window is None or window[1] <= r0 or window[0] >= r1:
                continue
            local = (max(window[0], r0) - r0, min(window[1], r1) - r0, window[2], window[3])
            self._intersect_box(index, box, local, origin, inv, depth, surface)
        return depth, surface, rays

    def _intersect_box(self, index: int, box, window: Tuple[int, int, int, int], origin: np.ndarray,
                       inv: np.ndarray, depth: np.ndarray, surface: np.ndarray) -> None:
        """Slab test inside the box's window; updates depth and surface in place where it is nearer."""
        r0, r1, c0, c1 = window
        t_min, t_max = [], []
        with np.errstate(invalid="ignore"):
            for axis in range(3):
                sub_inv = inv[axis, r0:r1, c0:c1]
                t1 = (box.lo[axis] - origin[axis]) * sub_inv
                t2 = (box.hi[axis] - origin[axis]) * sub_inv
                t_min.append(np.minimum(t1, t2))
                t_max.append(np.maximum(t1, t2))
            t_near = np.maximum(np.maximum(t_min[0], t_min[1]), t_min[2])
            t_far = np.minimum(np.minimum(t_max[0], t_max[1]), t_max[2])
            sub_depth = depth[r0:r1, c0:c1]
            hit = (t_near <= t_far) & (t_near > 0) & (t_near < sub_depth)
        if not hit.any():
            return
        face = np.where(t_min[0] == t_near, 0, np.where(t_min[1] == t_near, 1, 2)).astype(np.int16)
        sub_depth[hit] = t_near[hit]
        surface[r0:r1, c0:c1][hit] = 6 + 3 * index + face[hit]

    def _box_window(self, box, camera_pose: Pose) -> Optional[Tuple[int, int, int, int]]:
        """Pixel rectangle that can see the box, or None when it is wholly behind the camera.

        The box is clipped against the plane just in front of the camera (its 12 edges), so a
        box beside the car costs only the pixels it covers, not the whole image.
        """
        corners = np.array([[x, y, z] for x in (box.lo[0], box.hi[0]) for y in (box.lo[1], box.hi[1])
                            for z in (box.lo[2], box.hi[2])])
        cam = (corners - camera_pose.position) @ camera_pose.rotation  # world -> optical frame
        near = 1e-2
        front = cam[cam[:, 2] > near]
        if len(front) == 0:
            return None
        a, b = cam[_BOX_EDGES[:, 0]], cam[_BOX_EDGES[:, 1]]
        crossing = (a[:, 2] - near) * (b[:, 2] - near) < 0
        if crossing.any():
            a, b = a[crossing], b[crossing]
            t = (near - a[:, 2]) / (b[:, 2] - a[:, 2])
            front = np.concatenate([front, a + t[:, None] * (b - a)])
        h, w = self.camera.height, self.camera.width
        u = self.camera.fx * front[:, 0] / front[:, 2] + self.camera.cx
        v = self.camera.fy * front[:, 1] / front[:, 2] + self.camera.cy
        c0, c1 = int(max(0, np.floor(u.min()))), int(min(w, np.ceil(u.max()) + 1))
        r0, r1 = int(max(0, np.floor(v.min()))), int(min(h, np.ceil(v.max()) + 1))
        return None if c0 >= c1 or r0 >= r1 else (r0, r1, c0, c1)

    def render(self, camera_pose: Pose, options: RenderOptions = RenderOptions(),
               rng: Optional[np.random.Generator] = None) -> np.ndarray:
        """RGB uint8 (H, W, 3). ``rng`` is needed only when ``options.noise_std > 0``."""
        if options.noise_std > 0 and rng is None:
            raise ValueError("sensor noise needs an explicit rng so that renders stay reproducible")
        exact = options.blur_sigma_px <= 0 and options.noise_std <= 0
        image = np.empty((self.camera.height, self.camera.width, 3), np.uint8 if exact else np.float32)
        for windows, r0, r1 in self._bands(camera_pose):
            depth, surface, rays = self._trace_band(camera_pose, windows, r0, r1)
            color = self._texture(camera_pose, depth, surface, rays)
            # A gentle fall-off with distance from the camera (a head lamp), times the exposure.
            distance = depth * self._ray_norm[r0:r1]
            gain = np.float32(options.exposure) / (1.0 + 0.04 * distance * distance)
            if exact:  # cv2 rounds and saturates to uint8 in the same pass
                image[r0:r1] = cv2.multiply(color, cv2.merge([gain, gain, gain]), dtype=cv2.CV_8U)
            else:
                np.multiply(color, gain[..., None], out=image[r0:r1])
        if exact:
            return image
        if options.blur_sigma_px > 0:
            image = cv2.GaussianBlur(image, (0, 0), options.blur_sigma_px)
        if options.noise_std > 0 and rng is not None:  # checked non-None on entry when noise is asked for
            image += rng.normal(0.0, options.noise_std, size=image.shape).astype(np.float32)
        return np.clip(image + 0.5, 0, 255).astype(np.uint8)

    def _texture(self, camera_pose: Pose, depth: np.ndarray, surface: np.ndarray, rays: np.ndarray) -> np.ndarray:
        """Texel colour (uint8, shading baked in) where each ray hits its surface."""
        origin = camera_pose.position.astype(np.float32)
        points = [origin[axis] + rays[axis] * depth for axis in range(3)]
        u = np.where(self._u_is_x[surface], points[0], points[1]) - self._origin_u[surface]
        v = np.where(self._v_is_y[surface], points[1], points[2]) - self._origin_v[surface]
        ppm, tex_w = self._ppm[surface], self._tex_w[surface]
        col = np.minimum(np.maximum((u * ppm).astype(np.int32), 0), tex_w - 1)
        row = np.minimum(np.maximum((v * ppm).astype(np.int32), 0), self._tex_h[surface] - 1)
        return self._atlas[self._offset[surface] + row * tex_w + col]
