"""Task 1, object: what is the person looking at? Answer: a short noun phrase.

Only in-frame samples whose target has a label or description (from the source or the
annotation stage) yield an item; the canonical answer is the description, else the label.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic.dataclasses import dataclass

from vl4gaze.metrics.memo import memo
from vl4gaze.metrics.scoring import ItemScore, ScoreContext, TaskBlock
from vl4gaze.schema import Answer, GazeSample, QAItem, Record
from vl4gaze.tasks import fixes
from vl4gaze.tasks.refs import Draft, Options, Ref, Template, choose, fill, r6, unanswerable
from vl4gaze.tasks.registry import Metric, TaskSpec

TEMPLATES: tuple[Template, ...] = tuple(
    Template(f"object/{i:02d}", text) for i, text in enumerate((
        "What is {who} looking at?",
        "What object is {who} looking at?",
        "Describe in a short phrase what {who} is looking at.",
        "What has caught the attention of {who}?",
        "Name the thing that {who} is gazing at.",
        "Which object is the gaze of {who} directed at?",
        "What is {who} paying attention to? Answer with a short noun phrase.",
        "Tell me what {who} is staring at.",
        "What does {who} look at in this image?",
    ))
)


def answer_of(sample: GazeSample) -> str | None:
    """The canonical answer: the target's description, else its label, else None."""
    text = sample.target.description or sample.target.label
    return text.strip() if text and text.strip() else None


@dataclass(frozen=True)
class ObjectTarget(Record):
    """An object item's target: its label, description, box (normalized) and the other
    names that count as the label."""

    label: str | None = None
    description: str | None = None
    box: tuple[float, float, float, float] | None = None
    synonyms: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ObjectAnswer(Answer):
    """A parsed object answer: the answer's own text, stripped (the scorer writes it as a
    string)."""

    text: str

    @classmethod
    def of(cls, value: Any) -> ObjectAnswer:
        return cls.from_dict({"text": value})


def item_target(item: QAItem) -> ObjectTarget:
    return ObjectTarget.from_dict(item.target)


def target_of(sample: GazeSample) -> dict[str, Any]:
    t = sample.target
    label = (t.label or t.description or "").strip()
    return {
        "label": label,
        "description": answer_of(sample),
        "box": [r6(v) for v in t.box.as_tuple()] if t.box is not None else None,
        "synonyms": [],
    }


def skip_reason(sample: GazeSample) -> str | None:
    """Why this sample yields no object item (None: it yields one)."""
    return unanswerable(sample) or (None if answer_of(sample) else "no_object_target")


def make(sample: GazeSample, ref: Ref, options: Options, rng: random.Random) -> Draft | None:
    if skip_reason(sample) is not None:
        return None
    template = choose(TEMPLATES, rng)
    return Draft("object", fill(template, ref), answer_of(sample) or "", target_of(sample), ref,
                 template.id)


def reference_of(item: QAItem) -> str:
    """The text an answer is compared with: the description, else the label."""
    return _reference(item_target(item))


def _reference(t: ObjectTarget) -> str:
    return t.description or t.label or ""


@memo()
def _label_match(text: str, label: str, synonyms: tuple[str, ...]) -> bool:
    """``label_match`` of one (answer, label, synonyms) (memoised)."""
    from vl4gaze.metrics import description as desc_metrics

    return desc_metrics.label_match(text, label, synonyms)


def score_item(item: QAItem, raw: str, out: ItemScore, ctx: ScoreContext) -> None:
    """The answer is its own text; label match (with synonyms) and ROUGE-L."""
    from vl4gaze.metrics import description as desc_metrics

    t = out.target = item_target(item)
    text = raw.strip() if out.error is None else ""
    label = t.label or t.description or ""
    out.parsed = text or None
    out.rule = "text" if text else None
    out.correct = bool(text) and _label_match(text, label, tuple(t.synonyms or ()))
    reference = _reference(t)
    out.values.update({
        "label_match": out.correct,
        "rouge_l": desc_metrics.rouge_l(text, reference) if text else 0.0,
    })


def aggregate(block: TaskBlock, scores: list[ItemScore], items: Mapping[str, QAItem],
              embedder: Any) -> None:
    """Embedding similarity and CIDEr need every answer at once (one encoder pass, the
    corpus' document frequencies); an unparsed answer scores 0 in both."""
    from vl4gaze.metrics import description as desc_metrics

    n = len(scores)
    refs = [_reference(s.target) for s in scores]
    answers = [s.parsed or "" for s in scores]
    todo = [i for i, s in enumerate(scores) if s.parsed]
    sims = np.zeros(n)
    if todo:
        sims[todo] = desc_metrics.embedding_similarity(
            [answers[i] for i in todo], [refs[i] for i in todo], embedder)
    cider = desc_metrics.cider(answers, [[r] for r in refs]) if n else np.zeros(0)
    cider[[i for i, s in enumerate(scores) if not s.parsed]] = 0.0
    for i, s in enumerate(scores):
        s.values["embedding_similarity"] = float(sims[i])
        s.values["cider"] = float(cider[i])
        s.score = float(sims[i])
    for m in SPEC.metrics:
        block.add(m.name, [s.values.get(m.name) for s in scores], m.higher_is_better)


def single(s: ItemScore, item: QAItem, embedder: Any) -> dict[str, Any]:
    """One answer alone (lmms-eval): embedding similarity, no CIDEr (needs a corpus)."""
    from vl4gaze.metrics import description as desc_metrics

    values: dict[str, Any] = {
        "embedding_similarity": float(desc_metrics.embedding_similarity(
            [s.raw.strip()], [reference_of(item)], embedder)[0]) if s.parsed else 0.0,
        "cider": None}
    for k, v in s.values.items():
        values[k] = float(v) if isinstance(v, bool | int | float) else v
    return values


#: The centre baseline's answer without train items.
FALLBACK_OBJECT = "a person"


def _center_baseline(ask: Any) -> str:
    """The most common train description (``random``: a random one, the generic way)."""
    return ask.prior.mode(ask.item.task, FALLBACK_OBJECT)


def check_target(key: str, value: Any) -> None:
    """The target's box is a normalized box (or null)."""
    if key == "box":
        fixes.box(key, value)


def detail(item: QAItem) -> str:
    """The gallery's ground-truth line: the label."""
    label = item_target(item).label
    return f"label: {label}" if label else ""


def instruction(point: str) -> str:
    """The system prompt's answer form for an object question."""
    return "Answer with a short noun phrase naming what the person looks at, e.g. a white mug."


SPEC = TaskSpec(
    name="object",
    metrics=(Metric("label_match"), Metric("embedding_similarity"), Metric("rouge_l"),
             Metric("cider")),
    headline="label_match",
    instruction=instruction,
    detail=detail,
    score_item=score_item,
    aggregate=aggregate,
    single=single,
    vocabulary=(TEMPLATES,),
    baselines={"center": _center_baseline},
    check_target=check_target,
    make=make,
    skip_reason=skip_reason,
    target_type=ObjectTarget,
    parsed_type=ObjectAnswer,
)
