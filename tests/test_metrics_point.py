"""Point metrics against hand calculations and the reference definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.metrics.point import (
    angular_error,
    avg_l2,
    gazefollow_auc,
    heatmap_to_point,
    min_l2,
    resize_bilinear,
    vat_auc,
    vat_target_map,
    within,
)


def test_l2_by_hand() -> None:
    gts = [(0.2, 0.2), (0.4, 0.6)]  # mean (0.3, 0.4)
    assert avg_l2((0.6, 0.8), gts) == pytest.approx(0.5)  # 3-4-5 triangle scaled
    assert min_l2((0.6, 0.8), gts) == pytest.approx(math.hypot(0.2, 0.2))
    assert within((0.35, 0.4), gts, 0.1) and not within((0.6, 0.8), gts, 0.2)
    with pytest.raises(ValueError):
        avg_l2((0.1, 0.1), [])


@settings(max_examples=100, deadline=None)
@given(st.tuples(st.floats(0, 1), st.floats(0, 1)),
       st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=10))
def test_min_l2_never_exceeds_max_distance(pred, gts) -> None:
    assert min_l2(pred, gts) <= max(math.dist(pred, g) for g in gts) + 1e-12
    assert avg_l2(pred, gts) <= math.sqrt(2) + 1e-9


def test_angular_error() -> None:
    eye = (0.5, 0.5)
    assert angular_error((0.9, 0.5), [(0.7, 0.5)], eye) == pytest.approx(0.0)
    assert angular_error((0.1, 0.5), [(0.9, 0.5)], eye) == pytest.approx(180.0)
    assert angular_error((0.6, 0.6), [(0.6, 0.5)], eye) == pytest.approx(45.0)
    assert angular_error((0.5, 0.5), [(0.6, 0.5)], eye) is None


def test_heatmap_to_point_is_argmax_over_size() -> None:
    hm = np.zeros((64, 64))
    hm[10, 40] = 2.0
    assert heatmap_to_point(hm) == (40 / 64, 10 / 64)


def test_gazefollow_auc_by_hand() -> None:
    # 2x2 heatmap already at image size: no resize. Target pixel (1, 0) (x=0.9, y=0.1).
    hm = np.array([[0.1, 0.9], [0.5, 0.3]])
    assert gazefollow_auc(hm, [(0.9, 0.1)], 2, 2) == pytest.approx(1.0)
    # target at (0, 1) scores 0.5: it beats 0.1 and 0.3 but not 0.9 -> 2/3
    assert gazefollow_auc(hm, [(0.1, 0.9)], 2, 2) == pytest.approx(2 / 3)
    # two annotators: positives {0.9, 0.5}, negatives {0.1, 0.3} -> 1.0
    assert gazefollow_auc(hm, [(0.9, 0.1), (0.1, 0.9)], 2, 2) == pytest.approx(1.0)
    # x = 1.0 is clipped to the last column, like the reference min(int(x*W), W-1)
    assert gazefollow_auc(hm, [(1.0, 0.0)], 2, 2) == pytest.approx(1.0)


def test_gazefollow_auc_upsamples_bilinearly() -> None:
    hm = np.zeros((64, 64))
    hm[20, 40] = 1.0
    gx, gy = (40 + 0.5) / 64, (20 + 0.5) / 64
    assert gazefollow_auc(hm, [(gx, gy)], 640, 480) == pytest.approx(1.0, abs=1e-3)
    flipped = gazefollow_auc(-hm, [(gx, gy)], 640, 480)
    assert flipped < 0.01


def test_resize_matches_torch_cv2_and_skimage() -> None:
    """PIL's float bilinear upsampling equals the resizes of the reference code bases."""
    torch = pytest.importorskip("torch")
    cv2 = pytest.importorskip("cv2")
    skt = pytest.importorskip("skimage.transform")
    hm = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    ours = resize_bilinear(hm, 320, 240)
    ref = torch.nn.functional.interpolate(
        torch.from_numpy(hm)[None, None], (240, 320), mode="bilinear", align_corners=False
    ).squeeze().numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    np.testing.assert_allclose(ours, cv2.resize(hm, (320, 240)), atol=1e-5)
    sk = skt.resize(hm, (240, 320), order=1, mode="edge", anti_aliasing=False)
    np.testing.assert_allclose(ours, sk, atol=1e-5)


def test_vat_target_square() -> None:
    t = vat_target_map((0.5, 0.5))  # centre 32: slice [23, 42) in both axes
    ys, xs = np.nonzero(t)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (23, 41, 23, 41)
    assert t.sum() == 19 * 19
    corner = vat_target_map((0.0, 0.0))  # int(-9) = -9 -> clipped at 0, end int(10) = 10
    assert corner.sum() == 10 * 10 and corner[9, 9] == 1 and corner[10, 10] == 0
    edge = vat_target_map((1.0, 1.0))  # 64-9=55 .. min(75, 64)
    assert edge.sum() == 9 * 9 and edge[55, 55] == 1


def test_vat_auc_by_hand() -> None:
    hm = np.zeros((64, 64))
    hm[32, 32] = 1.0
    # 361 positives, 3735 negatives; one positive wins, all other pairs tie.
    assert vat_auc(hm, (0.5, 0.5)) == pytest.approx(1 / 361 + 0.5 * 360 / 361)
    perfect = vat_target_map((0.3, 0.7)).astype(float)
    assert vat_auc(perfect, (0.3, 0.7)) == pytest.approx(1.0)
    assert vat_auc(np.kron(perfect, np.ones((2, 2))), (0.3, 0.7)) > 0.99  # 128 -> 64
