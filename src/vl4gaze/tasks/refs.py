"""How a question singles out its person, and how points are written in answers.

Shared by the four task modules: the person phrase (``{who}`` in the templates), the
point and box formats of answers and ``coords`` references, the seeded template choice,
and drawing the red box of ``box`` references.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from vl4gaze.geometry import POINT_FORMATS, format_point
from vl4gaze.schema import Box, Flag, GazeSample, InOut, Person, PersonRef


@dataclass(frozen=True)
class Marker:
    """A drawn person marker: the colour's name (as questions say it) and its RGB."""

    name: str
    rgb: tuple[int, int, int]


#: The drawn person markers, in order: the person asked about, then (for the questions
#: about two people) the other one. Every question, answer and drawing takes its colours
#: from here.
MARKERS: tuple[Marker, ...] = (Marker("red", (255, 0, 0)), Marker("blue", (0, 90, 255)))
#: Colour and name of the first (or only) marker.
MARKER_RGB = MARKERS[0].rgb
MARKER_NAME = MARKERS[0].name


@dataclass(frozen=True)
class Template:
    """One question phrasing; ``id`` is recorded on every item made from it."""

    id: str
    text: str
    #: For ambiguity templates: which answer the question asks for (object, direction, point).
    asks: str | None = None


@dataclass(frozen=True)
class Options:
    """Build options that shape items (the benchmark's person reference and point format)."""

    seed: int = 0
    person_ref: str = "box"
    point_format: str = "norm"

    def __post_init__(self) -> None:
        if self.person_ref not in (PersonRef.BOX, PersonRef.COORDS, PersonRef.TEXT):
            raise ValueError(f"person_ref={self.person_ref!r}: expected box, coords or text")
        if self.point_format not in POINT_FORMATS:
            raise ValueError(f"point_format={self.point_format!r}: expected one of "
                             f"{', '.join(POINT_FORMATS)}")


@dataclass(frozen=True)
class Ref:
    """A resolved person reference: how it is phrased and which image the item shows.

    ``marker`` is the box drawn on the image (None: the clean image is shown);
    ``other_marker`` the second person's box of a question about two people, drawn in
    the second colour of ``MARKERS``.
    """

    kind: PersonRef
    phrase: str
    head: Box | None
    marker: Box | None
    other_marker: Box | None = None

    @property
    def markers(self) -> tuple[Box, ...]:
        """The boxes to draw, in ``MARKERS`` order."""
        return tuple(b for b in (self.marker, self.other_marker) if b is not None)


