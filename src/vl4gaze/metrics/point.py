"""Gaze-point metrics, defined as the public gaze-following evaluation code defines them.

Points are normalized ``(x, y)`` tuples (x right, y down); ``gts`` lists every
annotator's point. Distances are in normalized units with no aspect correction, as in
the reference code (docs/scoring.md, "Definitions and references").

AUC has one definition per dataset family (``AUC_DEFINITIONS``), chosen by an item's
source (``auc_definition``), because each dataset's reference evaluation computes it
differently; see docs/scoring.md for the table of definitions and references:

- fkryan/gazelle ``gazelle/utils.py`` (commit c8457130ee0221845de3485d6b2a5a6198912cf3):
  ``gazefollow_auc``, ``vat_auc``;
- ejcgt/attention-target-detection ``eval_on_gazefollow.py``,
  ``eval_on_videoatttarget.py``, ``utils/imutils.py`` (commit
  acd264a3c9e6002b71244dea8c1873e5c5818500);
- idiap/sharingan ``src/metrics.py``, ``src/utils/common.py`` (commit
  006b69dfb70e83aa8b073d0a8ead10325022f687), ChildPlay's authors;
- upeee/GOO-GAZE2021 ``gazefollowing/evaluate_chong.py`` (commit
  a6c3dcbfb7c6dd4a7cffa61c749123d9fad2b50e), GOO's authors.

Heatmaps are resized with ``resize_bilinear``, a numpy port of
``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` (no
antialiasing), the resize of Gaze-LLE's metrics; no torch is needed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

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
#: Side of the grid GOO's authors compute AUC on.
GOO_GRID = 5

#: AUC definitions by name: what each computes (one line, as written to scores.json and
#: the dataset card).
AUC_DEFINITIONS: dict[str, str] = {
    "gazefollow": "GazeFollow AUC (Gaze-LLE fkryan/gazelle gazelle/utils.py gazefollow_auc): "
                  "heatmap resized to the image (bilinear, align_corners=False, float), "
                  "1 at every annotator's pixel, ROC AUC over all pixels",
    "vat": "VideoAttentionTarget AUC (Chong et al. eval_on_videoatttarget.py; ChildPlay's "
           "authors the same): 64x64 map, target the 19x19 square around the point "
           "(draw_labelmap support, clipped at 64), ROC AUC over the 4096 cells",
    "goo": "GOO AUC (upeee/GOO-GAZE2021 gazefollowing/evaluate_chong.py): heatmap resized "
           "to 5x5, 1 at the cell of the gaze point, ROC AUC over the 25 cells",
}

#: The AUC definition of each source's reference evaluation; sources without one of
#: their own (GazeWorld, plain images) use GazeFollow's, the image-level definition.
AUC_BY_SOURCE: dict[str, str] = {
    "gazefollow": "gazefollow",
    "vat": "vat",
    "childplay": "vat",
    "goo": "goo",
    "gazeworld": "gazefollow",
    "images": "gazefollow",
}


def auc_definition(source: str) -> str:
    """The AUC definition (a key of ``AUC_DEFINITIONS``) for items of ``source``."""
    return AUC_BY_SOURCE.get(source, "gazefollow")


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


#: The angle the reference gives a zero-length vector: GOO's evaluation divides the dot
#: product by ``|f| |g| + 1e-6``, so a prediction on the eye has cosine 0.
ZERO_VECTOR_ANGLE = 90.0


def angular_error(pred: PointT, gts: Sequence[PointT], eye: PointT) -> float:
    """Angle in degrees between (pred - eye) and (mean(gts) - eye); lower is better.

    A zero-length vector (a prediction exactly on the eye, or a mean gaze point there)
    scores 90 degrees, as in the reference (upeee/GOO-GAZE2021
    gazefollowing/evaluate_chong.py, commit a6c3dcbfb7c6dd4a7cffa61c749123d9fad2b50e:
    ``arccos(dot / (|f| |g| + 1e-6))``), so it counts in the mean rather than dropping
    out. Other angles are exact (the reference's 1e-6 is left out: it biases short
    vectors, e.g. two 0.01-long collinear vectors read 8 degrees there).

    >>> angular_error((1.0, 0.5), [(0.5, 0.0)], (0.5, 0.5))
    90.0
    >>> angular_error((0.5, 0.5), [(0.9, 0.1)], (0.5, 0.5))
    90.0
    """
    mx, my = mean_point(gts)
    u = (pred[0] - eye[0], pred[1] - eye[1])
    v = (mx - eye[0], my - eye[1])
    if math.hypot(*u) == 0 or math.hypot(*v) == 0:
        return ZERO_VECTOR_ANGLE
    return angle_between(u, v)


def heatmap_to_point(heatmap: np.ndarray) -> PointT:
    """The reference's point of a heatmap: argmax cell (row-major first) divided by the size.

    >>> hm = np.zeros((64, 64)); hm[16, 32] = 1
    >>> heatmap_to_point(hm)
    (0.5, 0.25)
    """
    hm = np.asarray(heatmap)
    row, col = np.unravel_index(int(np.argmax(hm)), hm.shape)
    return (float(col) / hm.shape[1], float(row) / hm.shape[0])


_F32 = np.float32


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float32 ``a * b + c`` rounded once, like the fused multiply-add torch's CPU kernels
    are compiled to (the float32 product is exact in float64)."""
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(_F32)


