"""Ground-truth overlays of an item as SVG-ready shapes: drawn by the report's gallery and
by the review tool alike, so a reviewer sees exactly what the report shows.

Each shape is a dict with ``kind`` (``rect``, ``dot``, ``arrow``), a CSS ``cls``, a
``color`` and pixel coordinates in the item's own image size.
"""

from __future__ import annotations

import math
from typing import Any

from vl4gaze.schema import QAItem
from vl4gaze.tasks import registry
from vl4gaze.tasks.refs import MARKERS
from vl4gaze.tasks.social import PairTarget

TRUE_COLOR = "#00e676"
HEAD_COLOR = "#ffd600"


def arrow(x1: float, y1: float, x2: float, y2: float, size: float) -> dict[str, Any]:
    """A line with a filled triangular head, as SVG coordinates."""
    angle = math.atan2(y2 - y1, x2 - x1)
    left = (x2 - size * math.cos(angle - 0.45), y2 - size * math.sin(angle - 0.45))
    right = (x2 - size * math.cos(angle + 0.45), y2 - size * math.sin(angle + 0.45))
    head = f"{x2:.1f},{y2:.1f} {left[0]:.1f},{left[1]:.1f} {right[0]:.1f},{right[1]:.1f}"
    return {"x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1),
            "head": head}


def _xy(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        return float(value[0]), float(value[1])
    return None


def origin_of(item: QAItem) -> tuple[float, float] | None:
    """Where the gaze starts: the target's eye point, or the head box centre."""
    eye = _xy(item.target.get("eye"))
    if eye is None and item.person_head is not None:
        eye = item.person_head.center.as_tuple()
    return eye


def _truth_arrow(origin: tuple[float, float], gaze: tuple[float, float], w: int, h: int,
                 color: str) -> list[dict[str, Any]]:
    """The true gaze as an arrow from the eye ending at the rim of a dot on the target."""
    side = max(w, h)
    shapes: list[dict[str, Any]] = []
    x1, y1, x2, y2 = origin[0] * w, origin[1] * h, gaze[0] * w, gaze[1] * h
    length = math.hypot(x2 - x1, y2 - y1)
    stop = side * 0.018  # end at the gaze dot's rim, so the dot does not hide the head
    if length > 2 * stop:
        x2, y2 = x2 - (x2 - x1) * stop / length, y2 - (y2 - y1) * stop / length
        shapes.append({"kind": "arrow", "cls": "truth", "color": color,
                       "width": round(side * 0.008, 1), **arrow(x1, y1, x2, y2, side * 0.035)})
    shapes.append({"kind": "dot", "cls": "truth", "color": color,
                   "cx": round(gaze[0] * w, 1), "cy": round(gaze[1] * h, 1),
                   "r": round(side * 0.018, 1)})
    return shapes


def _pair_target(item: QAItem) -> PairTarget | None:
    """The typed target of a question about two people (None for the other tasks)."""
    kind = registry.get(item.task).target_type
    return registry.target_of(item) if kind and issubclass(kind, PairTarget) else None


def _pair_shapes(target: PairTarget, w: int, h: int) -> list[dict[str, Any]]:
    """A two-person item: each head in its marker colour and each person's true gaze
    arrow."""
    shapes: list[dict[str, Any]] = []
    for (x1, y1, x2, y2), gaze, marker in zip(target.heads, target.gazes, MARKERS,
                                              strict=False):
        color = "#{:02x}{:02x}{:02x}".format(*marker.rgb)
        shapes.append({"kind": "rect", "cls": "head", "color": color,
                       "x": round(x1 * w, 1), "y": round(y1 * h, 1),
                       "w": round((x2 - x1) * w, 1), "h": round((y2 - y1) * h, 1)})
        if gaze is not None:
            shapes += _truth_arrow(((x1 + x2) / 2, (y1 + y2) / 2), gaze, w, h, color)
    return shapes


def truth_shapes(item: QAItem, w: int, h: int) -> list[dict[str, Any]]:
    """Ground-truth overlays of one item: head box, gaze arrow and points, object box
    (both people's heads and gaze arrows for a question about two)."""
    pair = _pair_target(item)
    if pair is not None:
        return _pair_shapes(pair, w, h)
    shapes: list[dict[str, Any]] = []
    side = max(w, h)
    if item.person_head is not None:
        b = item.person_head
        shapes.append({"kind": "rect", "cls": "head", "color": HEAD_COLOR,
                       "x": round(b.x1 * w, 1), "y": round(b.y1 * h, 1),
                       "w": round(b.width * w, 1), "h": round(b.height * h, 1)})
    target = item.target
    box = target.get("box")
    if isinstance(box, list | tuple) and len(box) == 4:
        x1, y1, x2, y2 = (float(v) for v in box)
        shapes.append({"kind": "rect", "cls": "object", "color": TRUE_COLOR,
                       "x": round(x1 * w, 1), "y": round(y1 * h, 1),
                       "w": round((x2 - x1) * w, 1), "h": round((y2 - y1) * h, 1)})
    gaze = _xy(target.get("mean")) or _xy(target.get("gaze"))
    origin = origin_of(item)
    for p in target.get("points") or []:
        q = _xy(p)
        if q is not None:
            shapes.append({"kind": "dot", "cls": "annotator", "color": TRUE_COLOR,
                           "cx": round(q[0] * w, 1), "cy": round(q[1] * h, 1),
                           "r": round(side * 0.008, 1)})
    if gaze is not None and origin is not None:
        shapes += _truth_arrow(origin, gaze, w, h, TRUE_COLOR)
    elif gaze is not None:
        shapes.append({"kind": "dot", "cls": "truth", "color": TRUE_COLOR,
                       "cx": round(gaze[0] * w, 1), "cy": round(gaze[1] * h, 1),
                       "r": round(side * 0.018, 1)})
    return shapes
