"""Direction metrics over the eight viewer-frame classes of ``vl4gaze.geometry``.

An unparsed answer (``None``) counts as wrong in the accuracies, has no angular error,
and has its own last column in the confusion matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vl4gaze.geometry import DIRECTIONS, direction_center_deg, direction_steps

HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "adjacent_accuracy": True,
    "angular_error": False,
}


def correct(pred: str | None, gt: str) -> bool:
    """Exact class match."""
    return pred == gt


def adjacent_correct(pred: str | None, gt: str) -> bool:
    """Within one 45° sector of the truth: ``direction_steps(pred, gt) <= 1``.

    >>> adjacent_correct("upper left", "up"), adjacent_correct("left", "up")
    (True, False)
    """
    return pred is not None and direction_steps(pred, gt) <= 1


def angular_error(pred: str | None, gt_angle_deg: float) -> float | None:
    """Smallest angle (0-180°) between the predicted sector's centre and the true angle.

    ``err = min(|c - a| mod 360, 360 - |c - a| mod 360)`` with ``c`` the class centre.

    >>> angular_error("up", 100.0), angular_error("right", 350.0)
    (10.0, 10.0)
    """
    if pred is None:
        return None
    diff = abs(direction_center_deg(pred) - gt_angle_deg) % 360.0
    return min(diff, 360.0 - diff)


def accuracy(preds: Sequence[str | None], gts: Sequence[str]) -> float:
    """Share of exact matches; ``sum(pred_i == gt_i) / n``."""
    return float(np.mean([correct(p, g) for p, g in zip(preds, gts, strict=True)]))


def adjacent_accuracy(preds: Sequence[str | None], gts: Sequence[str]) -> float:
    """Share of answers within one sector of the truth."""
    return float(np.mean([adjacent_correct(p, g) for p, g in zip(preds, gts, strict=True)]))


def confusion_matrix(preds: Sequence[str | None], gts: Sequence[str]) -> np.ndarray:
    """8 x 9 counts: rows the true class (DIRECTIONS order), columns the predicted one,
    the last column "unparsed".

    >>> confusion_matrix(["up", None], ["up", "left"])[[2, 4]].tolist()[0][2]
    1
    """
    m = np.zeros((len(DIRECTIONS), len(DIRECTIONS) + 1), dtype=np.int64)
    for p, g in zip(preds, gts, strict=True):
        col = DIRECTIONS.index(p) if p is not None else len(DIRECTIONS)
        m[DIRECTIONS.index(g), col] += 1
    return m
