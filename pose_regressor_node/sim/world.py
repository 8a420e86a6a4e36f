"""The synthetic indoor world: an axis-aligned room with box obstacles and unique textures.

Every surface gets its own procedurally generated texture sized to its real extent, so no two
places look alike (posters, doors and a parquet floor break the symmetry of the room). The same
seed always gives the same world, pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import cv2
import numpy as np

__all__ = ["Box", "Surface", "World", "build_world", "demo_world", "DEMO_SEED"]

DEMO_SEED = 20261122
PIXELS_PER_METRE = 96


@dataclass(frozen=True)
class Box:
    """An axis-aligned obstacle standing on the floor."""

    lo: Tuple[float, float, float]
    hi: Tuple[float, float, float]

    def contains_xy(self, x: float, y: float, margin: float = 0.0) -> bool:
        return (self.lo[0] - margin <= x <= self.hi[0] + margin) and (self.lo[1] - margin <= y <= self.hi[1] + margin)


@dataclass
class Surface:
    """One textured rectangle: texture texel (row, col) = world coordinates along (v_axis, u_axis)."""

    name: str
    u_axis: int
    v_axis: int
    origin_u: float
    origin_v: float
    texture: np.ndarray  # (H, W, 3) uint8 RGB
    shade: float  # fixed Lambert-like brightness of the face orientation


@dataclass
class World:
    size: Tuple[float, float, float]
    boxes: List[Box]
    surfaces: List[Surface] = field(default_factory=list)
    seed: int = 0

    def is_free(self, x: float, y: float, margin: float = 0.35) -> bool:
        """Whether a car can stand at (x, y): inside the walls and clear of every box."""
        sx, sy, _ = self.size
        if not (margin <= x <= sx - margin and margin <= y <= sy - margin):
            return False
        return not any(b.contains_xy(x, y, margin) for b in self.boxes)


def _value_noise(rng: np.random.Generator, shape: Tuple[int, int], octaves: int = 4) -> np.ndarray:
    """Smooth multi-octave noise in [0, 1] (upsampled random grids; no per-pixel Python loops)."""
    h, w = shape
    out = np.zeros((h, w), np.float32)
    amplitude, total = 1.0, 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((max(2, h * cells // max(h, w)), max(2, w * cells // max(h, w)))).astype(np.float32)
        out += amplitude * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amplitude
        amplitude *= 0.5
    out /= total
    return np.clip((out - out.min()) / max(1e-6, float(np.ptp(out))), 0.0, 1.0)


def _base_texture(rng: np.random.Generator, shape: Tuple[int, int], color: np.ndarray, contrast: float) -> np.ndarray:
    noise = _value_noise(rng, shape)[..., None]
    tex = color[None, None, :] * (1.0 - contrast + 2.0 * contrast * noise)
    return np.clip(tex, 0, 255).astype(np.uint8)


def _random_color(rng: np.random.Generator, lo: int = 40, hi: int = 230) -> np.ndarray:
    return rng.integers(lo, hi, size=3).astype(np.float32)


def _draw_poster(rng: np.random.Generator, tex: np.ndarray, x0: int, y0: int, w: int, h: int) -> None:
    """A high-contrast pattern: stripes, checkers, circles or random blocks, with a frame."""
    kind = int(rng.integers(0, 4))
    c1, c2 = tuple(int(v) for v in _random_color(rng, 0, 255)), tuple(int(v) for v in _random_color(rng, 0, 255))
    cv2.rectangle(tex, (x0, y0), (x0 + w, y0 + h), c1, -1)
    if kind == 0:
        step = int(rng.integers(6, 20))
        for i in range(0, w + h, 2 * step):
            cv2.line(tex, (x0 + i, y0), (x0 + i - h, y0 + h), c2, step // 2 + 1)
    elif kind == 1:
        step = int(rng.integers(8, 24))
        for yy in range(0, h, step):
            for xx in range((yy // step) % 2 * step, w, 2 * step):
                cv2.rectangle(tex, (x0 + xx, y0 + yy), (x0 + min(w, xx + step), y0 + min(h, yy + step)), c2, -1)
    elif kind == 2:
        for _ in range(int(rng.integers(3, 8))):
            center = (x0 + int(rng.integers(0, w)), y0 + int(rng.integers(0, h)))
            cv2.circle(tex, center, int(rng.integers(5, max(6, min(w, h) // 2))),
                       tuple(int(v) for v in _random_color(rng, 0, 255)), -1)
    else:
        for _ in range(int(rng.integers(4, 12))):
            a = (x0 + int(rng.integers(0, w)), y0 + int(rng.integers(0, h)))
            b = (x0 + int(rng.integers(0, w)), y0 + int(rng.integers(0, h)))
            cv2.rectangle(tex, a, b, tuple(int(v) for v in _random_color(rng, 0, 255)), -1)
    cv2.rectangle(tex, (x0, y0), (x0 + w, y0 + h), (20, 20, 20), 3)


def _wall_texture(rng: np.random.Generator, length_m: float, height_m: float, plain: bool = False) -> np.ndarray:
    shape = (int(height_m * PIXELS_PER_METRE), int(length_m * PIXELS_PER_METRE))
    tex = _base_texture(rng, shape, _random_color(rng, 120, 230), contrast=0.02 if plain else 0.15)
    if plain:  # a freshly painted wall: nothing for features to hold on to
        return tex
    # Skirting board at the bottom (texture row 0 is the floor: v runs upwards along z).
    cv2.rectangle(tex, (0, 0), (shape[1], int(0.08 * PIXELS_PER_METRE)), (60, 50, 40), -1)
    if rng.random() < 0.7:  # a door
        dw, dh = int(0.9 * PIXELS_PER_METRE), int(min(2.05, height_m - 0.2) * PIXELS_PER_METRE)
        dx = int(rng.integers(0, max(1, shape[1] - dw)))
        color = tuple(int(v) for v in _random_color(rng, 60, 160))
        cv2.rectangle(tex, (dx, 0), (dx + dw, dh), color, -1)
        cv2.rectangle(tex, (dx, 0), (dx + dw, dh), (30, 30, 30), 4)
        cv2.circle(tex, (dx + dw - 12, dh // 2), 6, (220, 200, 60), -1)
    for _ in range(max(2, int(length_m * 1.2))):  # posters at eye level and above
        pw, ph = int(rng.integers(30, 110)), int(rng.integers(30, 110))
        px = int(rng.integers(0, max(1, shape[1] - pw)))
        py = int(rng.integers(int(0.25 * PIXELS_PER_METRE), max(int(0.3 * PIXELS_PER_METRE) + 1, shape[0] - ph - 5)))
        _draw_poster(rng, tex, px, py, pw, ph)
    return tex


def _floor_texture(rng: np.random.Generator, sx: float, sy: float) -> np.ndarray:
    shape = (int(sy * PIXELS_PER_METRE), int(sx * PIXELS_PER_METRE))
    tex = _base_texture(rng, shape, _random_color(rng, 90, 180), contrast=0.3)
    plank = int(0.2 * PIXELS_PER_METRE)
    for row, y in enumerate(range(0, shape[0], plank)):
        cv2.line(tex, (0, y), (shape[1], y), (40, 30, 20), 1)
        offset = int(rng.integers(0, 3 * plank)) + row * plank
        for x in range(offset % (4 * plank), shape[1], 4 * plank):
            cv2.line(tex, (x, y), (x, y + plank), (40, 30, 20), 1)
    for _ in range(int(sx * sy)):  # rugs and marks
        _draw_poster(rng, tex, int(rng.integers(0, shape[1] - 60)), int(rng.integers(0, shape[0] - 60)),
                     int(rng.integers(20, 60)), int(rng.integers(20, 60)))
    return tex


def _box_texture(rng: np.random.Generator, width_m: float, height_m: float, color: np.ndarray) -> np.ndarray:
    shape = (max(4, int(height_m * PIXELS_PER_METRE)), max(4, int(width_m * PIXELS_PER_METRE)))
    tex = _base_texture(rng, shape, color, contrast=0.25)
    cv2.rectangle(tex, (0, 0), (shape[1] - 1, shape[0] - 1), (25, 25, 25), 3)
    cv2.line(tex, (0, 0), (shape[1] - 1, shape[0] - 1), (25, 25, 25), 2)
    return tex


def _place_boxes(rng: np.random.Generator, size: Tuple[float, float, float], count: int) -> List[Box]:
    """Boxes near the walls, so that the middle of the room stays drivable."""
    sx, sy, _ = size
    boxes: List[Box] = []
    for _ in range(200):
        if len(boxes) == count:
            break
        w, d, h = rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8), rng.uniform(0.3, 1.2)
        side = int(rng.integers(0, 4))
        along = rng.uniform(0.3, (sx if side < 2 else sy) - 1.1)
        gap = rng.uniform(0.05, 0.3)
        if side == 0:
            lo = (along, gap)
        elif side == 1:
            lo = (along, sy - gap - d)
        elif side == 2:
            lo = (gap, along)
        else:
            lo = (sx - gap - w, along)
        box = Box((lo[0], lo[1], 0.0), (lo[0] + w, lo[1] + d, h))
        if all(not (box.lo[0] < b.hi[0] + 0.3 and b.lo[0] < box.hi[0] + 0.3 and box.lo[1] < b.hi[1] + 0.3
                    and b.lo[1] < box.hi[1] + 0.3) for b in boxes):
            boxes.append(box)
    return boxes


def build_world(seed: int, size: Tuple[float, float, float] = (6.0, 4.0, 2.5), n_boxes: int = 4,
                texture: str = "rich") -> World:
    """Generate a room; surfaces are listed room first (floor, ceiling, 4 walls), then box faces.

    ``texture="plain"``: the same room with plain painted walls (no posters, no doors), the case
    where structure-from-motion fails and ``label`` must say so.
    """
    if texture not in ("rich", "plain"):
        raise ValueError(f"texture must be 'rich' or 'plain', got {texture!r}")
    plain = texture == "plain"
    rng = np.random.default_rng(seed)
    sx, sy, sz = size
    world = World(size=(float(sx), float(sy), float(sz)), boxes=_place_boxes(rng, size, n_boxes), seed=seed)
    # (name, u_axis, v_axis, texture, shade); walls have v along z so row 0 touches the floor.
    world.surfaces += [
        Surface("floor", 0, 1, 0.0, 0.0, _floor_texture(rng, sx, sy), 0.75),
        Surface("ceiling", 0, 1, 0.0, 0.0, _base_texture(rng, (int(sy * 32), int(sx * 32)),
                                                         _random_color(rng, 180, 240), 0.1), 1.0),
        Surface("wall_y0", 0, 2, 0.0, 0.0, _wall_texture(rng, sx, sz, plain), 0.9),
        Surface("wall_y1", 0, 2, 0.0, 0.0, _wall_texture(rng, sx, sz, plain), 0.8),
        Surface("wall_x0", 1, 2, 0.0, 0.0, _wall_texture(rng, sy, sz, plain), 0.95),
        Surface("wall_x1", 1, 2, 0.0, 0.0, _wall_texture(rng, sy, sz, plain), 0.7),
    ]
    for index, box in enumerate(world.boxes):
        color = _random_color(rng, 50, 220)
        w, d, h = (box.hi[i] - box.lo[i] for i in range(3))
        for axis, (u_axis, v_axis, shade) in enumerate(((1, 2, 0.85), (0, 2, 0.95), (0, 1, 1.0))):
            extent_u, extent_v = (w, d, h)[u_axis], (w, d, h)[v_axis]
            tex = _box_texture(rng, extent_u, extent_v, color)
            world.surfaces.append(Surface(f"box{index}_axis{axis}", u_axis, v_axis,
                                          box.lo[u_axis], box.lo[v_axis], tex, shade))
    return world


def demo_world() -> World:
    """The fixed demo room: the demo model is trained on it and `make demo` drives through it."""
    return build_world(DEMO_SEED)
