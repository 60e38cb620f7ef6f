"""Coordinate conventions, gaze directions and angles.

Inside vl4gaze every coordinate is normalized ([0, 1], x right, y down). The helpers
here convert to and from the forms used at the edges (pixels, 0-1000 integers) and
turn an eye-to-gaze vector into one of the eight direction classes.

Angles follow the picture as a viewer sees it: 0 degrees points right, 90 up (towards
the top of the image, i.e. decreasing y), counter-clockwise, in [0, 360). Directions
are 45-degree sectors centred on right (0), upper right (45), up (90), ... and each
sector is half-open, [centre - 22.5, centre + 22.5), so every angle has exactly one.
"""

from __future__ import annotations

import math

from vl4gaze.schema import Box, Point

#: The eight direction classes, counter-clockwise from "right" (sector i is centred on i*45°).
DIRECTIONS: tuple[str, ...] = (
    "right",
    "upper right",
    "up",
    "upper left",
    "left",
    "lower left",
    "down",
    "lower right",
)
SECTOR_DEG = 360.0 / len(DIRECTIONS)
#: How a benchmark writes points in answers: normalized with 3 decimals, the 0-1000 grid,
#: or pixels of the original image.
POINT_FORMATS: tuple[str, ...] = ("norm", "norm1000", "pixel")


def to_pixels(point: Point, width: int, height: int) -> tuple[float, float]:
    """Normalized point -> pixel coordinates of a ``width`` x ``height`` image."""
    return (point.x * width, point.y * height)


def from_pixels(x: float, y: float, width: int, height: int) -> Point:
    """Pixel coordinates -> normalized point (clipped to the image)."""
    return Point(_clip01(x / width), _clip01(y / height))


def to_1000(point: Point) -> tuple[int, int]:
    """Normalized point -> the 0-1000 integer grid of Qwen2-VL / InternVL."""
    return (round(point.x * 1000), round(point.y * 1000))


def from_1000(x: float, y: float) -> Point:
    """0-1000 grid -> normalized point (clipped)."""
    return Point(_clip01(x / 1000), _clip01(y / 1000))


def format_point(x: float, y: float, fmt: str, width: int, height: int) -> str:
    """A normalized point in an answer format: ``(0.512, 0.337)``, ``(512, 337)``, pixels."""
    if fmt == "norm":
        return f"({x:.3f}, {y:.3f})"
    if fmt == "norm1000":
        return f"({round(x * 1000)}, {round(y * 1000)})"
    if fmt == "pixel":
        return f"({round(x * width)}, {round(y * height)})"
    raise ValueError(f"unknown point format {fmt!r}; expected one of {', '.join(POINT_FORMATS)}")


def box_to_pixels(box: Box, width: int, height: int) -> tuple[float, float, float, float]:
    return (box.x1 * width, box.y1 * height, box.x2 * width, box.y2 * height)


def box_from_pixels(
    x1: float, y1: float, x2: float, y2: float, width: int, height: int
) -> Box:
    """Pixel box -> normalized box; swapped corners are put in order, the box is clipped."""
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    return Box(
        _clip01(x1 / width), _clip01(y1 / height), _clip01(x2 / width), _clip01(y2 / height)
    )


def box_to_1000(box: Box) -> tuple[int, int, int, int]:
    return (*to_1000(Point(box.x1, box.y1)), *to_1000(Point(box.x2, box.y2)))


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either has no area).

    >>> box_iou(Box(0, 0, 0.2, 0.2), Box(0.1, 0, 0.3, 0.2))
    0.3333333333333333
    """
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def head_center(box: Box) -> Point:
    """The centre of a head box: where gaze starts when no eye point is known."""
    return box.center


def gaze_angle(origin: Point, target: Point, width: float = 1.0, height: float = 1.0) -> float:
    """Angle of the vector origin -> target in degrees, [0, 360), counter-clockwise from right.

    ``width`` and ``height`` scale the normalized axes to pixels so that the angle is the
    one seen in the picture; leave them at 1 for the normalized-space angle.
    Raises ValueError when the two points coincide (no direction).
    """
    dx = (target.x - origin.x) * width
    dy = (origin.y - target.y) * height  # image y grows downward
    if dx == 0 and dy == 0:
        raise ValueError("gaze point coincides with the eye point: no direction")
    angle = math.degrees(math.atan2(dy, dx)) % 360.0
    return 0.0 if angle >= 360.0 else angle  # a tiny negative angle rounds up to 360.0


def direction_of_angle(angle_deg: float) -> str:
    """The direction class whose half-open 45° sector holds ``angle_deg``."""
    shifted = (angle_deg + SECTOR_DEG / 2) % 360.0
    return DIRECTIONS[int(shifted // SECTOR_DEG) % len(DIRECTIONS)]


def gaze_direction(origin: Point, target: Point, width: float = 1.0, height: float = 1.0) -> str:
    """Direction class of the gaze from ``origin`` (eye or head centre) to ``target``."""
    return direction_of_angle(gaze_angle(origin, target, width, height))


def direction_center_deg(direction: str) -> float:
    """The angle at the centre of a direction's sector."""
    return DIRECTIONS.index(direction) * SECTOR_DEG


def direction_steps(a: str, b: str) -> int:
    """How many sectors apart two directions are (0..4); 1 means adjacent."""
    diff = abs(DIRECTIONS.index(a) - DIRECTIONS.index(b))
    return min(diff, len(DIRECTIONS) - diff)


def angle_between(u: tuple[float, float], v: tuple[float, float]) -> float:
    """Angle between two vectors in degrees, [0, 180]. Raises ValueError on a zero vector."""
    nu, nv = math.hypot(*u), math.hypot(*v)
    if nu == 0 or nv == 0:
        raise ValueError("angle with a zero-length vector is undefined")
    # Unit vectors first: nu * nv underflows to 0 for tiny (but non-zero) vectors.
    cos = (u[0] / nu) * (v[0] / nv) + (u[1] / nu) * (v[1] / nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))
