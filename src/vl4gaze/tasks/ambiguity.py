"""Task 4, ambiguity: questions that cannot be answered as asked, and look-alikes that can.

A sample yields an ambiguous item when
- the image shows two or more people and the question says only "the person"
  (``unspecified_person``: one item per image, clean image, person_ref ``none``);
- the gaze leaves the frame (``gaze_out_of_frame``: inout ``out``);
- the eyes are closed or hidden, or the target is hidden or unsure
  (``eyes_not_visible``: flags eyes_closed / eyes_hidden / occluded / uncertain);
- the question points at a person who is not there (``person_absent``: a box or head
  coordinates on an empty region, or a description of someone from another image).
Every ambiguity question asks an ordinary gaze question (object, direction or point) and
says it may be unanswerable; the builder adds answerable look-alikes (same templates,
a real in-frame person, ``ambiguous: false``, the real answer) to balance the task.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from pydantic.dataclasses import dataclass

from vl4gaze.metrics.memo import memo
from vl4gaze.metrics.scoring import ItemScore, ScoreContext, TaskBlock
from vl4gaze.schema import (
    AmbiguityReason,
    Answer,
    Box,
    Flag,
    GazeSample,
    InOut,
    PersonRef,
    QAItem,
    Record,
)
from vl4gaze.tasks import direction, point
from vl4gaze.tasks import object as object_task
from vl4gaze.tasks.context import SampleContext
from vl4gaze.tasks.refs import (
    UNREADABLE_FLAGS,
    Draft,
    Options,
    Ref,
    Template,
    box_phrase,
    coords_phrase,
    fill,
    no_ref,
    point_instruction,
    text_phrase,
)
from vl4gaze.tasks.registry import Figure, Metric, TaskSpec

SUFFIX = "If the question cannot be answered from the image, say so and explain why."

_TEXTS: tuple[tuple[str, str], ...] = (
    ("object", "What is {who} looking at?"),
    ("direction", "In which direction is {who} looking, from the viewer's point of view? "
                  + direction.CHOICES),
    ("point", "Where exactly is {who} looking? {fmt}"),
    ("object", "Which object has the attention of {who}?"),
    ("direction", "Which way is {who} looking in the image? " + direction.CHOICES),
    ("point", "Give the point of the image that {who} is gazing at. {fmt}"),
    ("object", "Name what {who} is staring at."),
    ("direction", "Toward which side of the picture is {who} gazing? " + direction.CHOICES),
    ("point", "Locate the spot {who} is looking at. {fmt}"),
)
TEMPLATES: tuple[Template, ...] = tuple(
    Template(f"ambiguity/{i:02d}", f"{text} {SUFFIX}", asks)
    for i, (asks, text) in enumerate(_TEXTS)
)

_FLAG_WHY = {
    Flag.EYES_CLOSED: "the person's eyes are closed",
    Flag.EYES_HIDDEN: "the person's eyes cannot be seen",
    Flag.OCCLUDED: "what the person is looking at is hidden from view",
    Flag.UNCERTAIN: "the person's gaze cannot be made out",
}
_ABSENT_WHY = {
    PersonRef.BOX: "there is no person in the red box",
    PersonRef.COORDS: "there is no person at the given position",
    PersonRef.TEXT: "there is no person matching that description in the image",
}


@dataclass(frozen=True)
class AmbiguityTarget(Record):
    """An ambiguity item's target: whether it is unanswerable and why (an
    ``AmbiguityReason`` value), the task its question asks (object, direction, point),
    the point format, and a look-alike's real target (``expected``)."""

    ambiguous: bool = False
    reason: str | None = None
    asks: str | None = None
    format: str | None = None
    expected: dict[str, Any] | None = None


@dataclass(frozen=True)
class AmbiguityAnswer(Answer):
    """A parsed ambiguity answer: whether it declines and the ``AmbiguityReason`` value it
    gives (the scorer writes ``{"declines": ..., "reason": ...}`` for every answer)."""

    declines: bool
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.reason is not None and self.reason not in set(AmbiguityReason):
            raise ValueError(f"reason {self.reason!r} is not one of "
                             f"{', '.join(AmbiguityReason)}")


