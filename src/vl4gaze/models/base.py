"""The one protocol every model back end implements, and what passes through it.

A back end turns a batch of chat conversations (``vl4gaze.prompting`` messages whose
content parts hold PIL images and text) into answer strings. Nothing else is asked of
it, so the inference runner, the OpenAI-compatible server and training's sanity checks
treat transformers, API, vLLM and baseline models alike. A specialist gaze model may
add ``heatmaps`` to be scored with AUC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from vl4gaze.schema import QAItem


@dataclass(frozen=True)
class Request:
    """One question for a model: the chat ``messages`` and, for baselines, the ``item``.

    Real models must answer from ``messages`` alone; ``item`` is there so that baselines
    (oracle, head, text-only) can be written as ordinary back ends.
    """

    messages: list[dict[str, Any]]
    item: QAItem | None = None


@runtime_checkable
class Model(Protocol):
    """A back end: ``name`` and batched ``generate``."""

    name: str

    def generate(self, requests: list[Request], max_new_tokens: int) -> list[str]:
        """One answer per request, in order. May raise; the runner then retries one by one."""
        ...


@runtime_checkable
class HeatmapModel(Model, Protocol):
    """A specialist model that also gives a gaze heatmap per request (scored with AUC)."""

    def heatmaps(self, requests: list[Request]) -> list[np.ndarray]: ...


class BackendError(RuntimeError):
    """A back end failed on one request; the runner records it and goes on."""


class FatalBackendError(RuntimeError):
    """A failure no other item can escape (bad key, unknown model): the run stops."""


class PartialBatchError(BackendError):
    """Some requests of a batch failed: ``results`` holds an answer or the error per request.

    Back ends that answer requests independently (HTTP APIs) raise it so that the runner
    keeps the answers it already paid for instead of asking again item by item.
    """

    def __init__(self, results: list[str | BaseException]) -> None:
        failed = [r for r in results if isinstance(r, BaseException)]
        super().__init__(f"{len(failed)} of {len(results)} requests failed; first: "
                         f"{failed[0] if failed else None}")
        self.results = results


def iter_parts(messages: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, part) for every content part; string contents count as one text part."""
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            yield message["role"], {"type": "text", "text": content}
        else:
            for part in content or ():
                yield message["role"], part


def message_images(messages: list[dict[str, Any]]) -> list[Image.Image]:
    """The PIL images of a conversation, in order of appearance."""
    return [part["image"] for _, part in iter_parts(messages) if part.get("type") == "image"]


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the final user turn (the question being asked)."""
    for message in reversed(messages):
        if message["role"] == "user":
            return " ".join(
                part["text"] for _, part in iter_parts([message]) if part.get("type") == "text"
            )
    return ""
