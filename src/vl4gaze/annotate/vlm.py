"""The VLM rule: ask a vision-language model what lies under the gaze point, and who the person is.

A marker is drawn on a copy of the image (the gaze point, and a box round the person's
head) and the model is asked for a short noun phrase. Each question is asked twice, with a
different wording and marker style; the label is kept only when the two answers agree
(sentence-embedding cosine >= threshold), otherwise the sample is marked uncertain. The same
is done for a short description of the person. Prompts carry a version; answers are cached
on disk by (image hash, point, head, prompt id + version, model), so a rerun makes no model
call. A failed call (exception, unreadable image) is recorded, never fatal, and not cached,
so the next run retries it. An answer that is no phrase (empty, mostly digits or symbols,
broken characters: what a random or confused model says) is cached like any answer but
rejected, which leaves the label uncertain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image, ImageDraw

from vl4gaze.annotate.cache import AnnotationCache, cache_key, image_hash
from vl4gaze.annotate.similarity import DEFAULT_THRESHOLD, Embedder, similarities
from vl4gaze.schema import Box, GazeSample, Point

#: Bump whenever a prompt text or marker style changes: it is part of every cache key.
PROMPT_VERSION = "1"

OBJECT = "object"
PERSON = "person"


@dataclass(frozen=True)
class MarkerStyle:
    """How the gaze point and the person's head are drawn on the image copy."""

    point: str | None  # "ring" (circle with crosshair), "dot" (filled disc) or None
    point_color: str
    head_color: str


@dataclass(frozen=True)
class Prompt:
    """One versioned question with its marker style."""

    id: str
    kind: str  # OBJECT or PERSON
    text: str
    style: MarkerStyle

    @property
    def key(self) -> str:
        return f"{self.id}@v{PROMPT_VERSION}"


OBJECT_PROMPTS: tuple[Prompt, Prompt] = (
    Prompt(
        "object-ring", OBJECT,
        "The red circle marks where the person in the green box is looking. "
        "What object is under the red circle? Answer with a short noun phrase only.",
        MarkerStyle("ring", "red", "lime"),
    ),
    Prompt(
        "object-dot", OBJECT,
        "Name the thing at the yellow dot in this picture in a few words "
        "(for example: a white mug). Answer with the noun phrase only.",
        MarkerStyle("dot", "yellow", "deepskyblue"),
    ),
)
PERSON_PROMPTS: tuple[Prompt, Prompt] = (
    Prompt(
        "person-red", PERSON,
        "Describe the person in the red box in a short phrase "
        "(for example: a man in a blue shirt). Answer with the phrase only.",
        MarkerStyle(None, "red", "red"),
    ),
    Prompt(
        "person-blue", PERSON,
        "Who is inside the blue box? Answer with a short noun phrase that tells them "
        "apart from other people.",
        MarkerStyle(None, "blue", "blue"),
    ),
)

#: Longest answer kept, in words (VLMs ramble; the label is a phrase).
MAX_WORDS = 12
_PREFIXES = re.compile(
    r"^(?:answer\s*:|the (?:person|man|woman|child) (?:is )?(?:looking|looks) at|"
    r"(?:it|this|that) is|there is|i see)\s*",
    re.IGNORECASE,
)


_WORD = re.compile(r"^[^\W\d_]+(?:['-][^\W\d_]+)*$")


def phrase_problem(answer: str) -> str | None:
    """Why ``answer`` (cleaned) is no usable phrase, or None when it is one.

    At least half of its words must be words of letters ("a 2-liter bottle" passes,
    "bow560173 th042" does not), and it must hold no broken characters.
    """
    if not answer:
        return "empty answer"
    if "\ufffd" in answer:
        return "broken characters"
    words = answer.split()
    if sum(1 for w in words if _WORD.match(w.strip(",.;:()"))) * 2 < len(words):
        return "not a phrase (mostly non-words)"
    return None


class Model(Protocol):
    """What the VLM rule needs of a vl4gaze model back end (see vl4gaze.models.base)."""

    name: str

    def generate(self, requests: list[Any], max_new_tokens: int) -> list[str]: ...


