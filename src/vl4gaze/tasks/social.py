"""What the three social tasks share: who looks at whom, the two-person references, the
yes/no scoring.

Rules (the truth of ``mutual``, ``shared`` and ``whom``; each item's target records which
one decided, and the dataset card counts them):

- A person's gaze is *readable* when the sample has no unreadable flag (eyes closed or
  hidden, target hidden, annotators unsure). Unreadable pairs are not asked.
- *A looks at B* when A's source target is a person whose box is B's head (IoU >= 0.5 or
  B's head centre inside it; rule ``target``), else when A's mean gaze point lies in B's
  head box grown by ``HEAD_MARGIN`` of its larger side on every side (rule ``gaze``).
  A whose gaze leaves the frame looks at nobody in it (rule ``out_of_frame``).
- *A and B look at the same thing* when both targets have a box (objects known: GazeWorld,
  GOO, annotated sources) and the boxes overlap with IoU >= ``SAME_OBJECT_IOU`` (rule
  ``object``); without boxes, when their mean gaze points lie within ``SAME_POINT``
  (normalized distance) of each other, and not when they are more than
  ``DIFFERENT_POINT`` apart (rule ``gaze_distance``); a pair in between is not asked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic.dataclasses import dataclass

from vl4gaze.geometry import box_iou
from vl4gaze.metrics.scoring import ItemScore, TaskBlock
from vl4gaze.schema import Answer, Box, GazeSample, InOut, PersonRef, QAItem, Record
from vl4gaze.tasks import fixes, registry
from vl4gaze.tasks.refs import (
    UNREADABLE_FLAGS,
    Options,
    Ref,
    Template,
    box_phrase,
    coords_phrase,
    mean_point,
    r6,
    text_phrase,
)
from vl4gaze.tasks.registry import Figure, Metric, TaskSpec

#: Growth of the other person's head box, per side, as a share of its larger side.
HEAD_MARGIN = 0.25
#: Two target boxes are the same object at this IoU or more.
SAME_OBJECT_IOU = 0.5
#: Without object boxes: gaze points at most this far apart look at the same thing ...
SAME_POINT = 0.06
#: ... and more than this far apart at different things (in between: not asked).
DIFFERENT_POINT = 0.2

YES, NO = "Yes.", "No."
#: The ``rule`` of a label a reviewer set (``vl4gaze review``): no geometric rule decided it.
REVIEWED = "review"
#: Every social item's possible labels (``yes`` / ``no``; whom: ``other`` / ``nobody``).
LABELS = ("yes", "no", "other", "nobody")

#: The metrics of a two-choice social task (positive: ``yes`` / the other person).
METRICS = (Metric("accuracy"), Metric("balanced_accuracy"), Metric("f1"),
           Metric("precision"), Metric("recall"), Metric("decline_rate", False))

HeadBox = tuple[float, float, float, float]
GazePoint = tuple[float, float] | None


@dataclass(frozen=True)
class PairTarget(Record):
    """What every social item's target holds (``pair_target`` writes it): the label and
    the rule that decided it, both people's head boxes and mean gaze points (normalized,
    None out of frame), the person asked about first. Each task's target extends it."""

    #: The task's two labels, the positive one (what the metrics call positive) first.
    LABELS: ClassVar[tuple[str, str]] = ("yes", "no")

    label: str
    rule: str
    heads: tuple[HeadBox, HeadBox]
    gazes: tuple[GazePoint, GazePoint]

    @property
    def positive(self) -> bool:
        return self.label == self.LABELS[0]

    def answers(self) -> tuple[str, str]:
        """The canonical answers of the two labels, in ``LABELS`` order."""
        return YES, NO

    def answer_of(self, label: str) -> str:
        return self.answers()[self.LABELS.index(label)]


@dataclass(frozen=True)
class ChoiceAnswer(Answer):
    """A parsed two-choice answer: the choice read (a label: ``yes`` / ``no``, ``other`` /
    ``nobody``; None for a refusal) and whether it declined (the scorer writes
    ``{"choice": ..., "declines": ...}``, or nothing when it read neither)."""

    choice: str | None
    declines: bool

    def __post_init__(self) -> None:
        if self.choice is not None and self.choice not in LABELS:
            raise ValueError(f"choice {self.choice!r} is not one of {', '.join(LABELS)}")


