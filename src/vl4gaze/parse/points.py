"""Extract one gaze point from a free-form VLM answer, in any coordinate convention.

Two steps, each reported in ``ParsedPoint.rule`` as ``"<pattern>:<scale>"``:

1. *Pattern* — the first of these that matches, in this order (formats that carry
   their own scale come first, so they are never mistaken for plain numbers):

   ``paligemma``  ``<locYYYY><locXXXX>`` (two tokens: a point; four: a box, its centre)
   ``molmo``      ``<point x="61.5" y="40.6">`` / ``<points x1="..." y1="...">`` (first point)
   ``qwen2_box``  ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>`` (centre)
   ``internvl_box`` ``<box>[[x1, y1, x2, y2]]</box>`` (centre)
   ``point_2d`` / ``bbox_2d``  Qwen JSON keys (a box gives its centre)
   ``tuple`` / ``box``  the first bracketed pair ``(0.41, 0.63)`` / ``[x1, y1, x2, y2]``
   ``named``      ``x=0.41, y=0.63``, ``"x": 0.41``, ``x-coordinate is 0.41 ...``
   ``pair``       a bare ``0.41, 0.63``
   ``loose``      the answer holds exactly two numbers

2. *Scale* — tags carry theirs (``bins1024``, ``percent``, ``norm1000``). For plain
   numbers an explicit convention decides (``norm``, ``norm1000``, ``pixel`` /
   ``qwen2.5-vl`` divide by ``image_size``, ``percent`` / ``molmo`` by 100); a ``%``
   sign always means percent. With ``convention="auto"`` the numbers decide, helped
   by ``hint`` (the format the question asked for): all within [0, 1] (give or take
   5 %), or fractions below 10 -> ``norm``
   (unless they are the integers 0/1 and the hint says otherwise); hint ``pixel`` with
   an image size -> ``pixel``; all within 1000 -> ``norm1000``; within the image size ->
   ``pixel``; otherwise no parse.

A point more than 5 % outside the image under the chosen scale is no parse; a point
slightly outside is clipped to [0, 1]. ``parse_point`` never raises: any failure is
``None``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vl4gaze.parse.conventions import check_convention

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_SEP = r"\s*[,;]\s*"
_PCT = r"(\s*%)?"

_LOC = re.compile(r"<loc(\d{4})>")
_TAG = re.compile(r"<(points?)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"([a-z]+\d*)\s*=\s*[\"']?(" + _NUM + r")", re.IGNORECASE)
_QWEN2_BOX = re.compile(
    r"<\|box_start\|>\s*\(\s*(" + _NUM + r")" + _SEP + r"(" + _NUM + r")\s*\)"
    r"(?:\s*,?\s*\(\s*(" + _NUM + r")" + _SEP + r"(" + _NUM + r")\s*\))?"
)
_INTERNVL_BOX = re.compile(
    r"<box>\s*\[\s*\[\s*(" + _NUM + r")" + _SEP + r"(" + _NUM + r")"
    + _SEP + r"(" + _NUM + r")" + _SEP + r"(" + _NUM + r")\s*\]",
)
_JSON_KEY = re.compile(
    r"[\"']?(point_2d|bbox_2d)[\"']?\s*:\s*\[\s*(" + _NUM + r")" + _SEP + r"(" + _NUM + r")"
    r"(?:" + _SEP + r"(" + _NUM + r")" + _SEP + r"(" + _NUM + r"))?\s*\]",
    re.IGNORECASE,
)
_BRACKETED = re.compile(
    r"[(\[{]\s*(" + _NUM + r")" + _PCT + _SEP + r"(" + _NUM + r")" + _PCT
    + r"(?:" + _SEP + r"(" + _NUM + r")" + _PCT + _SEP + r"(" + _NUM + r")" + _PCT + r")?"
    + r"\s*[)\]}]"
)
_NAMED = re.compile(
    r"(?<![a-z0-9_])([xy])(?![a-z0-9])"
    r"(?:[\s_-]*(?:coord(?:inate)?s?|value|position|pos|axis))?"
    r"[\s\"'`*_]*(?:is|=|:|of|at|equals|≈|~)?[\s\"'`*_:=]*"
    r"(?:about|approximately|approx\.?|around|roughly|~|≈)?\s*"
    r"(" + _NUM + r")" + _PCT,
    re.IGNORECASE,
)
_PAIR = re.compile(r"(?<![\w.])(" + _NUM + r")" + _PCT + r"\s*,\s*(" + _NUM + r")" + _PCT)
_ANY_NUM = re.compile(r"(?<![\w.])(" + _NUM + r")" + _PCT)

_DIVISORS = {"norm": 1.0, "norm1000": 1000.0, "percent": 100.0, "bins1024": 1024.0}
_FIXED_SCALE = {"norm": "norm", "norm1000": "norm1000", "pixel": "pixel",
                "qwen2.5-vl": "pixel", "percent": "percent", "molmo": "percent"}

#: How far outside the image (in normalized units) a point may fall and still be clipped.
OUTSIDE_TOLERANCE = 0.05


@dataclass(frozen=True)
class ParsedPoint:
    """A normalized point read from an answer, with the rule that produced it."""

    x: float
    y: float
    rule: str

    def as_tuple(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass(frozen=True)
class _Match:
    """Raw numbers found by a pattern, before scaling."""

    pattern: str
    values: tuple[float, ...]  # x, y or x1, y1, x2, y2 (already in x-first order)
    scale: str | None = None  # fixed by the format itself, else None
    percent: bool = False


def parse_point(
    text: str,
    convention: str = "auto",
    image_size: tuple[int, int] | None = None,
    *,
    hint: str | None = None,
) -> ParsedPoint | None:
    """Read a point from ``text``; ``None`` when there is none (never raises).

    ``image_size=(w, h)`` is the size the model saw (needed for pixel answers);
    ``hint`` is the format the question asked for (``norm``, ``norm1000``, ``pixel``),
    used only when ``convention="auto"``.

    >>> parse_point("The person looks at (0.41, 0.63).")
    ParsedPoint(x=0.41, y=0.63, rule='tuple:norm')
    >>> parse_point('<point x="61.5" y="40.6" alt="cup">cup</point>').rule
    'molmo:percent'
    """
    check_convention(convention)
    try:
        if not isinstance(text, str) or not text:
            return None
        match = _find(text)
        if match is None:
            return None
        return _scale(match, convention, image_size, hint)
    except (ValueError, OverflowError, ZeroDivisionError, IndexError, TypeError):
        return None


def _floats(*groups: str | None) -> tuple[float, ...]:
    return tuple(float(g) for g in groups if g is not None)


def _find(text: str) -> _Match | None:
    if "<" in text:
        found = _find_tagged(text)
        if found is not None:
            return found
    m = _JSON_KEY.search(text)
    if m:
        return _Match(m.group(1).lower(), _floats(*m.groups()[1:]))
    m = _BRACKETED.search(text)
    if m:
        g = m.groups()
        values = _floats(g[0], g[2], g[4], g[6])
        percent = any(g[i] for i in (1, 3, 5, 7))
        return _Match("tuple" if len(values) == 2 else "box", values, percent=percent)
    named = _find_named(text)
    if named is not None:
        return named
    m = _PAIR.search(text)
    if m:
        percent = bool(m.group(2) or m.group(4))
        return _Match("pair", _floats(m.group(1), m.group(3)), percent=percent)
    numbers = _ANY_NUM.findall(text)
    if len(numbers) == 2:
        return _Match(
            "loose", _floats(numbers[0][0], numbers[1][0]),
            percent=any(pct for _, pct in numbers),
        )
    return None


def _find_tagged(text: str) -> _Match | None:
    locs = _LOC.findall(text)
    if len(locs) >= 4:
        y1, x1, y2, x2 = (int(v) for v in locs[:4])
        return _Match("paligemma", (x1, y1, x2, y2), scale="bins1024")
    if len(locs) >= 2:
        y, x = (int(v) for v in locs[:2])
        return _Match("paligemma", (x, y), scale="bins1024")
    for tag in _TAG.finditer(text):
        attrs = {k.lower(): float(v) for k, v in _ATTR.findall(tag.group(2))}
        for xk, yk in (("x", "y"), ("x1", "y1")):
            if xk in attrs and yk in attrs:
                return _Match("molmo", (attrs[xk], attrs[yk]), scale="percent")
    m = _QWEN2_BOX.search(text)
    if m:
        return _Match("qwen2_box", _floats(*m.groups()), scale="norm1000")
    m = _INTERNVL_BOX.search(text)
    if m:
        return _Match("internvl_box", _floats(*m.groups()), scale="norm1000")
    return None


def _find_named(text: str) -> _Match | None:
    found: dict[str, tuple[float, bool]] = {}
    for m in _NAMED.finditer(text):
        axis = m.group(1).lower()
        if axis not in found:
            found[axis] = (float(m.group(2)), bool(m.group(3)))
        if len(found) == 2:
            (x, xp), (y, yp) = found["x"], found["y"]
            return _Match("named", (x, y), percent=xp or yp)
    return None


def _scale(
    match: _Match, convention: str, image_size: tuple[int, int] | None, hint: str | None
) -> ParsedPoint | None:
    values = match.values
    if not all(math.isfinite(v) for v in values):
        return None
    scale = match.scale or ("percent" if match.percent else _scale_of(convention, values,
                                                                        image_size, hint))
    if scale is None:
        return None
    if scale == "pixel":
        if image_size is None or image_size[0] <= 0 or image_size[1] <= 0:
            return None
        sx, sy = float(image_size[0]), float(image_size[1])
    else:
        sx = sy = _DIVISORS[scale]
    if len(values) == 4:
        x = (values[0] + values[2]) / 2
        y = (values[1] + values[3]) / 2
    else:
        x, y = values[0], values[1]
    x, y = x / sx, y / sy
    lo, hi = -OUTSIDE_TOLERANCE, 1 + OUTSIDE_TOLERANCE
    if not (lo <= x <= hi and lo <= y <= hi):
        return None
    return ParsedPoint(min(1.0, max(0.0, x)), min(1.0, max(0.0, y)), f"{match.pattern}:{scale}")


def _scale_of(
    convention: str,
    values: tuple[float, ...],
    image_size: tuple[int, int] | None,
    hint: str | None,
) -> str | None:
    """The scale of plain numbers: fixed by an explicit convention, else inferred."""
    if convention in _FIXED_SCALE:
        return _FIXED_SCALE[convention]
    top = max(abs(v) for v in values)
    integers = all(float(v).is_integer() for v in values)
    if top <= 1 + OUTSIDE_TOLERANCE and not (
        integers and hint in ("norm1000", "pixel", "percent")
    ):
        return "norm"
    if not integers and top < 10:
        return "norm"  # e.g. (1.2, 0.5): a normalized point outside the image, not 0-1000
    if hint == "pixel" and image_size is not None:
        return "pixel"
    if hint == "percent" and top <= 100:
        return "percent"
    if top <= 1000:
        return "norm1000"
    if image_size is not None:
        return "pixel"
    return None