def _axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights along one axis, as torch's ``compute_source_index_and_
    lambda`` (align_corners=False): src = scale (dst + 0.5) - 0.5 clipped at 0."""
    if n_in == n_out:
        idx = np.arange(n_out)
        return idx, idx, np.ones(n_out, _F32), np.zeros(n_out, _F32)
    scale = np.full(n_out, _F32(n_in) / _F32(n_out), dtype=_F32)
    real = _fma(scale, np.arange(n_out, dtype=_F32) + _F32(0.5), np.full(n_out, -0.5, _F32))
    real = np.maximum(real, _F32(0))
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    l1 = np.clip(real - i0.astype(_F32), _F32(0), _F32(1)).astype(_F32)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return i0, i1, (_F32(1) - l1).astype(_F32), l1


def resize_bilinear(heatmap: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a 2-D map to ``height`` x ``width``, float32, equal to
    ``torch.nn.functional.interpolate(x[None, None], (height, width), mode="bilinear",
    align_corners=False)`` (the resize of Gaze-LLE's ``gazefollow_auc``).

    Same arithmetic as torch's CPU kernel (torch 2.x ``UpSampleKernel.cpp``): separable
    weights in float32 with fused multiply-adds; when ``height + width <= 128`` torch
    takes its vectorized kernel, which multiplies the two axes' weights first. Equal to
    torch 2.14 bit for bit on x86-64 (tests/test_metrics_point.py), within 1e-6 anywhere.
    Down-sampling has no antialiasing, like the reference.
    """
    hm = np.asarray(heatmap, dtype=_F32)
    if hm.ndim != 2:
        raise ValueError(f"heatmap must be 2-D, got shape {hm.shape}")
    if hm.shape == (height, width):
        return hm
    y0, y1, a0, a1 = _axis(hm.shape[0], height)
    x0, x1, b0, b1 = _axis(hm.shape[1], width)
    if height + width > 128:  # generic kernel: width pass, then height pass
        rows = _fma(hm[:, x0], b0, hm[:, x1] * b1)
        return _fma(rows[y0], a0[:, None], rows[y1] * a1[:, None])
    w00, w01 = a0[:, None] * b0, a0[:, None] * b1
    w10, w11 = a1[:, None] * b0, a1[:, None] * b1
    top, bottom = hm[y0], hm[y1]
    out = _fma(top[:, x0], w00, top[:, x1] * w01)
    out = _fma(w10, bottom[:, x0], out)
    return _fma(w11, bottom[:, x1], out)


