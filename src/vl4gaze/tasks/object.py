"""Task 1, object: what is the person looking at? Answer: a short noun phrase.

Only in-frame samples whose target has a label or description (from the source or the
annotation stage) yield an item; the canonical answer is the description, else the label.
"""

from __future__ import annotations

import random
from typing import Any

from vl4gaze.schema import GazeSample
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


def instruction(point: str) -> str:
    """The system prompt's answer form for an object question."""
    return "Answer with a short noun phrase naming what the person looks at, e.g. a white mug."


SPEC = TaskSpec(
    name="object",
    metrics=(Metric("label_match"), Metric("embedding_similarity"), Metric("rouge_l"),
             Metric("cider")),
    headline="label_match",
    instruction=instruction,
    vocabulary=(TEMPLATES,),
)
