"""Optional LLM judge for the object task: does the answer name the same thing?

The judge is any callable ``list[str] -> list[str]`` (prompts to replies) or any object
with ``generate(requests, max_new_tokens)`` (a ``vl4gaze.models.base.Model``). Its
prompt is versioned: ``JUDGE_PROMPT_VERSION`` goes into every output so scores made
with different prompts are never mixed up. The verdict is 1.0 for a reply starting with
"yes", 0.0 for "no", None otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

HIGHER_IS_BETTER: dict[str, bool] = {"judge": True}

JUDGE_PROMPT_VERSION = "object-judge-v1"
JUDGE_PROMPT = (
    "You grade answers to the question \"What is the person looking at?\".\n"
    "Reference: {reference}\n"
    "Answer: {answer}\n"
    "Does the answer name the same object as the reference (wording may differ)? "
    "Reply with one word: yes or no."
)


def judge_prompt(answer: str, reference: str) -> str:
    """The judge's prompt for one answer (version ``JUDGE_PROMPT_VERSION``)."""
    return JUDGE_PROMPT.format(answer=answer.strip(), reference=reference.strip())


def _ask(judge: Any, prompts: list[str], max_new_tokens: int) -> list[str]:
    if hasattr(judge, "generate"):
        from vl4gaze.models.base import Request

        requests = [Request(messages=[{"role": "user", "content": [
            {"type": "text", "text": p}]}]) for p in prompts]
        return list(judge.generate(requests, max_new_tokens))
    if callable(judge):
        return list(judge(prompts))
    raise TypeError("judge must be a callable or have generate(requests, max_new_tokens)")


def verdict(reply: str) -> float | None:
    """1.0 for yes, 0.0 for no, None when the reply is neither."""
    word = (reply or "").strip().lower().lstrip("*\"' ").split(" ", 1)[0].strip(".,!:*\"'")
    return {"yes": 1.0, "no": 0.0}.get(word)


def judge_answers(
    answers: Sequence[str],
    references: Sequence[str],
    judge: Callable[[list[str]], list[str]] | Any,
    *,
    batch_size: int = 16,
    max_new_tokens: int = 4,
) -> dict[str, Any]:
    """Ask the judge about every answer; returns per-item verdicts and the prompt version.

    >>> out = judge_answers(["a mug"], ["a cup"], lambda ps: ["Yes." for _ in ps])
    >>> out["verdicts"], out["prompt_version"]
    ([1.0], 'object-judge-v1')
    """
    prompts = [judge_prompt(a, r) for a, r in zip(answers, references, strict=True)]
    replies: list[str] = []
    for start in range(0, len(prompts), batch_size):
        replies += _ask(judge, prompts[start : start + batch_size], max_new_tokens)
    return {
        "prompt_version": JUDGE_PROMPT_VERSION,
        "prompt": JUDGE_PROMPT,
        "replies": replies,
        "verdicts": [verdict(r) for r in replies],
    }
