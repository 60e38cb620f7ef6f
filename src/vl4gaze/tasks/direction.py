"""Task 2, direction: in which of eight directions is the person looking?

The class is the sector of the angle from the eye (or head centre) to the annotators'
mean gaze point, measured in the picture as a viewer sees it (pixel aspect), see
``vl4gaze.geometry``. A gaze point on the eye itself has no direction: no item.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from pydantic.dataclasses import dataclass

from vl4gaze.geometry import DIRECTIONS, direction_of_angle, gaze_angle, gaze_direction
from vl4gaze.metrics.memo import memo
from vl4gaze.metrics.scoring import ItemScore, ScoreContext, TaskBlock
from vl4gaze.schema import Answer, GazeSample, Point, QAItem, Record
from vl4gaze.tasks import fixes
from vl4gaze.tasks.refs import (
    Draft,
    Options,
    Ref,
    Template,
    choose,
    fill,
    mean_point,
    r6,
    unanswerable,
)
from vl4gaze.tasks.registry import Figure, Metric, TaskSpec

CHOICES = "Answer with one of: " + ", ".join(DIRECTIONS) + "."

TEMPLATES: tuple[Template, ...] = tuple(
    Template(f"direction/{i:02d}", f"{text} {CHOICES}") for i, text in enumerate((
        "From the viewer's point of view, in which direction is {who} looking?",
        "In which direction is {who} looking, as seen in the image?",
        "Which way is {who} looking, from the camera's point of view?",
        "Seen from the viewer, where does {who} direct their gaze?",
        "Toward which side of the image is {who} looking?",
        "In the image frame, which direction does the gaze of {who} point?",
        "Judging from the picture, which direction is {who} facing with their eyes?",
        "As the viewer sees it, which way is {who} gazing?",
    ))
)


@dataclass(frozen=True)
class DirectionTarget(Record):
    """A direction item's target: the class, the angle it was measured at, and the eye and
    gaze points it was measured between (normalized)."""

    direction: str
    angle_deg: float | None = None
    eye: tuple[float, float] | None = None
    gaze: tuple[float, float] | None = None


@dataclass(frozen=True)
class DirectionAnswer(Answer):
    """A parsed direction: one of the eight classes (the scorer writes the bare class)."""

    direction: str

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r} is not one of "
                             f"{', '.join(DIRECTIONS)}")

    @classmethod
    def of(cls, value: Any) -> DirectionAnswer:
        return cls.from_dict({"direction": value})


def item_target(item: QAItem) -> DirectionTarget:
    return DirectionTarget.from_dict(item.target)


def target_of(sample: GazeSample) -> dict[str, Any] | None:
    """Direction class, angle and the two points; None when eye and gaze coincide."""
    mean, eye = mean_point(sample), sample.eye_or_head
    if mean is None:
        return None
    try:
        angle = gaze_angle(eye, Point(*mean), sample.width, sample.height)
    except ValueError:
        return None
    return {"direction": direction_of_angle(angle), "angle_deg": round(angle, 3),
            "eye": [r6(eye.x), r6(eye.y)], "gaze": [r6(mean[0]), r6(mean[1])]}


def skip_reason(sample: GazeSample) -> str | None:
    return unanswerable(sample) or (None if target_of(sample) else "gaze_on_eye")


def make(sample: GazeSample, ref: Ref, options: Options, rng: random.Random) -> Draft | None:
    if unanswerable(sample) is not None:
        return None
    target = target_of(sample)
    if target is None:
        return None
    template = choose(TEMPLATES, rng)
    return Draft("direction", fill(template, ref), target["direction"], target, ref, template.id)


@memo()
def _parse_direction(raw: str) -> Any:
    """``parse_direction_rule`` of one answer (memoised: each distinct answer read once)."""
    from vl4gaze.parse.direction import parse_direction_rule

    return parse_direction_rule(raw)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """Read one of the eight classes; exact, adjacent and angular error."""
    from vl4gaze.metrics import direction as dir_metrics

    t = out.target = item_target(item)
    d = _parse_direction(raw) if out.error is None else None
    gt = t.direction
    pred = d.direction if d else None
    out.parsed, out.rule = pred, d.rule if d else None
    out.correct = pred == gt
    out.score = float(out.correct)
    angle = t.angle_deg
    out.values.update({
        "accuracy": out.correct,
        "adjacent_accuracy": dir_metrics.adjacent_correct(pred, gt),
        "angular_error": dir_metrics.angular_error(pred, angle) if angle is not None
        else None,
    })


def aggregate(block: TaskBlock, scores: list[ItemScore], items: Mapping[str, QAItem],
              embedder: Any) -> None:
    """Item means, balanced accuracy over the true classes, and the confusion matrix."""
    from vl4gaze.metrics import direction as dir_metrics

    for m in SPEC.metrics:
        if m.name != "balanced_accuracy":
            block.add(m.name, [s.values.get(m.name) for s in scores], m.higher_is_better)
    truth = [s.target.direction for s in scores]
    block.add_balanced(truth, [bool(s.correct) for s in scores])
    conf = dir_metrics.confusion_matrix([s.parsed for s in scores], truth)
    block.block["confusion"] = {"rows": "true", "columns": "predicted (last: unparsed)",
                                "matrix": conf.tolist()}


def gaze_point(item: QAItem) -> tuple[float, float] | None:
    """Where the person looks: the gaze end the class was measured to."""
    return item_target(item).gaze


#: The centre baseline's class without train items.
DEFAULT_DIRECTION = "down"


def _random_baseline(ask: Any) -> str:
    return ask.rng.choice(DIRECTIONS)


def _center_baseline(ask: Any) -> str:
    """The most common train class."""
    return ask.prior.mode(ask.item.task, DEFAULT_DIRECTION)


def _head_baseline(ask: Any) -> str | None:
    """The class from the head to the gaze point the head -> gaze map predicts."""
    from vl4gaze.models.baselines import head_origin

    item = ask.item
    origin = head_origin(item)
    if origin is None:
        return None
    gx, gy = ask.prior.gaze_from_head(origin)
    try:
        return gaze_direction(origin, Point(gx, gy), item.width, item.height)
    except ValueError:  # predicted point on the head: no direction, use the prior
        return _center_baseline(ask)


def fix_point(item: QAItem, x: float, y: float) -> tuple[str, dict[str, Any]]:
    """A clicked gaze point becomes the gaze end; angle and class are measured from the
    eye again, as the build does."""
    eye = item_target(item).eye
    if eye is None:
        raise ValueError(f"item {item.id}: a direction item without an eye point has no "
                         "gaze point to set")
    origin = Point(*eye)
    angle = gaze_angle(origin, Point(x, y), item.width, item.height)
    cls = direction_of_angle(angle)
    return cls, {"gaze": [x, y], "angle_deg": round(angle, 3), "direction": cls}


def fix_answer(item: QAItem, answer: str) -> tuple[str, dict[str, Any]]:
    """A typed fix must be one of the eight classes: the scorer reads the target's class."""
    cls = answer.strip().lower()
    if cls not in DIRECTIONS:
        raise ValueError(f"a direction fix must be one of {', '.join(DIRECTIONS)}; "
                         f"got {answer!r}")
    return cls, {"direction": cls}


