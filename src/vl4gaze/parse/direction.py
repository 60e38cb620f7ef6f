"""Map a free-form answer to one of the eight gaze-direction classes, or "could not parse".

The classes are ``vl4gaze.geometry.DIRECTIONS``, seen from the viewer. Rules, first hit
wins (``ParsedDirection.rule`` names it):

``exact``    the whole answer is a class name or a synonym ("top-right", "NE", "upwards")
``clock``    "at 2 o'clock" (12 = up, 3 = right; hour h is the angle 90 - 30h degrees)
``degrees``  "at 135 degrees" (0 = right, counter-clockwise, as in geometry.py)
``compass``  north/south/east/west and their diagonals ("north-east", "southwest")
``words``    a vertical word (up, upward, above, top, upper, ceiling, sky / down, below,
             bottom, lower, floor, ground) and/or a horizontal one (left / right); both
             make a diagonal.

Where the answer has a gaze verb ("looking", "gazing", "staring", "facing", "glancing",
"directed", "toward") only the text after the first one is read, so "the man on the
left is looking to the right" is ``right``.

Person-relative sides ("to her left", "his right", "their left", "the person's left")
are the one real ambiguity: a person facing the viewer has their left on the viewer's
right. The questions ask for the viewer's point of view and models mostly answer in it
with a loose pronoun, so by default (``person_side="viewer"``) such sides are read as
the viewer's, with the rule ``words:person_side`` so they can be counted;
``person_side="mirror"`` flips them (person assumed to face the camera) and
``person_side="none"`` refuses them (no parse). "The left side of the image", "image
left" and "the viewer's left" are always the viewer's left.

Only the first ``vl4gaze.parse.limits.MAX_ANSWER_CHARS`` characters are read, with
linear patterns: bounded time per answer, whatever it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vl4gaze.geometry import DIRECTIONS, direction_of_angle
from vl4gaze.parse.limits import window

_SYNONYMS: dict[str, str] = {
    **{d: d for d in DIRECTIONS},
    "upward": "up", "upwards": "up", "straight up": "up", "top": "up", "above": "up",
    "downward": "down", "downwards": "down", "straight down": "down", "bottom": "down",
    "below": "down",
    "leftward": "left", "leftwards": "left", "to the left": "left",
    "rightward": "right", "rightwards": "right", "to the right": "right",
    "top right": "upper right", "up right": "upper right", "up and right": "upper right",
    "up and to the right": "upper right", "right and up": "upper right",
    "top left": "upper left", "up left": "upper left", "up and left": "upper left",
    "up and to the left": "upper left", "left and up": "upper left",
    "bottom right": "lower right", "down right": "lower right",
    "down and right": "lower right", "down and to the right": "lower right",
    "bottom left": "lower left", "down left": "lower left", "down and left": "lower left",
    "down and to the left": "lower left",
    "n": "up", "s": "down", "e": "right", "w": "left",
    "ne": "upper right", "nw": "upper left", "se": "lower right", "sw": "lower left",
    "north": "up", "south": "down", "east": "right", "west": "left",
    "northeast": "upper right", "northwest": "upper left",
    "southeast": "lower right", "southwest": "lower left",
}
_COMPASS = re.compile(r"\b(north|south)\s?(east|west)\b|\b(north|south|east|west)(?:ward)?s?\b")
_CLOCK = re.compile(r"\b(1[0-2]|[1-9])(?::(\d\d))?\s*o'?\s*clock\b")
# Starts only at the first digit of a run (a match inside a run would also match from
# its start), possessive after: one pass per run, not one per digit (see parse.limits).
_DEGREES = re.compile(r"(-?+(?<!\d)\d++(?:\.\d++)?+)\s*+(?:°|deg(?:ree)?s?\b)")
_CUE = re.compile(r"\b(?:look|gaz|star|fac|glanc|peer|direct|toward|point|turned|eyes)\w*")
_UP = re.compile(
    r"\b(?:up|upwards?|upper|above|top|overhead|ceiling|sky|higher|raised)\b"
)
_DOWN = re.compile(
    r"\b(?:down|downwards?|lower|below|bottom|beneath|floor|ground|lap|feet)\b"
)
_SIDE = re.compile(r"\b(left|right)(?:wards?)?\b")
_PERSON_SIDE = re.compile(
    r"\b(?:his|her|their|its|the person's|the man's|the woman's|the child's)\s+"
    r"(?:own\s+)?(left|right)\b"
)
_NOT_IMAGE_FRAME = ("image", "picture", "photo", "frame", "viewer", "camera", "screen")


@dataclass(frozen=True)
class ParsedDirection:
    """A direction class read from an answer, with the rule that fired."""

    direction: str
    rule: str


def parse_direction(text: str, *, person_side: str = "viewer") -> str | None:
    """The direction class named by ``text``, or ``None`` (could not parse). Never raises.

    >>> parse_direction("The person is looking up and to the left.")
    'upper left'
    >>> parse_direction("Toward the left side of the image")
    'left'
    """
    parsed = parse_direction_rule(text, person_side=person_side)
    return parsed.direction if parsed else None


def parse_direction_rule(text: str, *, person_side: str = "viewer") -> ParsedDirection | None:
    """Like ``parse_direction`` but also says which rule fired."""
    if person_side not in ("viewer", "mirror", "none"):
        raise ValueError(f"person_side must be viewer, mirror or none, not {person_side!r}")
    if not isinstance(text, str):
        return None
    norm = _normalize(window(text))
    if not norm:
        return None
    exact = _SYNONYMS.get(norm.strip(" ."))
    if exact:
        return ParsedDirection(exact, "exact")
    cue = _CUE.search(norm)
    segment = norm[cue.end():] if cue and _has_direction(norm[cue.end():]) else norm
    return _from_segment(segment, person_side)


def _normalize(text: str) -> str:
    s = text.lower().replace("’", "'")
    s = re.sub(r"[*_`#>\"]", " ", s)
    s = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", s)  # top-left -> top left
    return re.sub(r"\s+", " ", s).strip()


def _has_direction(s: str) -> bool:
    return bool(_SIDE.search(s) or _UP.search(s) or _DOWN.search(s) or _COMPASS.search(s)
                or _CLOCK.search(s) or _DEGREES.search(s))


def _from_segment(s: str, person_side: str) -> ParsedDirection | None:
    m = _CLOCK.search(s)
    if m:
        hours = int(m.group(1)) % 12 + (int(m.group(2)) / 60 if m.group(2) else 0.0)
        return ParsedDirection(direction_of_angle((90.0 - 30.0 * hours) % 360.0), "clock")
    m = _DEGREES.search(s)
    if m:
        try:
            angle = float(m.group(1)) % 360.0
        except (ValueError, OverflowError):
            angle = None
        if angle is not None and angle == angle:
            return ParsedDirection(direction_of_angle(angle), "degrees")
    m = _COMPASS.search(s)
    if m:
        word = f"{m.group(1)}{m.group(2)}" if m.group(1) else m.group(3)
        return ParsedDirection(_SYNONYMS[word], "compass")
    return _from_words(s, person_side)


def _from_words(s: str, person_side: str) -> ParsedDirection | None:
    up, down = _UP.search(s), _DOWN.search(s)
    vertical = None
    if up and down:  # the first one mentioned is the answer ("up, not down" is rare)
        vertical = "up" if up.start() < down.start() else "down"
    elif up or down:
        vertical = "up" if up else "down"
    side, rule = None, "words"
    person = _PERSON_SIDE.search(s)
    plain = _SIDE.search(s)
    if person and (plain is None or person.start() <= plain.start()):
        after = s[person.end(): person.end() + 30]
        if any(w in after for w in _NOT_IMAGE_FRAME):
            side = person.group(1)  # "their left of the image": viewer frame
        elif person_side == "none":
            return None
        else:
            side = person.group(1)
            if person_side == "mirror":
                side = "right" if side == "left" else "left"
            rule = "words:person_side"
    elif plain:
        side = plain.group(1)
    if vertical and side:
        return ParsedDirection(f"{'upper' if vertical == 'up' else 'lower'} {side}", rule)
    if vertical:
        return ParsedDirection(vertical, rule)
    if side:
        return ParsedDirection(side, rule)
    return None
