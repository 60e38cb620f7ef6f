"""Task 3, point: where exactly is the person looking? Answer: one (x, y) point.

The canonical answer is the annotators' mean point in the build's point format
(``(0.512, 0.337)``, ``(512, 337)`` or pixels); the target keeps every annotator's
point, always normalized at full float precision (the metrics compute pixels from it;
only the answer text is rounded), and names the answer's ``format``.
"""

from __future__ import annotations

import random
from typing import Any

from vl4gaze.geometry import format_point
from vl4gaze.schema import GazeSample
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
from vl4gaze.tasks.registry import Metric, TaskSpec

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
    vocabulary=(TEMPLATES,),
)
