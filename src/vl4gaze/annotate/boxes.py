"""The box rule: which known object lies under the gaze point.

When a source lists object boxes (GOO, GazeWorld, COCO-style instances), the gazed object is
the smallest box that contains the annotators' mean gaze point (small boxes sit in front of,
or on, large ones: a mug on a table); failing that, the box nearest to the point when it is
within ``tolerance`` (annotators click near small objects, not always on them); else none.
Distances are Euclidean in normalized image coordinates, 0 inside a box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vl4gaze.schema import Box, Point, SceneObject

#: Rule names written to ``Target.rule`` (and the side table).
CONTAINS = "box:contains"
NEAREST = "box:nearest"

#: Default tolerance for the nearest-box fallback, in normalized image units.
DEFAULT_TOLERANCE = 0.05


@dataclass(frozen=True)
class BoxPick:
    """The object the box rule chose, which rule fired and how far the point was."""

    object: SceneObject
    index: int
    rule: str
    distance: float


def point_box_distance(point: Point, box: Box) -> float:
    """Euclidean distance from ``point`` to the nearest point of ``box`` (0 inside it)."""
    dx = max(box.x1 - point.x, 0.0, point.x - box.x2)
    dy = max(box.y1 - point.y, 0.0, point.y - box.y2)
    return math.hypot(dx, dy)


def pick_object(
    point: Point,
    objects: Sequence[SceneObject],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> BoxPick | None:
    """The object under ``point``: smallest containing box, else nearest within tolerance.

    Ties (equal area or equal distance) go to the object listed first, so the choice is
    deterministic. Returns None when no box contains the point and none is close enough.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance={tolerance!r} must be >= 0")
    containing = [(obj.box.area, i) for i, obj in enumerate(objects) if obj.box.contains(point)]
    if containing:
        _, i = min(containing)
        return BoxPick(objects[i], i, CONTAINS, 0.0)
    near = [(point_box_distance(point, obj.box), i) for i, obj in enumerate(objects)]
    near = [(d, i) for d, i in near if d <= tolerance]
    if not near:
        return None
    distance, i = min(near)
    return BoxPick(objects[i], i, NEAREST, distance)