def clean_answer(raw: str) -> str:
    """First line of the answer, without lead-ins, quotes or a final full stop; <= MAX_WORDS."""
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    text = _PREFIXES.sub("", text).strip().strip("\"'`*").strip()
    text = text.rstrip(".!;:, ").strip()
    return " ".join(text.split()[:MAX_WORDS])


def draw_marker(
    image: Image.Image, point: Point | None, head: Box, style: MarkerStyle
) -> Image.Image:
    """A copy of ``image`` with the head box and (when given) the gaze point drawn on it."""
    marked = image.convert("RGB")  # always a copy
    width, height = marked.size
    draw = ImageDraw.Draw(marked)
    line = max(2, round(min(width, height) / 150))
    draw.rectangle(
        (head.x1 * width, head.y1 * height, head.x2 * width, head.y2 * height),
        outline=style.head_color, width=line,
    )
    if point is not None and style.point is not None:
        x, y = point.x * width, point.y * height
        radius = max(5.0, min(width, height) * 0.03)
        if style.point == "ring":
            draw.ellipse((x - radius, y - radius, x + radius, y + radius),
                         outline=style.point_color, width=line)
            draw.line((x - radius * 1.5, y, x + radius * 1.5, y), fill=style.point_color, width=1)
            draw.line((x, y - radius * 1.5, x, y + radius * 1.5), fill=style.point_color, width=1)
        else:
            small = radius * 0.6
            draw.ellipse((x - small, y - small, x + small, y + small),
                         fill=style.point_color, outline="black", width=max(1, line // 2))
    return marked


def make_request(image: Image.Image, prompt: Prompt) -> Any:
    """One chat request: the marked image and the prompt's question."""
    from vl4gaze.models.base import Request

    messages = [{
        "role": "user",
        "content": [{"type": "image", "image": image}, {"type": "text", "text": prompt.text}],
    }]
    return Request(messages=messages)


@dataclass
class Verdict:
    """Two answers to one question pair, whether they agree, and the label kept."""

    answers: list[str | None]
    similarity: float | None = None
    label: str | None = None
    uncertain: bool = False
    errors: list[str] = field(default_factory=list)  # failed calls
    rejected: list[str] = field(default_factory=list)  # answers that are no phrase

    def to_dict(self) -> dict[str, Any]:
        return {
            "answers": self.answers, "similarity": self.similarity, "label": self.label,
            "uncertain": self.uncertain, "errors": self.errors, "rejected": self.rejected,
        }


@dataclass
class VLMResult:
    """The VLM rule's outcome for one sample: target (None without a gaze point) and person."""

    target: Verdict | None
    person: Verdict


@dataclass
class _Job:
    sample: int
    prompt: Prompt
    key: str | None
    error: str | None = None
    answer: str | None = None


class VLMAnnotator:
    """Labels gaze targets and people with any vl4gaze Model; cached and agreement-checked."""

    def __init__(
        self,
        model: Model,
        *,
        cache: AnnotationCache | None = None,
        embedder: Embedder | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        max_new_tokens: int = 24,
        batch_size: int = 8,
        describe_person: bool = True,
    ) -> None:
        self.model = model
        self.cache = cache if cache is not None else AnnotationCache(None)
        self.embedder = embedder
        self.threshold = threshold
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.describe_person = describe_person
        self.model_calls = 0  # requests sent to the model (cache misses)

    def annotate(
        self,
        samples: Sequence[GazeSample],
        advance: Callable[[int], None] | None = None,
    ) -> list[VLMResult]:
        """Ask (or look up) every question about every sample; ``advance(n)`` reports progress."""
        jobs = self._jobs(samples)
        pending: dict[str, list[_Job]] = {}
        for job in jobs:
            if job.key is None:
                continue
            hit = self.cache.get(job.key)
            if hit is not None:
                job.answer = hit["answer"]
            else:
                pending.setdefault(job.key, []).append(job)
        keys = list(pending)
        for start in range(0, len(keys), self.batch_size):
            batch = keys[start:start + self.batch_size]
            self._ask(samples, [pending[k] for k in batch])
            if advance is not None:
                advance(len(batch))
        return self._verdicts(samples, jobs)

    def _jobs(self, samples: Sequence[GazeSample]) -> list[_Job]:
        jobs: list[_Job] = []
        for i, sample in enumerate(samples):
            prompts: list[Prompt] = []
            if sample.gaze_mean is not None:
                prompts.extend(OBJECT_PROMPTS)
            if self.describe_person:
                prompts.extend(PERSON_PROMPTS)
            try:
                sha = image_hash(sample.image)
            except OSError as error:
                message = f"image cannot be read: {sample.image} ({error.__class__.__name__})"
                jobs.extend(_Job(i, p, None, error=message) for p in prompts)
                continue
            for prompt in prompts:
                point = sample.gaze_mean if prompt.kind == OBJECT else None
                key = cache_key(
                    sha, None if point is None else point.as_tuple(),
                    sample.person.head.as_tuple(), prompt.key, self.model.name,
                )
                jobs.append(_Job(i, prompt, key))
        return jobs

    def _ask(self, samples: Sequence[GazeSample], groups: list[list[_Job]]) -> None:
        """Send one batch (one request per distinct key); on a batch error retry one by one."""
        requests, live = [], []
        for group in groups:
            job = group[0]
            sample = samples[job.sample]
            point = sample.gaze_mean if job.prompt.kind == OBJECT else None
            try:
                with Image.open(sample.image) as image:
                    marked = draw_marker(image, point, sample.person.head, job.prompt.style)
            except OSError as error:
                _fail(group, f"image cannot be read: {sample.image} ({error})")
                continue
            requests.append(make_request(marked, job.prompt))
            live.append(group)
        if not requests:
            return
        try:
            self.model_calls += len(requests)
            answers = self.model.generate(requests, self.max_new_tokens)
            if len(answers) != len(requests):
                raise RuntimeError(f"model returned {len(answers)} answers for "
                                   f"{len(requests)} requests")
        except Exception as error:  # any back-end failure is recorded, never fatal
            if len(requests) == 1:
                _fail(live[0], f"model call failed: {error.__class__.__name__}: {error}")
                return
            self.model_calls -= len(requests)
            for group in live:
                self._ask(samples, [group])
            return
        for group, raw in zip(live, answers, strict=True):
            answer = clean_answer(raw or "")
            self.cache.put(group[0].key, {"answer": answer, "raw": raw})
            for job in group:
                job.answer = answer

    def _verdicts(self, samples: Sequence[GazeSample], jobs: list[_Job]) -> list[VLMResult]:
        by_sample: dict[int, dict[str, list[_Job]]] = {}
        for job in jobs:
            by_sample.setdefault(job.sample, {}).setdefault(job.prompt.kind, []).append(job)
        verdicts: dict[tuple[int, str], Verdict] = {}
        pairs: list[tuple[str, str]] = []
        owners: list[Verdict] = []
        for i, kinds in by_sample.items():
            for kind, pair in kinds.items():
                verdict = Verdict(
                    answers=[j.answer for j in pair],
                    errors=[j.error for j in pair if j.error],
                )
                verdicts[(i, kind)] = verdict
                usable = list(verdict.answers)
                for j, answer in enumerate(usable):
                    problem = None if answer is None else phrase_problem(answer)
                    if problem is not None:
                        verdict.rejected.append(f"{problem}: {answer!r}")
                        usable[j] = None
                first, second = usable
                if first is None or second is None:
                    verdict.uncertain = True
                else:
                    pairs.append((first, second))
                    owners.append(verdict)
        for verdict, score in zip(owners, similarities(pairs, self.embedder), strict=True):
            verdict.similarity = round(score, 4)
            if score >= self.threshold:
                verdict.label = verdict.answers[0]
            else:
                verdict.uncertain = True
        empty = Verdict(answers=[None, None])
        return [
            VLMResult(verdicts.get((i, OBJECT)), verdicts.get((i, PERSON), empty))
            for i in range(len(samples))
        ]


def _fail(group: list[_Job], message: str) -> None:
    for job in group:
        job.error = message
