"""A fifth task for the registry tests (issue 19), written as a plug-in would write one.

``side``: is the person looking into the left or the right half of the picture? The
canonical answer is ``left`` or ``right`` (from the annotators' mean gaze point); the
one metric, ``side_accuracy``, is the share of answers naming that half. It declares no
baselines (the generic ones answer it), a short answer budget (``max_new_tokens=4``), no
parsed-answer type (the parsed value is the bare word) and one report figure, the
confusion of the true half against the word read.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from vl4gaze.metrics.scoring import ItemScore, ScoreContext, TaskBlock
from vl4gaze.schema import GazeSample, QAItem
from vl4gaze.tasks.refs import Draft, Options, Ref, Template, choose, fill, mean_point, unanswerable
from vl4gaze.tasks.registry import Figure, Metric, TaskSpec

NAME = "side"
TEMPLATES = (Template("side/00", "Is {who} looking at the left or the right half of the "
                                 "image? Answer left or right."),
             Template("side/01", "Which half of the picture does {who} look at, left or "
                                 "right?"))


def side_of(x: float) -> str:
    return "left" if x < 0.5 else "right"


def skip_reason(sample: GazeSample) -> str | None:
    return unanswerable(sample)


def make(sample: GazeSample, ref: Ref, options: Options, rng: random.Random) -> Draft | None:
    """One item per answerable sample: the half its mean gaze point lies in."""
    if skip_reason(sample) is not None:
        return None
    mean = mean_point(sample)
    assert mean is not None  # unanswerable() refuses samples without gaze
    template = choose(TEMPLATES, rng)
    return Draft(NAME, fill(template, ref), side_of(mean[0]),
                 {"side": side_of(mean[0]), "gaze": [mean[0], mean[1]]}, ref, template.id)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    words = [w.strip(".,!") for w in raw.lower().split()] if out.error is None else []
    said = next((w for w in words if w in ("left", "right")), None)
    out.parsed, out.rule = said, "word" if said else None
    out.correct = said == item.target["side"]
    out.score = float(out.correct)
    out.values["side_accuracy"] = out.correct


def aggregate(block: TaskBlock, scores: list[ItemScore], items: Mapping[str, QAItem],
              embedder: Any) -> None:
    block.add("side_accuracy", [s.values.get("side_accuracy") for s in scores], True)


SPEC = TaskSpec(
    name=NAME,
    metrics=(Metric("side_accuracy"),),
    headline="side_accuracy",
    instruction=lambda point: "Answer with one word: left or right.",
    score_item=score_item,
    aggregate=aggregate,
    max_new_tokens=4,
    vocabulary=(TEMPLATES,),
    group="toy",
    make=make,
    skip_reason=skip_reason,
    figures=(Figure("confusion", "side_confusion", "Side task: confusion", key="side",
                    classes=("left", "right")),),
)
