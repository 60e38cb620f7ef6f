"""Social task 1, mutual gaze: are the two marked people looking at each other?

Yes when each one looks at the other (``vl4gaze.tasks.social``: the source's person
target, else the mean gaze point in the other's head box grown by ``HEAD_MARGIN``);
no otherwise, including when either looks outside the image. Pairs whose eyes cannot be
read are not asked. One item per pair of people (at most ``MAX_PAIRS_PER_IMAGE`` per
image); yes and no are balanced per split by the builder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic.dataclasses import dataclass

from vl4gaze.metrics.scoring import ItemScore, ScoreContext
from vl4gaze.schema import QAItem
from vl4gaze.tasks import registry, social
from vl4gaze.tasks.context import PairContext
from vl4gaze.tasks.refs import MARKERS, Draft, choose

SUFFIX = "Answer yes or no."
TEXTS = (
    "Are {a} and {b} looking at each other?",
    "Do {a} and {b} make eye contact?",
    "Is {a} looking at {b} while {b} looks back?",
    "Are {a} and {b} gazing at one another?",
    "Do {a} and {b} look into each other's eyes?",
    "Is there mutual gaze between {a} and {b}?",
    "Are {a} and {b} watching each other?",
    "Do {a} and {b} meet each other's gaze?",
)
TEMPLATES = social.templates("mutual", TEXTS, SUFFIX)


@dataclass(frozen=True)
class MutualTarget(social.PairTarget):
    """A mutual item's target: the pair fields (label ``yes`` / ``no``) and whether each
    person looks at the other (null when a reviewer's ``no`` left it open which one not)."""

    first_looks_at_second: bool | None
    second_looks_at_first: bool | None


def item_target(item: QAItem) -> MutualTarget:
    return MutualTarget.from_dict(item.target)


def truth(ctx: PairContext) -> tuple[bool, str, bool, bool] | None:
    """(mutual, rule, A looks at B, B looks at A); None when either gaze is unreadable."""
    a, b = ctx.first, ctx.second
    ab, ba = social.looks_at(a, b.person.head), social.looks_at(b, a.person.head)
    if ab is None or ba is None:
        return None
    both = ab[0] and ba[0]
    how = ab[1] if ab[1] == ba[1] else f"{ab[1]}+{ba[1]}"
    shape = "each_other" if both else "one_way" if ab[0] or ba[0] else "neither"
    return both, f"{shape}:{how}", ab[0], ba[0]


def make_pair(ctx: PairContext) -> Iterator[Draft]:
    found = truth(ctx)
    if found is None:
        ctx.skip(social.why_not(ctx.first, ctx.second))
        return
    yes, rule, ab, ba = found
    ref, other = social.pair_refs(ctx.first, ctx.second, ctx.options)
    template = choose(TEMPLATES, ctx.rng)
    label = "yes" if yes else "no"
    target = social.pair_target(ctx.first, ctx.second, label, rule,
                                first_looks_at_second=ab, second_looks_at_first=ba)
    yield Draft("mutual", social.fill_pair(template, ref.phrase, other),
                social.YES if yes else social.NO, target, ref, template.id)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """Read yes / no (``vl4gaze.parse.choice``); a refusal is a wrong answer."""
    yes_no(item, raw, out)


def yes_no(item: QAItem, raw: str, out: ItemScore) -> None:
    """Score a yes/no item of this task or ``shared`` (its target read by its own task)."""
    from vl4gaze.parse.choice import parse_yes_no

    got = parse_yes_no(raw) if out.error is None else None
    t = registry.target_of(item)
    social.score_choice(out, got, raw, t.label, t.LABELS[0])


def fix_answer(item: QAItem, text: str) -> tuple[str, dict[str, Any]]:
    """A typed fix is read as the scorer reads an answer (yes / no). A reviewer's yes
    means each looks at the other; a no does not say which one looks away (null)."""
    label = social.yes_no_fix("mutual", text)
    looks = True if label == "yes" else None
    return social.relabel(item_target(item), label, first_looks_at_second=looks,
                          second_looks_at_first=looks)


def check_target(key: str, value: Any) -> None:
    """The pair fields (``social.check_pair``); who looks at whom: true, false or null."""
    social.check_pair(MutualTarget, key, value)
    if (key in ("first_looks_at_second", "second_looks_at_first") and value is not None
            and not isinstance(value, bool)):
        raise ValueError(f"fixed_target.{key}: {value!r} is not true/false/null")


def instruction(point: str) -> str:
    """The system prompt's answer form for a yes/no question about two people."""
    return (f"The question is about two people (marked by a {MARKERS[0].name} and a "
            f"{MARKERS[1].name} box, or named in the question). Answer yes or no.")


SPEC = social.spec("mutual", title="Mutual gaze task",
                   instruction=instruction, score_item=score_item,
                   make_pair=make_pair, head=social.head_mutual, max_new_tokens=16,
                   vocabulary=(SUFFIX, TEXTS, social.YES, social.NO),
                   target_type=MutualTarget, fix_answer=fix_answer, check_target=check_target)