def item_target(item: QAItem) -> AmbiguityTarget:
    return AmbiguityTarget.from_dict(item.target)


def cannot(why: str) -> str:
    """The canonical answer of an ambiguous item."""
    return f"It cannot be answered: {why}."


def why_of(reason: AmbiguityReason, sample: GazeSample, ref: Ref) -> str:
    if reason is AmbiguityReason.UNSPECIFIED_PERSON:
        return ("there are several people in the image and the question does not say "
                "which one is meant")
    if reason is AmbiguityReason.GAZE_OUT_OF_FRAME:
        return "the person is looking at something outside the image"
    if reason is AmbiguityReason.EYES_NOT_VISIBLE:
        flag = next(f for f in sample.flags if f in UNREADABLE_FLAGS)
        return _FLAG_WHY[flag]
    return _ABSENT_WHY[ref.kind]


def own_reason(sample: GazeSample) -> AmbiguityReason | None:
    """The reason this person's own questions are unanswerable (None: answerable)."""
    if any(flag in UNREADABLE_FLAGS for flag in sample.flags):
        return AmbiguityReason.EYES_NOT_VISIBLE
    if sample.inout is InOut.OUT:
        return AmbiguityReason.GAZE_OUT_OF_FRAME
    return None


def first_of_image(sample: GazeSample) -> bool:
    """Whether this is the image's first person (image-level items are made once)."""
    return all(sample.person.index < other.index for other in sample.others)


def _question(template: Template, ref: Ref, sample: GazeSample, options: Options) -> str:
    fmt = point_instruction(options.point_format, sample.width, sample.height)
    return fill(template, ref, fmt=fmt)


def ambiguous(sample: GazeSample, reason: AmbiguityReason, ref: Ref, options: Options,
              rng: random.Random) -> Draft:
    """An unanswerable item for ``reason`` (the caller checked that the reason applies)."""
    template = TEMPLATES[rng.randrange(len(TEMPLATES))]
    target = {"ambiguous": True, "reason": reason.value, "asks": template.asks,
              "format": options.point_format}
    return Draft("ambiguity", _question(template, ref, sample, options),
                 cannot(why_of(reason, sample, ref)), target, ref, template.id)


def lookalike(sample: GazeSample, ref: Ref, options: Options, rng: random.Random,
              answers: Mapping[str, Draft] | None = None) -> Draft | None:
    """An answerable look-alike: an ambiguity template about a real in-frame person.

    ``answers`` are the sample's object / direction / point drafts when the caller has
    made them already (the builder); the look-alike copies the one its template asks for.
    """
    if answers is None:
        if point.skip_reason(sample) is not None:
            return None
        made = {name: module.make(sample, ref, options, rng) for name, module in
                (("object", object_task), ("direction", direction), ("point", point))}
        answers = {k: v for k, v in made.items() if v is not None}
    usable = [t for t in TEMPLATES if (t.asks or "") in answers]
    if not usable:
        return None
    template = usable[rng.randrange(len(usable))]
    asks = template.asks or ""
    real = answers[asks]
    target = {"ambiguous": False, "reason": None, "asks": asks,
              "format": options.point_format, "expected": real.target}
    return Draft("ambiguity", _question(template, ref, sample, options), real.answer, target,
                 ref, template.id)


def empty_region(sample: GazeSample, rng: random.Random, tries: int = 40) -> Box | None:
    """A head-sized box where no person is: clear of every head and of the column below
    each head (where its body would be). None when the image has no such place."""
    head = sample.person.head
    w = min(max(head.width, 0.06), 0.3)
    h = min(max(head.height, 0.06), 0.3)
    heads = [o.as_tuple() for o in (sample.person.head, *(p.head for p in sample.others))]
    for _ in range(tries):
        x1 = rng.uniform(0.0, 1.0 - w)
        y1 = rng.uniform(0.0, 1.0 - h)
        if not any(_blocked(x1, x1 + w, y1 + h, other) for other in heads):
            return Box(x1, y1, x1 + w, y1 + h)
    return None