def rng_for(seed: int, *parts: Any) -> random.Random:
    """A Random seeded by the build seed and the item's identity, so a template choice
    does not depend on the order samples arrive in (str seeds hash with SHA-512)."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def choose(templates: tuple[Template, ...], rng: random.Random) -> Template:
    return templates[rng.randrange(len(templates))]


def mean_point(sample: GazeSample) -> tuple[float, float] | None:
    """The annotators' mean gaze point as plain floats (``GazeSample.gaze_mean`` without
    building a validated Point: this runs several times per sample at GazeFollow scale)."""
    gaze = sample.gaze
    if not gaze:
        return None
    n = len(gaze)
    return (sum(p.x for p in gaze) / n, sum(p.y for p in gaze) / n)


def r6(value: float) -> float:
    """Round stored coordinates so the Parquet does not carry float noise."""
    return round(float(value), 6)




def format_box(box: Box, fmt: str, width: int, height: int) -> str:
    """A normalized box in the same numeric form as points: ``(x1, y1, x2, y2)``."""
    a = format_point(box.x1, box.y1, fmt, width, height)
    b = format_point(box.x2, box.y2, fmt, width, height)
    return f"{a[:-1]}, {b[1:]}"


def point_instruction(fmt: str, width: int, height: int) -> str:
    """The sentence that tells how to write a point (part of point questions)."""
    if fmt == "norm":
        return ("Answer with normalized (x, y) coordinates between 0 and 1, "
                "with three decimals.")
    if fmt == "norm1000":
        return "Answer with (x, y) as integers from 0 to 1000 across the image width and height."
    if fmt == "pixel":
        return f"Answer with (x, y) in pixels of the {width}x{height} image."
    raise ValueError(f"unknown point format {fmt!r}; expected one of {', '.join(POINT_FORMATS)}")


def box_phrase(marker: int = 0) -> str:
    """"the person in the red box" (``marker``: index into ``MARKERS``)."""
    return f"the person in the {MARKERS[marker].name} box"


def coords_phrase(head: Box, fmt: str, width: int, height: int) -> str:
    return f"the person whose head is in the box {format_box(head, fmt, width, height)}"


def text_phrase(description: str) -> str:
    """A description as a definite reference: "a man in red" -> "the man in red";
    anything that is not a noun phrase with an article is quoted."""
    text = description.strip().rstrip(".")
    low = text.lower()
    if low.startswith("the "):
        return "the " + text[4:]
    for article in ("a ", "an "):
        if low.startswith(article):
            return "the " + text[len(article):]
    return f'the person described as "{text}"'


def person_ref(sample: GazeSample, person: Person, options: Options) -> Ref:
    """The reference to ``person`` of ``sample`` under the build's person_ref option.

    ``text`` falls back to ``box`` when the person has no description.
    """
    kind = options.person_ref
    if kind == PersonRef.TEXT and person.description:
        return Ref(PersonRef.TEXT, text_phrase(person.description), person.head, None)
    if kind == PersonRef.COORDS:
        phrase = coords_phrase(person.head, options.point_format, sample.width, sample.height)
        return Ref(PersonRef.COORDS, phrase, person.head, None)
    return Ref(PersonRef.BOX, box_phrase(), person.head, person.head)


def no_ref() -> Ref:
    """"the person", on the clean image (the unspecified-person question and its look-alike)."""
    return Ref(PersonRef.NONE, "the person", None, None)


def fill(template: Template, ref: Ref, **values: Any) -> str:
    """The question text: the template with the person phrase, first letter upper case."""
    text = template.text.format(who=ref.phrase, **values)
    return text[:1].upper() + text[1:]


def marker_width(width: int, height: int) -> int:
    """Line width of the drawn box: visible at any size, thin on small images."""
    return max(2, round(max(width, height) / 160))


def draw_marker(image: Image.Image, box: Box, *more: Box) -> Image.Image:
    """A copy of ``image`` with a rectangle drawn just outside ``box`` (red) and each
    box of ``more`` (blue: the colours of ``MARKERS``, in order)."""
    boxes = (box, *more)
    if len(boxes) > len(MARKERS):
        raise ValueError(f"{len(boxes)} markers: at most {len(MARKERS)} can be drawn")
    out = image.convert("RGB")
    w, h = out.size
    lw = marker_width(w, h)
    draw = ImageDraw.Draw(out)
    for b, marker in zip(boxes, MARKERS, strict=False):
        x1, y1 = b.x1 * w - lw, b.y1 * h - lw
        x2, y2 = b.x2 * w + lw, b.y2 * h + lw
        draw.rectangle((max(0, round(x1)), max(0, round(y1)), min(w - 1, round(x2)),
                        min(h - 1, round(y2))), outline=marker.rgb, width=lw)
    return out


#: Flags that make a sample's gaze unreadable (eyes closed / hidden, target hidden, unsure).
UNREADABLE_FLAGS: tuple[Flag, ...] = (Flag.EYES_CLOSED, Flag.EYES_HIDDEN, Flag.OCCLUDED,
                                      Flag.UNCERTAIN)


@dataclass(frozen=True)
class Draft:
    """A task's part of an item; the builder adds image, ids and the sample's fields."""

    task: str
    question: str
    answer: str
    target: dict[str, Any]
    ref: Ref
    template_id: str
    #: A look-alike kept in reserve: the builder takes as many as the task's balance
    #: needs (``ambiguity_ratio``), smallest seeded rank first.
    reserve: bool = False


def unanswerable(sample: GazeSample) -> str | None:
    """Why a sample yields no object / direction / point item (None: it does)."""
    if sample.inout is InOut.OUT:
        return "gaze_out_of_frame"
    if any(flag in UNREADABLE_FLAGS for flag in sample.flags):
        return "eyes_not_visible"
    if not sample.gaze:
        return "no_gaze_point"
    return None
