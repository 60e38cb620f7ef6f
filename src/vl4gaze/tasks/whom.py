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
    answer = (other[:1].upper() + other[1:] + ".") if at_b else NOBODY
    yield Draft("whom", social.fill_pair(template, ref.phrase, other), answer,
                social.pair_target(a, b, label, rule, other=other), ref, template.id)


def make_pair(ctx: PairContext) -> Iterator[Draft]:
    yield from _one(ctx, ctx.first, ctx.second)
    yield from _one(ctx, ctx.second, ctx.first)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """Read which choice the answer names; a refusal is a wrong answer."""
    from vl4gaze.parse.choice import parse_whom

    got = parse_whom(raw, item.target.get("other") or "") if out.error is None else None
    social.score_choice(out, got, raw, item.target["label"], "other")


def instruction(point: str) -> str:
    """The system prompt's answer form for a whom question."""
    return (f"The question is about two people (marked by a {MARKERS[0].name} and a "
            f"{MARKERS[1].name} box, or named in the question). Name the person looked at "
            "as the question names them, or answer 'Nobody in the image.'")


SPEC = social.spec("whom", title="Whom task", labels=("other", "nobody"),
                   instruction=instruction, score_item=score_item,
                   make_pair=make_pair, head=social.head_whom, max_new_tokens=24,
                   vocabulary=(SUFFIX, TEXTS, NOBODY))
