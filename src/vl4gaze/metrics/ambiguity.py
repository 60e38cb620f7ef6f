"""Ambiguity recognition as binary classification: positive = the answer declines.

The truth is the item's ``target["ambiguous"]``; the prediction is
``vl4gaze.parse.ambiguity.parse_ambiguity(raw).declines``. With TP, FP, FN, TN counted
over items: accuracy = (TP + TN) / n, precision = TP / (TP + FP), recall = TP / (TP + FN),
F1 = 2 TP / (2 TP + FP + FN); a ratio with a zero denominator is 0 (sklearn's
``zero_division=0``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "reason_accuracy": True,
}


def binary_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, precision, recall and F1 along the last axis (vectorised for bootstrap).

    ``y_true`` and ``y_pred`` are boolean arrays of shape (..., n).

    >>> s = binary_scores(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    >>> {k: float(v) for k, v in s.items()}
    {'accuracy': 0.5, 'precision': 0.5, 'recall': 0.5, 'f1': 0.5}
    """
    t, p = np.asarray(y_true, bool), np.asarray(y_pred, bool)
    return binary_from_counts((t & p).sum(-1), (~t & p).sum(-1), (t & ~p).sum(-1),
                              (t == p).sum(-1), t.shape[-1])


def binary_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, agree: np.ndarray,
                       n: int) -> dict[str, np.ndarray]:
    """``binary_scores`` from the counts (true positives, false positives, false
    negatives, agreements) of ``n`` items: the bootstrap counts resamples this way."""
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        accuracy = agree / n
    return {
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def per_reason(
    reasons: Sequence[str | None], declines: Sequence[bool], predicted: Sequence[str | None]
) -> dict[str, dict[str, float]]:
    """For each true reason: n, recall (share declined) and reason accuracy (share whose
    declared reason is the true one).

    >>> per_reason(["gaze_out_of_frame", None], [True, False], ["gaze_out_of_frame", None])
    {'gaze_out_of_frame': {'n': 1, 'recall': 1.0, 'reason_accuracy': 1.0}}
    """
    out: dict[str, dict[str, float]] = {}
    for reason in sorted({r for r in reasons if r}):
        idx = [i for i, r in enumerate(reasons) if r == reason]
        out[reason] = {
            "n": len(idx),
            "recall": float(np.mean([bool(declines[i]) for i in idx])),
            "reason_accuracy": float(np.mean([predicted[i] == reason for i in idx])),
        }
    return out
