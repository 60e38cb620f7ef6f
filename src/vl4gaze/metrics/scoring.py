"""What a task's scorer works with: the per-item record, the shared bootstrap resamples
and the scores.json task block it fills.

``vl4gaze.score`` drives them (parse every answer, group by task, draw resamples, sum up);
each task module's ``score_item`` / ``aggregate`` (declared in its ``TaskSpec``) says what
its items are worth. See docs/scoring.md for the definitions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vl4gaze.metrics import ambiguity as amb_metrics

_BOOT_CHUNK = 2_000_000  # resampled indices held in memory at once


@dataclass
class ItemScore:
    """One scored answer: what was read, by which rule, and the per-item metric values."""

    item_id: str
    task: str
    raw: str
    parsed: Any
    rule: str | None
    correct: bool | None
    score: float | None
    error: str | None
    values: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The items.parquet row (``metrics``, the per-item values, goes to the samples
        log only)."""
        return {"item_id": self.item_id, "task": self.task, "raw": self.raw,
                "parsed": json.dumps(self.parsed), "rule": self.rule,
                "correct": self.correct, "score": self.score, "error": self.error,
                "metrics": self.values}

    @property
    def is_parsed(self) -> bool:
        """An answer without an error that the task's parser could read."""
        return self.error is None and self.parsed is not None


@dataclass(frozen=True)
class ScoreContext:
    """How a run's answers are read: the point convention, a heatmap when the model gave
    one, and the model's own Qwen2.5-VL resize (``score.qwen_resize``)."""

    convention: str = "auto"
    heatmap: list[list[float]] | None = None
    resize: dict[str, int] | None = None


def percentiles(samples: np.ndarray) -> tuple[float | None, float | None]:
    """The 2.5 / 97.5 % percentiles of the finite samples (None, None without any)."""
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None, None
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


class Bootstrap:
    """Shared resamples of one task's items, drawn in chunks to bound memory."""

    def __init__(self, n: int, n_boot: int, rng: np.random.Generator) -> None:
        self.n, self.n_boot = n, n_boot
        per_chunk = max(1, _BOOT_CHUNK // max(n, 1))
        self.chunks = [rng.integers(0, n, size=(min(per_chunk, n_boot - s), n), dtype=np.int64)
                       for s in range(0, n_boot, per_chunk)] if n else []

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Bootstrap distribution of the mean of ``values`` ignoring NaN (excluded items)."""
        valid = np.isfinite(values)
        v = np.where(valid, values, 0.0)
        out = []
        for idx in self.chunks:
            with np.errstate(invalid="ignore", divide="ignore"):
                out.append(v[idx].sum(1) / valid[idx].sum(1))
        return np.concatenate(out) if out else np.zeros(0)

    def balanced(self, classes: np.ndarray, correct: np.ndarray) -> np.ndarray:
        """Bootstrap distribution of the balanced accuracy: the mean, over the true
        classes present in a resample, of the share of that class's items answered right."""
        out = []
        for idx in self.chunks:
            cls, hit = classes[idx], correct[idx]
            recalls = []
            for c in np.unique(classes):
                mask = cls == c
                with np.errstate(invalid="ignore", divide="ignore"):
                    recalls.append((mask & hit).sum(1) / mask.sum(1))
            with np.errstate(invalid="ignore"):
                out.append(np.nanmean(np.stack(recalls), axis=0))
        return np.concatenate(out) if out else np.zeros(0)

    def binary(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
        parts = [amb_metrics.binary_scores(y_true[idx], y_pred[idx]) for idx in self.chunks]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}


def balanced_accuracy(classes: Sequence[Any], correct: Sequence[bool]) -> float | None:
    """Mean over the true classes of the share of each class's items answered right.

    ``sklearn.metrics.balanced_accuracy_score`` on the items; a constant answer scores
    exactly 1 / (number of classes present). Higher is better.

    >>> balanced_accuracy(["down", "down", "down", "up"], [True, True, True, False])
    0.5
    """
    by: dict[Any, list[bool]] = {}
    for c, ok in zip(classes, correct, strict=True):
        by.setdefault(c, []).append(bool(ok))
    return float(np.mean([np.mean(v) for v in by.values()])) if by else None


def metric_entry(value: float | None, boots: np.ndarray, higher: bool, n: int
                 ) -> dict[str, Any]:
    """One metric of a scores.json block: value, interval, direction, items counted."""
    lo, hi = percentiles(boots) if value is not None else (None, None)
    return {"value": value, "ci_low": lo, "ci_high": hi, "higher_is_better": higher, "n": n}


class TaskBlock:
    """One task's scores.json block while its ``aggregate`` fills it, and the bootstrap
    samples of each metric (the headline's feed ``overall``)."""

    def __init__(self, scores: Sequence[ItemScore], boot: Bootstrap) -> None:
        n = len(scores)
        self.boot = boot
        self.block: dict[str, Any] = {
            "n": n, "parse_rate": float(np.mean([s.is_parsed for s in scores])) if n else None,
            "n_errors": sum(s.error is not None for s in scores), "metrics": {}}
        self.metrics: dict[str, Any] = self.block["metrics"]
        self.samples: dict[str, np.ndarray] = {}

    def add(self, name: str, values: Sequence[Any], higher: bool) -> None:
        """A metric that is the mean of per-item values (None: the item is left out)."""
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        valid = np.isfinite(arr)
        value = float(arr[valid].mean()) if valid.any() else None
        self.samples[name] = self.boot.mean(arr)
        self.metrics[name] = metric_entry(value, self.samples[name], higher, int(valid.sum()))

    def set(self, name: str, value: float | None, boots: np.ndarray, higher: bool, n: int
            ) -> None:
        """A metric computed by the task itself, with its bootstrap samples."""
        self.samples[name] = boots
        self.metrics[name] = metric_entry(value, boots, higher, n)

    def add_balanced(self, classes: list[Any], correct: list[bool]) -> None:
        """``balanced_accuracy`` over the items' true classes."""
        codes = {c: i for i, c in enumerate(sorted(set(map(str, classes))))}
        coded = np.array([codes[str(c)] for c in classes], dtype=np.int64)
        self.set("balanced_accuracy", balanced_accuracy(classes, correct),
                 self.boot.balanced(coded, np.array(correct, dtype=bool)), True, len(classes))