def _blocked(x1: float, x2: float, y2: float, head: tuple[float, float, float, float],
             margin: float = 0.02) -> bool:
    """Whether a box spanning [x1, x2] down to y2 touches ``head`` or the body column
    under it."""
    hx1, hy1, hx2, _ = head
    return x1 < hx2 + margin and x2 > hx1 - margin and y2 > hy1 - margin


def absent_ref(sample: GazeSample, box: Box, options: Options,
               description: str | None) -> Ref:
    """The reference to a person who is not there, in the build's reference style."""
    if options.person_ref == PersonRef.TEXT and description:
        return Ref(PersonRef.TEXT, text_phrase(description), None, None)
    if options.person_ref == PersonRef.COORDS:
        return Ref(PersonRef.COORDS,
                   coords_phrase(box, options.point_format, sample.width, sample.height),
                   box, None)
    return Ref(PersonRef.BOX, box_phrase(), box, box)


def make_from(ctx: SampleContext) -> Iterator[Draft]:
    """The sample's ambiguity items, after the other tasks made theirs: its own
    unanswerable question (or else an answerable look-alike, kept in reserve), and once
    per image the unspecified-person question and, at ``absent_rate``, one about a
    person who is not there."""
    sample, ref, opts, rng = ctx.sample, ctx.ref, ctx.options, ctx.rng
    reason = own_reason(sample)
    if reason is not None:
        yield ambiguous(sample, reason, ref, opts, rng)
    elif ctx.answers:
        # Single-person images also ask about "the person": answerable there.
        like_ref = ref
        if not sample.others and rng.random() < 0.5:
            like_ref = no_ref()
        draft = lookalike(sample, like_ref, opts, rng, ctx.answers)
        if draft is not None:
            yield replace(draft, reserve=True)
    if not first_of_image(sample):
        return
    if sample.others:
        yield ambiguous(sample, AmbiguityReason.UNSPECIFIED_PERSON, no_ref(), opts, rng)
    if rng.random() < ctx.absent_rate:
        box = empty_region(sample, rng)
        if box is None:
            ctx.skip("no_empty_region")
            return
        others = ctx.descriptions_elsewhere()
        text = others[rng.randrange(len(others))] if others else None
        absent = absent_ref(sample, box, opts, text)
        yield ambiguous(sample, AmbiguityReason.PERSON_ABSENT, absent, opts, rng)


