"""Task 3, point: where exactly is the person looking? Answer: one (x, y) point.

The canonical answer is the annotators' mean point in the build's point format
(``(0.512, 0.337)``, ``(512, 337)`` or pixels); the target keeps every annotator's
point, always normalized at full float precision (the metrics compute pixels from it;
only the answer text is rounded), and names the answer's ``format``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic.dataclasses import dataclass

from vl4gaze.geometry import format_point
from vl4gaze.metrics.memo import memo
from vl4gaze.metrics.scoring import ItemScore, ScoreContext, TaskBlock
from vl4gaze.schema import Answer, GazeSample, QAItem, Record
from vl4gaze.tasks import fixes
from vl4gaze.tasks.refs import (
    Draft,
    Options,
    Ref,
    Template,
    choose,
    fill,
    mean_point,
    point_instruction,
    unanswerable,
)
from vl4gaze.tasks.registry import Figure, Metric, TaskSpec

TEMPLATES: tuple[Template, ...] = tuple(
    Template(f"point/{i:02d}", text + " {fmt}") for i, text in enumerate((
        "Where exactly is {who} looking?",
        "At which point in the image is {who} looking?",
        "Give the image location that {who} is looking at.",
        "Point to the spot where {who} is gazing.",
        "What point of the image does the gaze of {who} land on?",
        "Locate the gaze target of {who}.",
        "Where in the image is the attention of {who} focused?",
        "Mark the exact place {who} is looking at.",
    ))
)


@dataclass(frozen=True)
class PointTarget(Record):
    """A point item's target: every annotator's point, their mean, the eye (normalized,
    full precision) and the answer's point format."""

    points: tuple[tuple[float, float], ...] | None = None
    mean: tuple[float, float] | None = None
    eye: tuple[float, float] | None = None
    format: str | None = None


@dataclass(frozen=True)
class PointAnswer(Answer):
    """A parsed point (normalized; it may lie a little outside the image): the scorer
    writes ``[x, y]``, rounded to 6 decimals."""

    x: float
    y: float

    @classmethod
    def of(cls, value: Any) -> PointAnswer:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(f"a parsed point is [x, y]; got {value!r}")
        return cls.from_dict({"x": value[0], "y": value[1]})


def item_target(item: QAItem) -> PointTarget:
    return PointTarget.from_dict(item.target)


def target_of(sample: GazeSample, point_format: str) -> dict[str, Any] | None:
    mean = mean_point(sample)
    if mean is None:
        return None
    eye = sample.eye_or_head
    # Full precision: metrics compute pixels from these (int(x * W) of the AUC target);
    # rounding to 6 decimals moved that pixel for 25-49 % of integer pixel positions.
    return {"points": [[float(p.x), float(p.y)] for p in sample.gaze],
            "mean": [float(mean[0]), float(mean[1])], "eye": [float(eye.x), float(eye.y)],
            "format": point_format}


def answer_of(sample: GazeSample, point_format: str) -> str:
    mean = mean_point(sample)
    if mean is None:
        raise ValueError(f"sample {sample.source_id!r} has no gaze point")
    return format_point(mean[0], mean[1], point_format, sample.width, sample.height)


def skip_reason(sample: GazeSample) -> str | None:
    return unanswerable(sample)


def make(sample: GazeSample, ref: Ref, options: Options, rng: random.Random) -> Draft | None:
    if unanswerable(sample) is not None:
        return None
    template = choose(TEMPLATES, rng)
    fmt = point_instruction(options.point_format, sample.width, sample.height)
    return Draft("point", fill(template, ref, fmt=fmt),
                 answer_of(sample, options.point_format),
                 target_of(sample, options.point_format) or {}, ref, template.id)


def _image_size(item: QAItem) -> tuple[int, int]:
    """The size the question states; the parser derives a family's own input size
    (Qwen2.5-VL's resize) from it, so plain pixel answers use the stated size."""
    return (item.width, item.height)


@memo()
def _parse_point(raw: str, convention: str, size: tuple[int, int], hint: str | None,
                 resize: tuple[tuple[str, int], ...] | None) -> Any:
    """``parse_point`` of one answer in its context (memoised: repeated answers in the
    same context are read once); ``resize`` as sorted (key, value) pairs."""
    from vl4gaze.parse.conventions import qwen25vl_input_size
    from vl4gaze.parse.points import parse_point

    return parse_point(raw, convention, size, hint=hint,
                       input_size=qwen25vl_input_size(*size, **dict(resize))
                       if resize else None)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """Read the point (or the heatmap's peak) and fill the item's distances and hits;
    AUC for a heatmap, under the item's own dataset's definition."""
    from vl4gaze.metrics import point as point_metrics

    t = item_target(item)
    gts = list(t.points or ()) or [t.mean]
    parsed = None
    usable = out.error is None
    if usable and ctx.heatmap is not None:
        hm = np.asarray(ctx.heatmap, dtype=float)
        parsed, out.rule = point_metrics.heatmap_to_point(hm), "heatmap"
        # The item's own dataset decides how AUC is computed (VAT, GOO, GazeFollow).
        out.values["auc"] = point_metrics.auc(
            hm, gts, item.width, item.height, point_metrics.auc_definition(item.source))
    elif usable:
        p = _parse_point(raw, ctx.convention, _image_size(item), t.format,
                         tuple(sorted(ctx.resize.items())) if ctx.resize else None)
        if p is not None:
            parsed, out.rule = p.as_tuple(), p.rule
    if parsed is None:
        out.correct = False
        out.values.update({"acc@0.1": False, "acc@0.2": False})
        return
    l2 = point_metrics.avg_l2(parsed, gts)
    eye = t.eye
    out.parsed = [round(parsed[0], 6), round(parsed[1], 6)]
    out.correct, out.score = l2 <= 0.1, l2
    out.values.update({
        "avg_l2": l2, "min_l2": point_metrics.min_l2(parsed, gts),
        "acc@0.1": l2 <= 0.1, "acc@0.2": l2 <= 0.2,
        "angular_error": point_metrics.angular_error(parsed, gts, eye) if eye else None,
    })


