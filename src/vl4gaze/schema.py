"""The plain records passed between vl4gaze's stages.

Every coordinate is normalized to [0, 1] of the original image, x to the right and
y down. Records are frozen and validated on construction, so a stage never receives a
box with its corners swapped or a point far outside the image; errors name the field
and the value. ``to_dict`` / ``from_dict`` (and the JSON variants) round-trip exactly.
The one exception is ``trusted``: readers that have checked every value themselves build
their records with it, so each record is validated once, at the edge.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from enum import StrEnum
from functools import cache
from typing import Any, Self, TypeVar

from pydantic import TypeAdapter, field_validator, model_validator
from pydantic.dataclasses import dataclass

#: How far outside [0, 1] a normalized coordinate may stray (annotation noise) before
#: it is rejected as impossible.
COORD_TOLERANCE = 0.02


class Task(StrEnum):
    """The built-in tasks: the four of VL4Gaze, then the three social ones."""

    OBJECT = "object"
    DIRECTION = "direction"
    POINT = "point"
    AMBIGUITY = "ambiguity"
    MUTUAL = "mutual"
    SHARED = "shared"
    WHOM = "whom"


class InOut(StrEnum):
    """Whether the gaze target lies inside the image frame."""

    IN = "in"
    OUT = "out"
    UNKNOWN = "unknown"


class PersonRef(StrEnum):
    """How a question singles out the person it asks about."""

    BOX = "box"  # a coloured box drawn on a copy of the image
    COORDS = "coords"  # the head box written in the question
    TEXT = "text"  # the person's description
    NONE = "none"  # not singled out (ambiguity items)


class AmbiguityReason(StrEnum):
    """Why a question cannot be answered as asked."""

    UNSPECIFIED_PERSON = "unspecified_person"
    GAZE_OUT_OF_FRAME = "gaze_out_of_frame"
    EYES_NOT_VISIBLE = "eyes_not_visible"
    PERSON_ABSENT = "person_absent"


class Flag(StrEnum):
    """Per-sample conditions a source reports (ChildPlay classes, GazeWorld)."""

    EYES_CLOSED = "eyes_closed"
    EYES_HIDDEN = "eyes_hidden"  # face turned away or covered
    OCCLUDED = "occluded"  # the gaze target is hidden behind something
    UNCERTAIN = "uncertain"  # annotators could not tell
    GAZE_SHIFT = "gaze_shift"  # the gaze is moving between targets


def _check_unit(name: str, value: float) -> float:
    if not (-COORD_TOLERANCE <= value <= 1 + COORD_TOLERANCE):
        raise ValueError(f"{name}={value!r} is outside the normalized range [0, 1]")
    return value


class _Record:
    """Round-trips through plain dicts and JSON (the form used on disk)."""

    def to_dict(self) -> dict[str, Any]:
        return _adapter(type(self)).dump_python(self, mode="json")

    def to_json(self) -> str:
        return _adapter(type(self)).dump_json(self).decode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return _adapter(cls).validate_python(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        return _adapter(cls).validate_json(text)


#: The base of typed records kept elsewhere (each task's target type, ``vl4gaze.tasks``).
Record = _Record


class Answer(_Record):
    """The base of a task's parsed-answer type (``TaskSpec.parsed_type``): ``of`` builds
    it from the ``parsed`` JSON value the scorer wrote (by default an object of its
    fields); a ValueError names a value of another shape."""

    @classmethod
    def of(cls, value: Any) -> Self:
        return cls.from_dict(value)


@cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


@dataclass(frozen=True)
class Point(_Record):
    """A normalized image point."""

    x: float
    y: float

    @field_validator("x", "y")
    @classmethod
    def _in_unit_range(cls, value: float, info) -> float:
        return _check_unit(info.field_name, value)

    def as_tuple(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass(frozen=True)
class Box(_Record):
    """A normalized axis-aligned box, (x1, y1) top left and (x2, y2) bottom right."""

    x1: float
    y1: float
    x2: float
    y2: float

    @field_validator("x1", "y1", "x2", "y2")
    @classmethod
    def _in_unit_range(cls, value: float, info) -> float:
        return _check_unit(info.field_name, value)

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.x2 < self.x1:
            raise ValueError(f"x2={self.x2!r} is left of x1={self.x1!r}")
        if self.y2 < self.y1:
            raise ValueError(f"y2={self.y2!r} is above y1={self.y1!r}")
        return self

    @property
    def center(self) -> Point:
        return Point((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    def contains(self, point: Point) -> bool:
        return self.x1 <= point.x <= self.x2 and self.y1 <= point.y <= self.y2

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True)
class Person(_Record):
    """One person in an image: the head box, and the eye point where known."""

    head: Box
    eye: Point | None = None
    description: str | None = None
    index: int = 0


@dataclass(frozen=True)
class SceneObject(_Record):
    """An object with a box in the image (GOO, GazeWorld, COCO-style instances)."""

    label: str
    box: Box
    description: str | None = None


@dataclass(frozen=True)
class Target(_Record):
    """What the person looks at, as far as the source (or annotation) knows."""

    label: str | None = None
    description: str | None = None
    box: Box | None = None
    #: "object", "person", "space" (empty space) or None when unknown.
    kind: str | None = None
    #: How the target was found: "source", or an annotation rule such as "box:contains".
    rule: str | None = None


@dataclass(frozen=True)
class GazeSample(_Record):
    """One person in one image, with every annotator's gaze point."""

    image: str
    width: int
    height: int
    source: str
    source_id: str
    split: str
    person: Person
    gaze: tuple[Point, ...] = ()
    inout: InOut = InOut.UNKNOWN
    target: Target = Target()
    others: tuple[Person, ...] = ()
    objects: tuple[SceneObject, ...] = ()
    flags: tuple[str, ...] = ()

    @field_validator("image", "source", "source_id", "split")
    @classmethod
    def _not_empty(cls, value: str, info) -> str:
        if not value:
            raise ValueError(f"{info.field_name} is empty")
        return value

    @field_validator("width", "height")
    @classmethod
    def _positive(cls, value: int, info) -> int:
        if value <= 0:
            raise ValueError(f"{info.field_name}={value!r} must be a positive pixel count")
        return value

    @property
    def gaze_mean(self) -> Point | None:
        """The annotators' mean gaze point (the reference for average L2)."""
        if not self.gaze:
            return None
        n = len(self.gaze)
        return Point(sum(p.x for p in self.gaze) / n, sum(p.y for p in self.gaze) / n)

    @property
    def eye_or_head(self) -> Point:
        """Where gaze starts: the eye point, or the head centre when there is none."""
        return self.person.eye if self.person.eye is not None else self.person.head.center


