"""Social task 3, whom: whom is the first marked person looking at?

The answer names the other marked person ("The person in the blue box.") when the first
looks at them (``vl4gaze.tasks.social.looks_at``), or says nobody in the image when the
first looks at no one: their gaze leaves the frame, or lands clear of every head in the
picture. A first person looking at a third, unmarked person is not asked (neither
choice would be right). Both orders of a pair are asked. Scored by exact choice
(``vl4gaze.parse.choice.parse_whom``); a refusal is a wrong answer, as in ambiguity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic.dataclasses import dataclass

from vl4gaze.metrics.scoring import ItemScore, ScoreContext
from vl4gaze.schema import QAItem
from vl4gaze.tasks import social
from vl4gaze.tasks.context import PairContext
from vl4gaze.tasks.refs import MARKERS, Draft, choose

NOBODY = "Nobody in the image."
SUFFIX = "Answer with {b} or with nobody."
TEXTS = (
    "Whom is {a} looking at?",
    "Who is {a} looking at?",
    "Which person, if any, has the attention of {a}?",
    "Is {a} looking at {b}, or at nobody in the image?",
    "Who does {a} have their eyes on?",
    "At whom is {a} gazing?",
    "Who, if anyone, is {a} watching?",
    "Whose face is {a} looking at?",
)
TEMPLATES = social.templates("whom", TEXTS, SUFFIX)


def named(phrase: str) -> str:
    """The answer naming the person a phrase refers to: "The person in the blue box."."""
    return phrase[:1].upper() + phrase[1:] + "."


@dataclass(frozen=True)
class WhomTarget(social.PairTarget):
    """A whom item's target: the pair fields (label ``other`` / ``nobody``) and the
    question's phrase for the other person (the answer names them so)."""

    LABELS: ClassVar[tuple[str, str]] = ("other", "nobody")

    other: str

    def answers(self) -> tuple[str, str]:
        return named(self.other), NOBODY


def item_target(item: QAItem) -> WhomTarget:
    return WhomTarget.from_dict(item.target)


def _one(ctx: PairContext, a, b) -> Iterator[Draft]:
    found = social.looks_at(a, b.person.head)
    if found is None:
        ctx.skip(social.why_not(a, b))
        return
    at_b, rule = found
    if not at_b and rule != "out_of_frame":
        third = [p for p in a.others if p.index != b.person.index]
        if any(social.looks_at(a, p.head) == (True, rule) for p in third):
            ctx.skip("looks_at_third_person")
            return
        rule = "elsewhere"
    ref, other = social.pair_refs(a, b, ctx.options)
    template = choose(TEMPLATES, ctx.rng)
    label = "other" if at_b else "nobody"
    answer = named(other) if at_b else NOBODY
    yield Draft("whom", social.fill_pair(template, ref.phrase, other), answer,
                social.pair_target(a, b, label, rule, other=other), ref, template.id)


def make_pair(ctx: PairContext) -> Iterator[Draft]:
    yield from _one(ctx, ctx.first, ctx.second)
    yield from _one(ctx, ctx.second, ctx.first)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """Read which choice the answer names; a refusal is a wrong answer."""
    from vl4gaze.parse.choice import parse_whom

    t = item_target(item)
    got = parse_whom(raw, t.other) if out.error is None else None
    social.score_choice(out, got, raw, t.label, t.LABELS[0])


def fix_answer(item: QAItem, text: str) -> tuple[str, dict[str, Any]]:
    """A typed fix is read as the scorer reads an answer: the other person (their marker
    colour, "the other person", the question's phrase for them) or nobody."""
    from vl4gaze.parse.choice import parse_whom

    t = item_target(item)
    got = parse_whom(text, t.other)
    if got is None:
        raise ValueError(f"a whom fix must name {t.other} (or the {MARKERS[1].name} "
                         f"marker) or nobody; got {text!r}")
    return social.relabel(t, got.value)


def check_target(key: str, value: Any) -> None:
    """The pair fields (``social.check_pair``); ``other`` the phrase answers name."""
    social.check_pair(WhomTarget, key, value)
    if key == "other" and not (isinstance(value, str) and value.strip()):
        raise ValueError(f"fixed_target.other: {value!r} is not a phrase for the other person")


def instruction(point: str) -> str:
    """The system prompt's answer form for a whom question."""
    return (f"The question is about two people (marked by a {MARKERS[0].name} and a "
            f"{MARKERS[1].name} box, or named in the question). Name the person looked at "
            "as the question names them, or answer 'Nobody in the image.'")


SPEC = social.spec("whom", title="Whom task",
                   instruction=instruction, score_item=score_item,
                   make_pair=make_pair, head=social.head_whom, max_new_tokens=24,
                   vocabulary=(SUFFIX, TEXTS, NOBODY), target_type=WhomTarget,
                   fix_answer=fix_answer, check_target=check_target)
