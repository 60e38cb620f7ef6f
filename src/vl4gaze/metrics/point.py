"""Gaze-point metrics, defined as the public gaze-following evaluation code defines them.

Points are normalized ``(x, y)`` tuples (x right, y down); ``gts`` lists every
annotator's point. Distances are in normalized units with no aspect correction, as in
the reference code (REFERENCES.md, "Reference metrics").

Heatmaps are upsampled with PIL's float (mode ``F``) bilinear resize. For upsampling it
equals ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` (used by
Gaze-LLE), ``cv2.resize(INTER_LINEAR)`` and ``skimage.transform.resize(order=1,
mode="edge")`` to float32 precision (checked in tests/test_metrics_point.py); the
original Chong et al. code used ``scipy.misc.imresize``, PIL's same filter on a uint8
copy, which only adds ties.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score

from vl4gaze.geometry import angle_between

PointT = tuple[float, float]

#: Whether a larger value is better, per metric name (used by score.py and reports).
HIGHER_IS_BETTER: dict[str, bool] = {
    "avg_l2": False,
    "min_l2": False,
    "acc@0.1": True,
    "acc@0.2": True,
    "angular_error": False,
    "auc": True,
}

#: Side of the VideoAttentionTarget output map and the sigma of its ground-truth square.
VAT_SIZE = 64
VAT_SIGMA = 3


def mean_point(gts: Sequence[PointT]) -> PointT:
    """The annotators' mean point. Raises ValueError when ``gts`` is empty."""
    if len(gts) == 0:
        raise ValueError("no ground-truth points")
    n = len(gts)  # plain Python: ~10x faster than numpy for a handful of points
    return (sum(float(g[0]) for g in gts) / n, sum(float(g[1]) for g in gts) / n)


def avg_l2(pred: PointT, gts: Sequence[PointT]) -> float:
    """Euclidean distance from ``pred`` to the annotators' mean point (GazeFollow "Avg L2").

    ``avg_l2 = || pred - mean(gts) ||_2``; lower is better.

    >>> round(avg_l2((0.5, 0.5), [(0.4, 0.5), (0.6, 0.9)]), 6)
    0.2
    """
    mx, my = mean_point(gts)
    return math.hypot(pred[0] - mx, pred[1] - my)


def min_l2(pred: PointT, gts: Sequence[PointT]) -> float:
    """Smallest distance from ``pred`` to any annotator's point (GazeFollow "Min L2").

    ``min_l2 = min_i || pred - gt_i ||_2``; lower is better.

    >>> round(min_l2((0.5, 0.5), [(0.4, 0.5), (0.6, 0.9)]), 6)
    0.1
    """
    if len(gts) == 0:
        raise ValueError("no ground-truth points")
    return min(math.hypot(pred[0] - gx, pred[1] - gy) for gx, gy in gts)


def within(pred: PointT, gts: Sequence[PointT], threshold: float) -> bool:
    """Whether ``avg_l2(pred, gts) <= threshold`` (the ``acc@0.1`` / ``acc@0.2`` hit).

    >>> within((0.5, 0.5), [(0.55, 0.5)], 0.1)
    True
    """
    return avg_l2(pred, gts) <= threshold


def angular_error(pred: PointT, gts: Sequence[PointT], eye: PointT) -> float | None:
    """Angle in degrees between (pred - eye) and (mean(gts) - eye); lower is better.

    ``None`` when either vector has zero length (the angle is undefined).

    >>> angular_error((1.0, 0.5), [(0.5, 0.0)], (0.5, 0.5))
    90.0
    """
    mx, my = mean_point(gts)
    try:
        return angle_between((pred[0] - eye[0], pred[1] - eye[1]), (mx - eye[0], my - eye[1]))
    except ValueError:
        return None


def heatmap_to_point(heatmap: np.ndarray) -> PointT:
    """The reference's point of a heatmap: argmax cell (row-major first) divided by the size.

    >>> hm = np.zeros((64, 64)); hm[16, 32] = 1
    >>> heatmap_to_point(hm)
    (0.5, 0.25)
    """
    hm = np.asarray(heatmap)
    row, col = np.unravel_index(int(np.argmax(hm)), hm.shape)
    return (float(col) / hm.shape[1], float(row) / hm.shape[0])


def resize_bilinear(heatmap: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a 2-D float map to ``height`` x ``width`` (PIL, float32)."""
    hm = np.asarray(heatmap, dtype=np.float32)
    if hm.shape == (height, width):
        return hm
    image = Image.fromarray(hm, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def gazefollow_auc(
    heatmap: np.ndarray, gts: Sequence[PointT], width: int, height: int
) -> float:
    """ROC AUC of a heatmap against every annotator's pixel (GazeFollow AUC).

    The ground truth is a ``height`` x ``width`` map, 1 at pixel
    ``(min(int(x*W), W-1), min(int(y*H), H-1))`` for every annotator, 0 elsewhere; the
    heatmap is bilinearly upsampled to the same size; AUC over all pixels. Higher is better.

    >>> hm = np.zeros((4, 4)); hm[1, 2] = 1.0
    >>> round(gazefollow_auc(hm, [(0.6, 0.3)], 4, 4), 3)
    1.0
    """
    target = np.zeros((height, width), dtype=np.uint8)
    for x, y in gts:
        if x < 0 or y < 0:  # the reference skips "no annotation" (-1) points
            continue
        target[min(int(y * height), height - 1), min(int(x * width), width - 1)] = 1
    scores = resize_bilinear(heatmap, width, height)
    return float(roc_auc_score(target.ravel(), scores.ravel()))


def vat_target_map(gt: PointT, size: int = VAT_SIZE, sigma: int = VAT_SIGMA) -> np.ndarray:
    """VideoAttentionTarget's ground truth: the (6*sigma+1)-square around the point, as 0/1.

    It is the support of the reference's ``draw_labelmap`` Gaussian: from
    ``int(g*size - 3*sigma)`` (clipped at 0) to ``int(g*size + 3*sigma + 1)`` (clipped
    at ``size``) as a half-open slice, for x and y.
    """
    target = np.zeros((size, size), dtype=np.uint8)
    px, py = gt[0] * size, gt[1] * size
    ul = (int(px - 3 * sigma), int(py - 3 * sigma))
    br = (int(px + 3 * sigma + 1), int(py + 3 * sigma + 1))
    if ul[0] >= size or ul[1] >= size or br[0] < 0 or br[1] < 0:
        return target  # the reference leaves the map empty
    target[max(0, ul[1]) : min(br[1], size), max(0, ul[0]) : min(br[0], size)] = 1
    return target


def vat_auc(heatmap: np.ndarray, gt: PointT) -> float:
    """ROC AUC of a heatmap (resized to 64x64 if needed) against the VAT target square.

    Higher is better; NaN when the target map is empty or covers every cell.

    >>> hm = np.zeros((64, 64)); hm[32, 32] = 1.0
    >>> round(vat_auc(hm, (0.5, 0.5)), 4)
    0.5014
    """
    target = vat_target_map(gt)
    if target.min() == target.max():
        return float("nan")
    scores = resize_bilinear(heatmap, VAT_SIZE, VAT_SIZE)
    return float(roc_auc_score(target.ravel(), scores.ravel()))