def _roc_auc(target: np.ndarray, scores: np.ndarray) -> float:
    """``sklearn.metrics.roc_auc_score`` over the cells (sklearn is imported here, on the
    first heatmap: a run without heatmaps never pays its ~2 s import)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(target.ravel(), scores.ravel()))


def gazefollow_auc(
    heatmap: np.ndarray, gts: Sequence[PointT], width: int, height: int
) -> float:
    """ROC AUC of a heatmap against every annotator's pixel (GazeFollow AUC).

    As Gaze-LLE's ``gazefollow_auc`` (fkryan/gazelle gazelle/utils.py, commit
    c8457130ee0221845de3485d6b2a5a6198912cf3): the ground truth is a ``height`` x
    ``width`` map, 1 at pixel ``(min(int(x*W), W-1), min(int(y*H), H-1))`` for every
    annotator, 0 elsewhere; the float heatmap is resized to the same size by
    ``resize_bilinear`` (up or down); AUC over all pixels. Chong et al.'s original
    (ejcgt/attention-target-detection eval_on_gazefollow.py) resized a uint8 copy with
    scipy's ``imresize`` instead. Our points are validated normalized points, never the
    reference's -1 "no annotation", so every one counts; a pixel index is also clipped
    at 0 (points may stray 2 % outside the image). Higher is better.

    >>> hm = np.zeros((4, 4)); hm[1, 2] = 1.0
    >>> round(gazefollow_auc(hm, [(0.6, 0.3)], 4, 4), 3)
    1.0
    """
    target = np.zeros((height, width), dtype=np.uint8)
    for x, y in gts:
        col = min(max(int(float(x) * float(width)), 0), width - 1)
        row = min(max(int(float(y) * float(height)), 0), height - 1)
        target[row, col] = 1
    scores = resize_bilinear(heatmap, width, height)
    return _roc_auc(target, scores)


def vat_target_map(gt: PointT, size: int = VAT_SIZE, sigma: int = VAT_SIGMA) -> np.ndarray:
    """VideoAttentionTarget's ground truth: the (6*sigma+1)-square around the point, as 0/1.

    It is the support of the reference's ``draw_labelmap`` Gaussian
    (ejcgt/attention-target-detection utils/imutils.py, commit
    acd264a3c9e6002b71244dea8c1873e5c5818500): from ``int(g*size - 3*sigma)`` (clipped
    at 0) to ``int(g*size + 3*sigma + 1)`` (clipped at ``size``) as a half-open slice,
    for x and y. ChildPlay's authors (idiap/sharingan src/utils/common.py
    ``generate_gaze_heatmap``) clip the same way; Gaze-LLE's port clips the end at
    ``size - 1``, which drops the last row and column from squares that reach them.
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
    """ROC AUC of a heatmap against the VAT target square, on the 64x64 map.

    The reference models output 64x64 maps; another size is first resized to 64x64 with
    ``resize_bilinear``. The scores are the float map, as in Gaze-LLE's ``vat_auc``
    (Chong et al.'s ``imresize`` made a uint8 copy, which only adds ties). Higher is
    better; NaN when the target map is empty or covers every cell.

    >>> hm = np.zeros((64, 64)); hm[32, 32] = 1.0
    >>> round(vat_auc(hm, (0.5, 0.5)), 4)
    0.5014
    """
    target = vat_target_map(gt)
    if target.min() == target.max():
        return float("nan")
    scores = resize_bilinear(heatmap, VAT_SIZE, VAT_SIZE)
    return _roc_auc(target, scores)


def goo_auc(heatmap: np.ndarray, gts: Sequence[PointT]) -> float:
    """ROC AUC on the 5x5 grid of GOO's authors (upeee/GOO-GAZE2021
    gazefollowing/evaluate_chong.py ``calculate_metrics``, commit
    a6c3dcbfb7c6dd4a7cffa61c749123d9fad2b50e).

    The heatmap is resized to 5x5 (the reference's ``cv2.resize`` bilinear; ours is
    ``resize_bilinear``, within 2e-6 of it), the target is 1 at cell
    ``(int(x*5), int(y*5))`` of each gaze point (GOO has one; the reference indexes out
    of the grid at x = 1.0, here clipped to the last cell). Higher is better.

    >>> hm = np.zeros((64, 64)); hm[40:52, 8:20] = 1.0
    >>> goo_auc(hm, [(0.2, 0.7)])
    1.0
    """
    target = np.zeros((GOO_GRID, GOO_GRID), dtype=np.uint8)
    for x, y in gts:
        col = min(max(int(float(x) * GOO_GRID), 0), GOO_GRID - 1)
        row = min(max(int(float(y) * GOO_GRID), 0), GOO_GRID - 1)
        target[row, col] = 1
    scores = resize_bilinear(heatmap, GOO_GRID, GOO_GRID)
    return _roc_auc(target, scores)


def auc(heatmap: np.ndarray, gts: Sequence[PointT], width: int, height: int,
        definition: str = "gazefollow") -> float:
    """AUC of a heatmap under one of ``AUC_DEFINITIONS`` (VAT's uses the mean point)."""
    if definition == "gazefollow":
        return gazefollow_auc(heatmap, gts, width, height)
    if definition == "vat":
        return vat_auc(heatmap, mean_point(gts))
    if definition == "goo":
        return goo_auc(heatmap, gts)
    raise ValueError(f"unknown AUC definition {definition!r}; expected one of "
                     f"{', '.join(AUC_DEFINITIONS)}")
