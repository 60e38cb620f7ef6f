"""Social task 2, shared attention: are the two marked people looking at the same thing?

Yes when both targets are the same object (boxes known: IoU >= ``SAME_OBJECT_IOU``), or,
without object boxes, when both mean gaze points lie within ``SAME_POINT`` of each other;
no when the objects differ or the points lie more than ``DIFFERENT_POINT`` apart (see
``vl4gaze.tasks.social``). Pairs where either gaze leaves the frame or cannot be read,
and pairs in between the two distances, are not asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic.dataclasses import dataclass

from vl4gaze.metrics.scoring import ItemScore, ScoreContext
from vl4gaze.schema import QAItem
from vl4gaze.tasks import mutual, social
from vl4gaze.tasks.context import PairContext
from vl4gaze.tasks.refs import Draft, choose

SUFFIX = "Answer yes or no."
TEXTS = (
    "Are {a} and {b} looking at the same thing?",
    "Do {a} and {b} look at the same object?",
    "Is {a} looking at what {b} is looking at?",
    "Are {a} and {b} paying attention to the same thing?",
    "Do {a} and {b} share the focus of their gaze?",
    "Are {a} and {b} both watching the same thing?",
    "Is the gaze of {a} on the same target as the gaze of {b}?",
    "Do {a} and {b} have their eyes on the same thing?",
)
TEMPLATES = social.templates("shared", TEXTS, SUFFIX)


@dataclass(frozen=True)
class SharedTarget(social.PairTarget):
    """A shared item's target: the pair fields alone (label ``yes`` / ``no``)."""


def item_target(item: QAItem) -> SharedTarget:
    return SharedTarget.from_dict(item.target)


def make_pair(ctx: PairContext) -> Iterator[Draft]:
    found = social.same_target(ctx.first, ctx.second)
    if found is None:
        ctx.skip(social.why_not(ctx.first, ctx.second))
        return
    same, rule = found
    ref, other = social.pair_refs(ctx.first, ctx.second, ctx.options)
    template = choose(TEMPLATES, ctx.rng)
    label = "yes" if same else "no"
    yield Draft("shared", social.fill_pair(template, ref.phrase, other),
                social.YES if same else social.NO,
                social.pair_target(ctx.first, ctx.second, label, rule), ref, template.id)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """Read yes / no (``vl4gaze.parse.choice``); a refusal is a wrong answer."""
    mutual.yes_no(item, raw, out)


def fix_answer(item: QAItem, text: str) -> tuple[str, dict[str, Any]]:
    """A typed fix is read as the scorer reads an answer (yes / no)."""
    return social.relabel(item_target(item), social.yes_no_fix("shared", text))


def check_target(key: str, value: Any) -> None:
    """The pair fields (``social.check_pair``)."""
    social.check_pair(SharedTarget, key, value)


SPEC = social.spec("shared", title="Shared attention task",
                   instruction=mutual.instruction, score_item=score_item, make_pair=make_pair,
                   head=social.head_shared, max_new_tokens=16, vocabulary=(SUFFIX, TEXTS),
                   target_type=SharedTarget, fix_answer=fix_answer, check_target=check_target)