def counts(target: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The dataset card counts ambiguity items by reason (``answerable`` for look-alikes)."""
    return (("reason", target.get("reason") or "answerable"),)


@memo()
def _parse_ambiguity(raw: str) -> Any:
    """``parse_ambiguity`` of one answer (memoised: each distinct answer read once)."""
    from vl4gaze.parse.ambiguity import parse_ambiguity

    return parse_ambiguity(raw)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """Did the answer decline, and should it have?"""
    t = out.target = item_target(item)
    a = _parse_ambiguity(raw) if out.error is None else None
    declines = bool(a and a.declines)
    out.parsed = {"declines": declines, "reason": a.reason if a else None}
    out.rule = a.rule if a else None
    out.correct = declines == t.ambiguous
    out.score = float(out.correct)
    out.values.update({"declines": declines, "ambiguous": t.ambiguous,
                       "accuracy": out.correct})


def aggregate(block: TaskBlock, scores: list[ItemScore], items: Mapping[str, QAItem],
              embedder: Any) -> None:
    """Declining as a binary decision (positive: ambiguous), balanced accuracy, and the
    decline rate per ambiguity reason."""
    from vl4gaze.metrics import ambiguity as amb_metrics

    y_true = np.array([s.values["ambiguous"] for s in scores], dtype=bool)
    y_pred = np.array([s.values["declines"] for s in scores], dtype=bool)
    block.add_binary(y_true, y_pred)  # accuracy, precision, recall, f1
    block.add_balanced(list(y_true), list(y_true == y_pred))
    block.block["per_reason"] = amb_metrics.per_reason(
        [s.target.reason for s in scores], list(y_pred),
        [s.parsed["reason"] if s.parsed else None for s in scores])


def single(s: ItemScore, item: QAItem, embedder: Any) -> dict[str, Any]:
    """One answer alone (lmms-eval): the decision, the truth and whether they agree."""
    return {k: s.values[k] for k in ("declines", "ambiguous", "accuracy")}


#: The baselines' decline and answer without train items.
FALLBACK_DECLINE = "It cannot be answered: the question is ambiguous."
FALLBACK_ANSWER = "The person is looking at something in the image."


def _split(prior: Any, task: object) -> tuple[list[str], list[str]]:
    """The train answers that decline, and those that answer (item-id order)."""
    def compute() -> tuple[list[str], list[str]]:
        items = [(it.answer, item_target(it).ambiguous) for it in prior.items(task)]
        return ([a for a, ambiguous in items if ambiguous],
                [a for a, ambiguous in items if not ambiguous])
    return prior.memo(("ambiguity-split", str(task)), compute)


def _random_baseline(ask: Any) -> str:
    """A coin flip between a random train decline and a random train answer."""
    declines, answers = _split(ask.prior, ask.item.task)
    if ask.rng.random() < 0.5:
        return ask.rng.choice(declines) if declines else FALLBACK_DECLINE
    return ask.rng.choice(answers) if answers else FALLBACK_ANSWER


def _decline(ask: Any) -> str:
    from vl4gaze.models.baselines import mode

    return mode(_split(ask.prior, ask.item.task)[0], FALLBACK_DECLINE)


def _center_baseline(ask: Any) -> str:
    """The majority decision: the most common decline, or the most common answer."""
    from vl4gaze.models.baselines import mode

    declines, answers = _split(ask.prior, ask.item.task)
    return _decline(ask) if len(declines) > len(answers) else mode(answers, FALLBACK_ANSWER)


def _head_baseline(ask: Any) -> str | None:
    """Decline a question with no head box; otherwise as ``center``."""
    return _decline(ask) if ask.item.person_head is None else None


def check_target(key: str, value: Any) -> None:
    """``ambiguous`` is true/false; ``reason`` one of the ambiguity reasons or null."""
    if key == "ambiguous" and not isinstance(value, bool):
        raise ValueError(f"fixed_target.ambiguous: {value!r} is not true/false")
    if key == "reason" and value is not None and value not in set(AmbiguityReason):
        raise ValueError(f"fixed_target.reason: {value!r} is not one of "
                         f"{', '.join(AmbiguityReason)} or null")


def detail(item: QAItem) -> str:
    """The gallery's ground-truth line: why the question is ambiguous, if it is."""
    t = item_target(item)
    return "ambiguous: " + (t.reason or "no") if t.ambiguous else "answerable"


def instruction(point: str) -> str:
    """The system prompt's answer form for an ambiguity question: decline, or answer as
    the object, point or direction task would."""
    decline = ("If the question cannot be answered from the image (it is unclear which "
               "person is meant, the person looks outside the image, their eyes are closed "
               "or hidden, or no such person is there), answer 'It cannot be answered: "
               "<why>.'")
    return (f"{decline} Otherwise answer the question: {object_task.instruction(point)} "
            f"For a point: {point} For a direction: {direction.instruction(point)}")


SPEC = TaskSpec(
    name="ambiguity",
    metrics=(Metric("accuracy"), Metric("precision"), Metric("recall"), Metric("f1"),
             Metric("balanced_accuracy")),
    headline="balanced_accuracy",
    instruction=instruction,
    detail=detail,
    score_item=score_item,
    aggregate=aggregate,
    single=single,
    make_from=make_from,
    counts=counts,
    vocabulary=(SUFFIX, _TEXTS, TEMPLATES, _FLAG_WHY, _ABSENT_WHY),
    baselines={"random": _random_baseline, "center": _center_baseline,
               "head": _head_baseline},
    check_target=check_target,
    target_type=AmbiguityTarget,
    parsed_type=AmbiguityAnswer,
    figures=(Figure("accuracy_by", "ambiguity_by_reason", "Ambiguity task: accuracy by reason",
                    key="reason", default="answerable"),),
)