def templates(task: str, texts: tuple[str, ...], suffix: str) -> tuple[Template, ...]:
    return tuple(Template(f"{task}/{i:02d}", f"{text} {suffix}") for i, text in enumerate(texts))


def readable(sample: GazeSample) -> bool:
    return not any(flag in UNREADABLE_FLAGS for flag in sample.flags)


def grown(head: Box, margin: float = HEAD_MARGIN) -> tuple[float, float, float, float]:
    m = margin * max(head.width, head.height)
    return (head.x1 - m, head.y1 - m, head.x2 + m, head.y2 + m)


def looks_at(a: GazeSample, b_head: Box) -> tuple[bool, str] | None:
    """Whether A looks at the person whose head is ``b_head``, and the rule that said so;
    None when A's gaze cannot be read."""
    if not readable(a):
        return None
    if a.inout == InOut.OUT:
        return False, "out_of_frame"
    t = a.target
    if t.kind == "person" and t.box is not None:
        c = b_head.center
        return (box_iou(t.box, b_head) >= SAME_OBJECT_IOU or t.box.contains(c)), "target"
    mean = mean_point(a)
    if mean is None:
        return None
    x1, y1, x2, y2 = grown(b_head)
    return (x1 <= mean[0] <= x2 and y1 <= mean[1] <= y2), "gaze"


def same_target(a: GazeSample, b: GazeSample) -> tuple[bool, str] | None:
    """Whether A and B look at the same thing (rules above); None: not asked."""
    if not (readable(a) and readable(b)) or InOut.OUT in (a.inout, b.inout):
        return None
    if a.target.box is not None and b.target.box is not None:
        return box_iou(a.target.box, b.target.box) >= SAME_OBJECT_IOU, "object"
    pa, pb = mean_point(a), mean_point(b)
    if pa is None or pb is None:
        return None
    d = math.dist(pa, pb)
    if d <= SAME_POINT:
        return True, "gaze_distance"
    if d > DIFFERENT_POINT:
        return False, "gaze_distance"
    return None


def why_not(a: GazeSample, b: GazeSample) -> str:
    """The skip reason of a pair no rule decides."""
    if not (readable(a) and readable(b)):
        return "eyes_not_visible"
    if InOut.OUT in (a.inout, b.inout):
        return "gaze_out_of_frame"
    if not (a.gaze and b.gaze):
        return "no_gaze_point"
    return "gaze_points_in_between"


def pair_refs(a: GazeSample, b: GazeSample, options: Options) -> tuple[Ref, str]:
    """The reference to A (carrying both markers) and the phrase for B, in the build's
    person reference style (``text`` needs two different descriptions, else boxes)."""
    kind = options.person_ref
    da, db = a.person.description, b.person.description
    if kind == "text" and da and db and da.strip().lower() != db.strip().lower():
        return Ref(PersonRef.TEXT, text_phrase(da), a.person.head, None), text_phrase(db)
    if kind == "coords":
        fmt, w, h = options.point_format, a.width, a.height
        return (Ref(PersonRef.COORDS, coords_phrase(a.person.head, fmt, w, h), a.person.head,
                    None), coords_phrase(b.person.head, fmt, w, h))
    return (Ref(PersonRef.BOX, box_phrase(0), a.person.head, a.person.head,
                other_marker=b.person.head), box_phrase(1))


def fill_pair(template: Template, a: str, b: str) -> str:
    text = template.text.format(a=a, b=b)
    return text[:1].upper() + text[1:]


def pair_target(a: GazeSample, b: GazeSample, label: str, rule: str,
                **extra: Any) -> dict[str, Any]:
    """The fields every social item's target holds: the label and the rule that decided
    it, both heads and both mean gaze points (None out of frame), the other phrase."""
    def pt(s: GazeSample) -> list[float] | None:
        m = mean_point(s)
        return None if m is None else [r6(m[0]), r6(m[1])]

    return {"label": label, "rule": rule,
            "heads": [[r6(v) for v in s.person.head.as_tuple()] for s in (a, b)],
            "gazes": [pt(a), pt(b)], **extra}


