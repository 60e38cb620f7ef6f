"""Chat messages for zero-shot and k-shot questions: the one place prompts are made.

Evaluation and training both call :func:`build_messages`, so a fine-tuned model sees
exactly the prompts it is scored on. A per-task system prompt states the answer format
(the point format comes from the benchmark: the item's ``target["format"]`` or
``manifest.json``); the person marker is already drawn into the item's image by the
build, and the system prompt tells the model how the person is singled out. k-shot
examples are other items of the same task from the train split, chosen with a seeded
RNG per item, each shown with its image as an earlier user / assistant exchange.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from vl4gaze.geometry import DIRECTIONS, POINT_FORMATS
from vl4gaze.schema import PersonRef, QAItem, Task, content_id
from vl4gaze.tasks import registry

#: Bump whenever a prompt's wording changes: it is part of every run's prompt_config hash.
PROMPT_VERSION = 1


_PREAMBLE = "You answer questions about where people in images are looking."

_MARKER = {
    PersonRef.BOX: "The person asked about is marked by a coloured box drawn on the image; "
    "the question names its colour.",
    PersonRef.COORDS: "The person asked about is given by their head box (x1, y1, x2, y2) "
    "in the question, in the same coordinates as point answers.",
    PersonRef.TEXT: "The person asked about is described in words in the question.",
    PersonRef.NONE: "",
}

_DIRECTION_LIST = ", ".join(DIRECTIONS)


def point_format_text(fmt: str, width: int | None = None, height: int | None = None) -> str:
    """How a point answer must be written, in words, with an example."""
    if fmt == "norm":
        return ("Write the point as (x, y) with x and y normalized to [0, 1] of the image "
                "width and height, x to the right and y down, 3 decimals, e.g. (0.512, 0.337).")
    if fmt == "norm1000":
        return ("Write the point as (x, y) with integers from 0 to 1000 across the image "
                "width and height, x to the right and y down, e.g. (512, 337).")
    if fmt == "pixel":
        size = f" of the {width}x{height} image" if width and height else ""
        return (f"Write the point as (x, y) in pixels{size}, x to the right and y down, "
                "e.g. (229, 151).")
    raise ValueError(f"unknown point format {fmt!r}; expected one of {', '.join(POINT_FORMATS)}")




def item_point_format(item: QAItem, bench: Path | None = None) -> str:
    """The point format of an item: its target's ``format``, else the manifest's, else norm."""
    fmt = item.target.get("format") if isinstance(item.target, dict) else None
    if not fmt and bench is not None:
        fmt = read_manifest(bench).get("point_format")
    return fmt or "norm"


def system_prompt(
    task: Task | str,
    *,
    point_format: str = "norm",
    person_ref: PersonRef | str = PersonRef.BOX,
    width: int | None = None,
    height: int | None = None,
) -> str:
    """The system prompt of a task: who answers, how the person is marked, the answer form."""
    marker = _MARKER[PersonRef(person_ref)]
    point = point_format_text(point_format, width, height)
    body = registry.get(task).instruction(point)
    return " ".join(part for part in (_PREAMBLE, marker, body) if part)


def read_manifest(bench: Path) -> dict[str, Any]:
    """``BENCH/manifest.json`` as a dict ({} when there is none)."""
    path = Path(bench) / "manifest.json"
    if not path.exists():
        return {}
    return _read_manifest(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _read_manifest(path: str, _mtime_ns: int) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: line {err.lineno}: invalid JSON ({err.msg})") from err


def load_image(path: Path) -> Image.Image:
    """Open an item image as RGB (cached: k-shot examples and shared images repeat).

    The returned image is shared between callers: treat it as read-only.
    """
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError as err:
        raise FileNotFoundError(f"image not found: {path}") from err
    return _load_image(str(path), mtime)


@lru_cache(maxsize=64)
def _load_image(path: str, _mtime_ns: int) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def _user_turn(item: QAItem, bench: Path, load_images: bool = True) -> dict[str, Any]:
    path = Path(bench) / item.image
    image_part = ({"type": "image", "image": load_image(path)} if load_images
                  else {"type": "image", "path": str(path)})
    return {"role": "user", "content": [image_part, {"type": "text", "text": item.question}]}


def build_messages(
    item: QAItem, bench: Path, *, shots: Sequence[QAItem] = (), load_images: bool = True
) -> list[dict[str, Any]]:
    """Chat messages asking ``item``: system prompt, k-shot exchanges, then the question.

    Image parts hold the decoded picture, or with ``load_images=False`` only its ``path``
    (for training data, which decodes images itself)."""
    bench = Path(bench)
    prompt = system_prompt(
        item.task,
        point_format=item_point_format(item, bench),
        person_ref=item.person_ref,
        width=item.width,
        height=item.height,
    )
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": [{"type": "text", "text": prompt}]}
    ]
    for shot in shots:
        messages.append(_user_turn(shot, bench, load_images))
        messages.append({"role": "assistant", "content": [{"type": "text", "text": shot.answer}]})
    messages.append(_user_turn(item, bench, load_images))
    return messages


#: Processors that take the answer as ``suffix=`` and have no chat template.
PREFIX_SUFFIX_PROCESSORS = ("PaliGemmaProcessor",)


def prompt_path(processor: Any, where: str = "the model") -> str:
    """``"chat"`` (the processor's chat template) or ``"prefix"`` (PaliGemma-style).

    Raises one clear line when neither applies, before any weights are loaded."""
    if getattr(processor, "chat_template", None):
        return "chat"
    if type(processor).__name__ in PREFIX_SUFFIX_PROCESSORS:
        return "prefix"
    raise ValueError(f"{where}: the processor ({type(processor).__name__}) has no chat "
                     "template and is not a prefix/suffix processor (PaliGemma); vl4gaze "
                     "cannot turn its questions into model inputs")


def prefix_prompt(messages: Sequence[dict[str, Any]]) -> str:
    """The text of a conversation for a prefix/suffix model without a chat template (PaliGemma).

    System prompt, then every turn's text, one per line; k-shot answers follow their question
    on the next line, as the model's own answer will follow the prefix. The images are not in
    the text: the processor puts their tokens in front."""
    lines = []
    for message in messages:
        content = message["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        text = " ".join(p.get("text") or "" for p in parts if p.get("type") == "text").strip()
        if text:
            lines.append(text)
    return "\n".join(lines)


def message_images(messages: Sequence[dict[str, Any]]) -> list[Any]:
    """The images of a conversation's parts, in order (decoded pictures or paths)."""
    return [part.get("image", part.get("path")) for message in messages
            if not isinstance(message["content"], str)
            for part in message["content"] if part.get("type") == "image"]


class ShotSampler:
    """Draws k train-split examples of the same task for each item, reproducibly.

    The draw for an item depends only on the seed, the item id and the pool (sorted by id),
    so resumed, sharded and repeated runs pick the same examples. Examples from the same
    image or sample as the question are never used.
    """

    def __init__(self, pool: Sequence[QAItem], k: int, seed: int = 0) -> None:
        if k < 0:
            raise ValueError(f"shots must be >= 0, got {k}")
        self.k = k
        self.seed = seed
        self._by_task: dict[str, list[QAItem]] = defaultdict(list)
        for candidate in sorted(pool, key=lambda it: it.id):
            self._by_task[str(candidate.task)].append(candidate)

    def shots_for(self, item: QAItem) -> list[QAItem]:
        if self.k == 0:
            return []
        pool = [c for c in self._by_task.get(str(item.task), ())
                if c.image != item.image and c.sample_id != item.sample_id and c.id != item.id]
        if len(pool) < self.k:
            raise ValueError(f"only {len(pool)} train examples of task {item.task!s} for "
                             f"{self.k}-shot prompting (item {item.id})")
        rng = random.Random(content_id("shots", self.seed, item.id))
        return rng.sample(pool, self.k)


def prompt_config(bench: Path, *, shots: int, seed: int) -> str:
    """A hash naming everything that shapes the prompts of a run (logged per prediction)."""
    manifest = read_manifest(Path(bench))
    return content_id(
        "prompt", PROMPT_VERSION, shots, seed,
        manifest.get("point_format"), manifest.get("person_ref"),
        [system_prompt(t) for t in registry.task_names()],
    )
