"""Extract one gaze point from a free-form VLM answer, in any coordinate convention.

Three steps, reported in ``ParsedPoint.rule`` as ``"<pattern>:<scale>:<by>"`` (with
``@pad`` / ``@crop`` appended when step 3 moved the point):

1. *Pattern* -- the first of these that matches, in this order (formats that carry
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

2. *Scale* -- the first that applies, named by ``<by>``:

   ``tag``      the tags carry theirs (``paligemma`` ``bins1024``, ``molmo`` ``percent``,
                ``qwen2_box`` / ``internvl_box`` ``norm1000``), whatever the convention;
   ``unit``     an explicit unit in the answer: ``%`` -> ``percent``, ``px`` / ``pixels``
                -> ``pixel`` (of ``image_size``); always wins over the convention;
   family name  Qwen JSON under a family whose native form it is (``qwen2.5-vl``:
                pixels of the resized input, ``input_size`` or Qwen's ``smart_resize`` of
                ``image_size``; ``qwen3-vl`` / ``glm-v``: ``norm1000``); under any other
                convention the JSON numbers are plain numbers;
   ``forced``   a scale convention (``norm``, ``norm1000``, ``pixel`` = divided by
                ``image_size``, ``percent``) decides every plain number;
   ``asked``    otherwise (``auto`` and every family) plain numbers follow ``hint``, the
                format the question asked for (``target.format``) ...
   ``inferred`` ... unless the numbers cannot be in it: all within [0, 1] (give or take
                5 %), or fractions below 10 -> ``norm`` (integers 0/1 follow the hint);
                hint ``pixel`` with an image size -> ``pixel``; hint ``percent`` up to 100
                -> ``percent``; all within 1000 -> ``norm1000``; within the image size ->
                ``pixel``; otherwise no parse. ``by`` is ``asked`` when this lands on the
                hint, ``inferred`` when it does not.

3. *View* -- families that see a square (``llava-pad``, ``llava-crop``; see
   ``vl4gaze.parse.conventions.from_view``) answer in that square: normalized scales
   (everything but ``pixel``, whose size the question states) are mapped back to the
   original image; these families need ``image_size``.

A point more than 5 % outside the image under the chosen scale is no parse; a point
slightly outside is clipped to [0, 1]. ``parse_point`` never raises on an answer: any
failure is ``None`` (an unknown convention is a ValueError).

Limits: only the first ``vl4gaze.parse.limits.MAX_ANSWER_CHARS`` (8,192) characters of
an answer are read, and every pattern above scans linearly (possessive quantifiers), so
one call costs a bounded time whatever the answer (< 10 ms measured on 100 KB hostile
answers; benchmarks/bench_parsers.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vl4gaze.parse.conventions import (
    SCALES,
    check_convention,
    family_of,
    from_view,
    qwen25vl_input_size,
)
from vl4gaze.parse.limits import window

# Possessive quantifiers (``*+``, ``++``, ``?+``) never give back what they matched: what
# follows a number, a separator or a run of spaces never starts with what they consume,
# so the matches are the same and a failed attempt costs one pass (see parse.limits).
_NUM = r"[-+]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][-+]?+\d++)?+"
_SEP = r"\s*[,;]\s*"
_UNIT = r"(\s*(?:%|px\b|pixels?\b))?"

_LOC = re.compile(r"<loc(\d{4})>")
_TAG = re.compile(r"<(points?)\b([^<>]*+)>", re.IGNORECASE)  # [^<>]: one scan per "<"
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
    r"[(\[{]\s*(" + _NUM + r")" + _UNIT + _SEP + r"(" + _NUM + r")" + _UNIT
    + r"(?:" + _SEP + r"(" + _NUM + r")" + _UNIT + _SEP + r"(" + _NUM + r")" + _UNIT + r")?"
    + r"\s*[)\]}]"
)
_NAMED = re.compile(
    r"(?<![a-z0-9_])([xy])(?![a-z0-9])"
    r"(?:[\s_-]*+(?:coord(?:inate)?s?|value|position|pos|axis))?"
    r"[\s\"'`*_]*+(?:is|=|:|of|at|equals|≈|~)?[\s\"'`*_:=]*+"
    r"(?:about|approximately|approx\.?|around|roughly|~|≈)?\s*+"
    r"(" + _NUM + r")" + _UNIT,
    re.IGNORECASE,
)
_PAIR = re.compile(r"(?<![\w.])(" + _NUM + r")" + _UNIT + r"\s*,\s*(" + _NUM + r")" + _UNIT)
_ANY_NUM = re.compile(r"(?<![\w.])(" + _NUM + r")" + _UNIT)

_DIVISORS = {"norm": 1.0, "norm1000": 1000.0, "percent": 100.0, "bins1024": 1024.0}

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
    unit: str | None = None  # "percent" / "pixel" written in the answer; "" when they clash


def parse_point(
    text: str,
    convention: str = "auto",
    image_size: tuple[int, int] | None = None,
    *,
    hint: str | None = None,
    input_size: tuple[int, int] | None = None,
) -> ParsedPoint | None:
    """Read a point from ``text``; ``None`` when there is none (never raises on an answer).

    ``image_size=(w, h)`` is the image's size as the question states it (needed for pixel
    answers and the square views); ``hint`` is the format the question asked for (``norm``,
    ``norm1000``, ``pixel``), which decides plain numbers unless ``convention`` is a scale;
    ``input_size`` is the size Qwen2.5-VL's processor resized to, when not its default
    ``smart_resize`` of ``image_size``.

    >>> parse_point("The person looks at (0.41, 0.63).")
    ParsedPoint(x=0.41, y=0.63, rule='tuple:norm:inferred')
    >>> parse_point("(0.512, 0.337)", "qwen2.5-vl", (640, 480), hint="norm").rule
    'tuple:norm:asked'
    >>> parse_point('<point x="61.5" y="40.6" alt="cup">cup</point>').rule
    'molmo:percent:tag'
    """
    check_convention(convention)
    try:
        if not isinstance(text, str) or not text:
            return None
        match = _find(window(text))
        if match is None:
            return None
        return _scale(match, convention, image_size, hint, input_size)
    except (ValueError, OverflowError, ZeroDivisionError, IndexError, TypeError):
        return None


def _floats(*groups: str | None) -> tuple[float, ...]:
    return tuple(float(g) for g in groups if g is not None)


def _unit(*marks: str | None) -> str | None:
    """The unit written beside the numbers: None, "percent", "pixel", or "" (a clash)."""
    units = {"percent" if m.strip() == "%" else "pixel" for m in marks if m}
    if len(units) > 1:
        return ""
    return units.pop() if units else None


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
        return _Match("tuple" if len(values) == 2 else "box", values,
                      unit=_unit(g[1], g[3], g[5], g[7]))
    named = _find_named(text)
    if named is not None:
        return named
    m = _PAIR.search(text)
    if m:
        return _Match("pair", _floats(m.group(1), m.group(3)),
                      unit=_unit(m.group(2), m.group(4)))
    numbers = _ANY_NUM.findall(text)
    if len(numbers) == 2:
        return _Match("loose", _floats(numbers[0][0], numbers[1][0]),
                      unit=_unit(*(u for _, u in numbers)))
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
    found: dict[str, tuple[float, str | None]] = {}
    for m in _NAMED.finditer(text):
        axis = m.group(1).lower()
        if axis not in found:
            found[axis] = (float(m.group(2)), m.group(3))
        if len(found) == 2:
            (x, xu), (y, yu) = found["x"], found["y"]
            return _Match("named", (x, y), unit=_unit(xu, yu))
    return None


def _decide(
    match: _Match, convention: str, image_size: tuple[int, int] | None, hint: str | None,
    input_size: tuple[int, int] | None,
) -> tuple[str | None, str, tuple[int, int] | None]:
    """(scale, what decided it, the pixel size for a pixel scale)."""
    if match.scale:
        return match.scale, "tag", None
    if match.unit is not None:
        return (match.unit or None), "unit", image_size
    family = family_of(convention)
    if match.pattern in ("point_2d", "bbox_2d") and family.json_scale:
        if family.json_scale == "input-pixel":
            size = input_size or (qwen25vl_input_size(*image_size) if image_size else None)
            return "pixel", convention, size
        return family.json_scale, convention, None
    if convention in SCALES:
        return convention, "forced", image_size
    scale = _infer_scale(match.values, image_size, hint)
    return scale, "asked" if scale == hint else "inferred", image_size


def _scale(
    match: _Match, convention: str, image_size: tuple[int, int] | None, hint: str | None,
    input_size: tuple[int, int] | None,
) -> ParsedPoint | None:
    values = match.values
    if not all(math.isfinite(v) for v in values):
        return None
    scale, by, pixel_size = _decide(match, convention, image_size, hint, input_size)
    if scale is None:
        return None
    if scale == "pixel":
        if pixel_size is None or pixel_size[0] <= 0 or pixel_size[1] <= 0:
            return None
        sx, sy = float(pixel_size[0]), float(pixel_size[1])
    else:
        sx = sy = _DIVISORS[scale]
    if len(values) == 4:
        x = (values[0] + values[2]) / 2
        y = (values[1] + values[3]) / 2
    else:
        x, y = values[0], values[1]
    x, y = x / sx, y / sy
    rule = f"{match.pattern}:{scale}:{by}"
    view = family_of(convention).view
    if view != "full" and scale != "pixel":
        if image_size is None or image_size[0] <= 0 or image_size[1] <= 0:
            return None
        if image_size[0] != image_size[1]:  # a square image is its own square view
            x, y = from_view(x, y, image_size[0], image_size[1], view)
            rule += f"@{view}"
    lo, hi = -OUTSIDE_TOLERANCE, 1 + OUTSIDE_TOLERANCE
    if not (lo <= x <= hi and lo <= y <= hi):
        return None
    return ParsedPoint(min(1.0, max(0.0, x)), min(1.0, max(0.0, y)), rule)


def _infer_scale(
    values: tuple[float, ...],
    image_size: tuple[int, int] | None,
    hint: str | None,
) -> str | None:
    """The scale of plain numbers no convention forces: the asked format where they fit."""
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