def counts(task: str):
    """The dataset card's counts for a social task: its labels and deciding rules."""
    def of(target: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        return ((f"{task}", str(target.get("label"))),
                (f"{task}_rule", f"{target.get('label')}:{target.get('rule')}"))
    return of


def balance(target: Mapping[str, Any]) -> str:
    """The class the builder balances: the label."""
    return str(target.get("label"))


def score_choice(out: ItemScore, got: Any, raw: str, truth: str, positive: str) -> None:
    """Fill a two-choice item's score from what the parser read (``got``: a
    ``parse.choice.Choice`` or None): correct when the choice is the truth; an unread
    answer (or a refusal, read as the ambiguity task reads it) is wrong either way."""
    from vl4gaze.parse.ambiguity import parse_ambiguity

    chosen = got.value if got else None
    declines = out.error is None and got is None and parse_ambiguity(raw).declines
    out.rule = got.rule if got else ("declines" if declines else None)
    # Unread (neither choice nor a refusal): parsed None, so the parse rate counts it.
    out.parsed = ({"choice": chosen, "declines": declines}
                  if chosen is not None or declines else None)
    out.correct = chosen == truth
    out.score = float(out.correct)
    out.values.update({"truth": truth == positive, "accuracy": out.correct,
                       "predicted": None if chosen is None else chosen == positive,
                       "declines": declines})


def aggregate(block: TaskBlock, scores: list[ItemScore], items: Mapping[str, QAItem],
              embedder: Any) -> None:
    """Accuracy, balanced accuracy, F1 (positive: yes / the other person) with bootstrap
    intervals, the share of refusals, and accuracy per source. An unread answer counts
    as the wrong choice."""
    y_true = np.array([bool(s.values.get("truth")) for s in scores], dtype=bool)
    y_pred = np.array([(not s.values["truth"]) if s.values.get("predicted") is None
                       else bool(s.values["predicted"]) for s in scores], dtype=bool)
    block.add_binary(y_true, y_pred)  # accuracy, precision, recall, f1
    block.add_balanced(list(y_true), list(y_true == y_pred))
    block.add("decline_rate", [bool(s.values.get("declines")) for s in scores], False)
    per_source: dict[str, list[bool]] = {}
    for s in scores:
        per_source.setdefault(items[s.item_id].source, []).append(bool(s.correct))
    block.block["per_source"] = {src: {"n": len(v), "accuracy": float(np.mean(v))}
                                 for src, v in sorted(per_source.items())}


def single(s: ItemScore, item: QAItem, embedder: Any) -> dict[str, Any]:
    """One answer alone (lmms-eval): whether it chose right."""
    return {"accuracy": float(bool(s.correct))}


def detail(item: QAItem) -> str:
    """The gallery's ground-truth line: the label and the rule that decided it."""
    t = registry.target_of(item)
    return f"{t.label} ({t.rule})"


# -- review (``TaskSpec.fix_answer`` / ``check_target``; ``vl4gaze.review`` calls these) --

def relabel(target: PairTarget, label: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """A reviewer's label as (canonical answer, target changes): no change when it is the
    label the rules gave, else the label with rule ``REVIEWED`` (and ``extra``, the
    task's fields that follow from it)."""
    changes = {} if label == target.label else {"label": label, "rule": REVIEWED, **extra}
    return target.answer_of(label), changes


def yes_no_fix(task: str, text: str) -> str:
    """A typed yes/no fix as the scorer reads an answer (``parse_yes_no``): its label."""
    from vl4gaze.parse.choice import parse_yes_no

    got = parse_yes_no(text)
    if got is None:
        raise ValueError(f"a {task} fix must answer yes or no; got {text!r}")
    return got.value


def check_pair(kind: type[PairTarget], key: str, value: Any) -> None:
    """The fields every social target has: ``label`` one of the task's two, ``rule``
    text, ``heads`` two normalized boxes, ``gazes`` two normalized points (or null)."""
    if key == "label" and value not in kind.LABELS:
        raise ValueError(f"fixed_target.label: {value!r} is not one of "
                         f"{', '.join(kind.LABELS)}")
    if key == "rule" and not (isinstance(value, str) and value):
        raise ValueError(f"fixed_target.rule: {value!r} is not a rule name")
    if key in ("heads", "gazes") and not (isinstance(value, list | tuple) and len(value) == 2):
        raise ValueError(f"fixed_target.{key}: expected one for each of the two people, "
                         f"got {value!r}")
    if key == "heads":
        for i, head in enumerate(value):
            if fixes.box(f"heads[{i}]", head) is None:
                raise ValueError(f"fixed_target.heads[{i}]: a head box is needed")
    elif key == "gazes":
        for i, gaze in enumerate(value):
            if gaze is not None:
                fixes.pair(f"gazes[{i}]", gaze)


# -- baselines (``TaskSpec.baselines``; ``vl4gaze.models.baselines`` calls these) ---------

def _answer(item: QAItem, positive: bool) -> str:
    yes, no = registry.target_of(item).answers()
    return yes if positive else no


def _random(ask: Any) -> str:
    """A fair coin between the two answers (the item's own seeded rng)."""
    return _answer(ask.item, ask.rng.random() < 0.5)


def _center(ask: Any) -> str:
    """The train split's more common label, in this item's words (ties: positive)."""
    task = str(ask.item.task)

    def count() -> float:
        targets = [registry.target_of(it) for it in ask.prior.items(task)]
        return sum(t.positive for t in targets) / len(targets) if targets else 1.0
    return _answer(ask.item, ask.prior.memo(("social-share", task), count) >= 0.5)


def predicted_gazes(ask: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the ``head`` baseline puts both people's gaze: the train split's head ->
    gaze map applied to each head centre."""
    a, b = (ask.prior.gaze_from_head(Box(*head).center)
            for head in registry.target_of(ask.item).heads)
    return a, b


def _inside(point: tuple[float, float], head: HeadBox) -> bool:
    x1, y1, x2, y2 = grown(Box(*head))
    return x1 <= point[0] <= x2 and y1 <= point[1] <= y2


def head_mutual(ask: Any) -> str:
    """Geometric floor: both extrapolated gaze points land in the other's head."""
    (pa, pb), (ha, hb) = predicted_gazes(ask), registry.target_of(ask.item).heads
    return _answer(ask.item, _inside(pa, hb) and _inside(pb, ha))


def head_shared(ask: Any) -> str:
    """Geometric floor: both extrapolated gaze points lie closer than halfway between
    the same-thing and different-things distances."""
    pa, pb = predicted_gazes(ask)
    return _answer(ask.item, math.dist(pa, pb) <= (SAME_POINT + DIFFERENT_POINT) / 2)


def head_whom(ask: Any) -> str:
    """Geometric floor: the first person's extrapolated gaze lands in the other's head."""
    pa, _ = predicted_gazes(ask)
    return _answer(ask.item, _inside(pa, registry.target_of(ask.item).heads[1]))


def baselines(head: Any) -> dict[str, Any]:
    """A social task's baselines: a fair coin, the train majority, the geometric floor."""
    return {"random": _random, "center": _center, "head": head}


def spec(name: str, *, title: str, instruction: Any, score_item: Any, make_pair: Any,
         head: Any, max_new_tokens: int, vocabulary: tuple[object, ...],
         target_type: type[PairTarget],
         fix_answer: Callable[[QAItem, str], tuple[str, dict[str, Any]]],
         check_target: Callable[[str, Any], None]) -> TaskSpec:
    """The ``TaskSpec`` of a social task: what the three share (group, metrics and
    headline, aggregation, counts, balance, baselines, the parsed choice and the report's
    label confusion of ``target_type.LABELS``, under ``title``) around the task's own
    parts."""
    return TaskSpec(
        name=name, group="social", metrics=METRICS, headline="balanced_accuracy",
        instruction=instruction, detail=detail, score_item=score_item, aggregate=aggregate,
        single=single, make_pair=make_pair, counts=counts(name), balance=balance,
        baselines=baselines(head), max_new_tokens=max_new_tokens, vocabulary=vocabulary,
        target_type=target_type, fix_answer=fix_answer, check_target=check_target,
        parsed_type=ChoiceAnswer,
        figures=(Figure("confusion", f"{name}_confusion", f"{title}: confusion",
                        key="label", predicted="choice", classes=target_type.LABELS),))