def aggregate(block: TaskBlock, scores: list[ItemScore], items: Mapping[str, QAItem],
              embedder: Any) -> None:
    """The declared metrics as item means, then ``auc`` when heatmaps were scored."""
    for m in SPEC.metrics:
        block.add(m.name, [s.values.get(m.name) for s in scores], m.higher_is_better)
    _add_auc(block, scores, items)


def _add_auc(block: TaskBlock, scores: list[ItemScore], items: Mapping[str, QAItem]) -> None:
    """The point block's ``auc`` (each item under its source's definition) and
    ``auc_definition``: which definition each source used and what it computes. With
    more than one definition present, ``auc:<definition>`` gives each one's mean too."""
    from vl4gaze.metrics import point as point_metrics

    scored = [s for s in scores if "auc" in s.values]
    if not scored:
        return
    block.add("auc", [s.values.get("auc") for s in scores], True)
    by_source = {src: point_metrics.auc_definition(src)
                 for src in sorted({items[s.item_id].source for s in scored})}
    used = sorted(set(by_source.values()))
    block.block["auc_definition"] = {"by_source": by_source,
                                     "definitions": {d: point_metrics.AUC_DEFINITIONS[d]
                                                     for d in used}}
    if len(used) > 1:
        for d in used:
            block.add(f"auc:{d}", [s.values.get("auc")
                                   if by_source.get(items[s.item_id].source) == d
                                   else None for s in scores], True)


def gaze_point(item: QAItem) -> tuple[float, float] | None:
    """Where the person looks: the annotators' mean point."""
    return item_target(item).mean


def _random_baseline(ask: Any) -> str:
    """A uniformly random point."""
    return ask.point(ask.rng.random(), ask.rng.random())


def _center_baseline(ask: Any) -> str:
    """The image centre."""
    return ask.point(0.5, 0.5)


def _head_baseline(ask: Any) -> str | None:
    """The train split's head -> gaze map applied to this head (None: no head)."""
    from vl4gaze.models.baselines import head_origin

    origin = head_origin(ask.item)
    return None if origin is None else ask.point(*ask.prior.gaze_from_head(origin))


def _text_only_baseline(ask: Any) -> str | None:
    """The mean point of the first group of similar train items that has points (each
    group's mean computed once: the groups live as long as the baseline)."""
    def mean_of(group: list[QAItem]) -> tuple[float, float] | None:
        means = [m for m in (item_target(it).mean for it in group) if m]
        return tuple(float(v) for v in np.array(means).mean(axis=0)) if means else None

    for group in filter(None, ask.similar):
        mean = ask.prior.memo(("point-mean", id(group)), lambda g=group: mean_of(g))
        if mean is not None:
            return ask.point(*mean)
    return None


def fix_point(item: QAItem, x: float, y: float) -> tuple[str, dict[str, Any]]:
    """A clicked gaze point becomes the only annotation (in the item's answer format)."""
    fmt = item_target(item).format or "norm"
    return (format_point(x, y, fmt, item.width, item.height),
            {"points": [[x, y]], "mean": [x, y]})


def fix_answer(item: QAItem, answer: str) -> tuple[str, dict[str, Any]]:
    """A typed point fix must be a point inside the image in the question's format: the
    scorer reads the target's points, not the answer text."""
    from vl4gaze.parse.points import parse_point

    fmt = item_target(item).format or "norm"
    parsed = parse_point(answer, fmt, (item.width, item.height))
    if parsed is None:
        raise ValueError(f"a point fix must be a point inside the image in the "
                         f"question's format ({fmt}); got {answer!r}")
    return fix_point(item, *fixes.pair("point", [parsed.x, parsed.y]))


def check_target(key: str, value: Any) -> None:
    """The annotators' points, their mean and the eye: normalized coordinates."""
    if key in ("mean", "eye"):
        fixes.pair(key, value)
    elif key == "points":
        fixes.pairs(key, value)


def detail(item: QAItem) -> str:
    """The gallery's ground-truth line: how many annotators clicked."""
    points = item_target(item).points
    return f"{len(points)} annotator point(s)" if points else ""


def instruction(point: str) -> str:
    """The system prompt's answer form for a point question (``point``: the format)."""
    return f"Answer with the point the person is looking at. {point}"


SPEC = TaskSpec(
    name="point",
    metrics=(Metric("avg_l2", higher_is_better=False), Metric("min_l2", higher_is_better=False),
             Metric("acc@0.1"), Metric("acc@0.2"),
             Metric("angular_error", higher_is_better=False)),
    headline="acc@0.1",
    instruction=instruction,
    detail=detail,
    mark="point",
    score_item=score_item,
    aggregate=aggregate,
    vocabulary=(TEMPLATES,),
    baselines={"random": _random_baseline, "center": _center_baseline,
               "head": _head_baseline, "text-only": _text_only_baseline},
    gaze_point=gaze_point,
    fix_point=fix_point,
    fix_answer=fix_answer,
    check_target=check_target,
    make=make,
    skip_reason=skip_reason,
    target_type=PointTarget,
    parsed_type=PointAnswer,
    figures=(Figure("score_cdf", "point_l2_cdf", "Point task: cumulative distribution of L2",
                    xlabel="L2 to the annotators' mean point (normalized)",
                    ylabel="share of point items", marks=(0.1, 0.2)),),
)