@dataclass(frozen=True)
class QAItem(_Record):
    """One row of the benchmark: a question about one person, with its answer.

    ``target`` holds the task's structure (JSON-able): for ``point`` the annotators'
    ``points`` and their ``mean``; for ``direction`` the class name, ``angle_deg`` and
    the ``eye`` and ``gaze`` points; for ``object`` the ``label``, ``description`` and
    ``box``; for ``ambiguity`` the ``ambiguous`` flag and its ``reason``; for the social
    tasks the ``label``, its ``rule`` and both people's ``heads`` and ``gazes``. Each
    task's ``target_type`` reads it typed (``registry.target_of``).

    ``task`` is a registered task's name (``vl4gaze.tasks.registry``): a ``Task`` for the
    built-in ones, the plain name for one added by ``registry.register``.
    """

    id: str
    task: Task | str
    image: str
    width: int
    height: int
    source: str
    split: str
    question: str
    answer: str
    target: dict[str, Any]
    person_ref: PersonRef
    template_id: str
    sample_id: str
    person_head: Box | None = None

    @field_validator("image", "question", "answer", "id")
    @classmethod
    def _not_empty(cls, value: str, info) -> str:
        if not value:
            raise ValueError(f"{info.field_name} is empty")
        return value

    @field_validator("task")
    @classmethod
    def _registered(cls, value: Task | str) -> Task | str:
        from vl4gaze.tasks import registry

        name = str(value)
        if name in Task._value2member_map_:
            return Task(name)
        return registry.get(name).name  # ValueError naming the registered tasks


@dataclass(frozen=True)
class Prediction(_Record):
    """A model's raw answer to one item, as logged by inference."""

    item_id: str
    model: str
    prompt_config: str
    raw: str
    latency_s: float = 0.0
    error: str | None = None
    heatmap: list[list[float]] | None = None
    attempt: int = 1  # 2, 3...: asked again after an error (``eval --retry-errors``)


R = TypeVar("R")

#: ``VL4GAZE_VALIDATE_TRUSTED=1`` makes :func:`trusted` validate like the constructor
#: (tests compare both paths; a reader suspected of a missed check can be run this way).
VALIDATE_TRUSTED = os.environ.get("VL4GAZE_VALIDATE_TRUSTED", "") not in ("", "0")


@cache
def _defaults(cls: type) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING}


def trusted(cls: type[R], **values: Any) -> R:
    """A record of ``cls`` built WITHOUT validation, for readers only, after their own checks.

    Why: validating every Point, Box, Person and GazeSample cost about two thirds of
    reading GazeFollow (~50 us a sample). A reader that has already checked each value
    (ranges, order, types: floats for coordinates, ints for sizes, tuples for sequences)
    builds its records with this; every other stage keeps the validating constructor.
    The result equals ``cls(**values)`` for such values (``VALIDATE_TRUSTED`` checks it).
    """
    if VALIDATE_TRUSTED:
        return cls(**values)
    record = object.__new__(cls)
    fields = record.__dict__
    fields.update(_defaults(cls))
    fields.update(values)  # frozen: __setattr__ refuses, the instance dict does not
    return record


def content_id(*parts: Any, length: int = 16) -> str:
    """A stable content hash of JSON-able parts, used for item ids and config hashes."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]