def check_target(key: str, value: Any) -> None:
    """The eye and gaze points are normalized; the class is one of the eight."""
    if key in ("eye", "gaze"):
        fixes.pair(key, value)
    elif key == "direction" and value not in DIRECTIONS:
        raise ValueError(f"fixed_target.direction: {value!r} is not one of "
                         f"{', '.join(DIRECTIONS)}")


def detail(item: QAItem) -> str:
    """The gallery's ground-truth line: class and angle."""
    t = item_target(item)
    return f"{t.direction} ({t.angle_deg:.0f}°)" if t.angle_deg is not None else ""


def instruction(point: str) -> str:
    """The system prompt's answer form for a direction question."""
    return (f"Answer with exactly one of: {', '.join(DIRECTIONS)} (as the viewer of the "
            "image sees it).")


def counts(target: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The dataset card counts direction items by class."""
    return (("direction", target["direction"]),)


SPEC = TaskSpec(
    name="direction",
    metrics=(Metric("accuracy"), Metric("adjacent_accuracy"),
             Metric("angular_error", higher_is_better=False), Metric("balanced_accuracy")),
    headline="balanced_accuracy",
    instruction=instruction,
    detail=detail,
    mark="direction",
    score_item=score_item,
    aggregate=aggregate,
    vocabulary=(DIRECTIONS, CHOICES, TEMPLATES),
    baselines={"random": _random_baseline, "center": _center_baseline,
               "head": _head_baseline},
    gaze_point=gaze_point,
    fix_point=fix_point,
    fix_answer=fix_answer,
    check_target=check_target,
    make=make,
    skip_reason=skip_reason,
    counts=counts,
    target_type=DirectionTarget,
    parsed_type=DirectionAnswer,
    figures=(Figure("confusion", "direction_confusion",
                    "Direction task: confusion",
                    key="direction", predicted="direction", classes=DIRECTIONS),),
)
