"""Point metrics against hand calculations and the reference definitions.

``tests/data/metrics/reference_auc.json`` holds what the reference implementations
(fkryan/gazelle ``gazelle/utils.py``, ejcgt/attention-target-detection
``utils/imutils.py``) returned on the maps of ``tests/data/metrics/point_fixtures.py``
when run outside this repository; nothing here imports them.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.metrics.point import (
    AUC_BY_SOURCE,
    AUC_DEFINITIONS,
    angular_error,
    auc,
    auc_definition,
    avg_l2,
    gazefollow_auc,
    goo_auc,
    heatmap_to_point,
    min_l2,
    resize_bilinear,
    vat_auc,
    vat_target_map,
    within,
)

sys.path.insert(0, str(Path(__file__).parent / "data" / "metrics"))
import point_fixtures

REFERENCE = json.loads(point_fixtures.FIXTURE.read_text())


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


def _goo_angle(pred, gt, eye) -> float:
    """The angular error of upeee/GOO-GAZE2021 gazefollowing/evaluate_chong.py
    (calculate_metrics, commit a6c3dcbfb7c6dd4a7cffa61c749123d9fad2b50e), re-implemented."""
    f = np.asarray(pred) - eye
    g = np.asarray(gt) - eye
    cos = (f[0] * g[0] + f[1] * g[1]) / (math.hypot(*g) * math.hypot(*f) + 1e-6)
    return float(np.arccos(np.maximum(np.minimum(cos, 1.0), -1.0)) * 180 / np.pi)


def test_angular_error_on_the_eye_is_the_references_90_degrees() -> None:
    """A prediction exactly on the eye (or a mean gaze point there) is not undefined: the
    reference's epsilon makes its cosine 0, 90 degrees (was None, dropped from the mean)."""
    eye = (0.5, 0.5)
    assert angular_error(eye, [(0.6, 0.5)], eye) == 90.0 == _goo_angle(eye, (0.6, 0.5), eye)
    assert angular_error((0.7, 0.1), [(0.4, 0.6), (0.6, 0.4)], eye) == 90.0
    assert angular_error(eye, [eye], eye) == 90.0 == _goo_angle(eye, eye, eye)


@settings(max_examples=200, deadline=None)
@given(st.tuples(st.floats(0, 1), st.floats(0, 1)), st.tuples(st.floats(0, 1), st.floats(0, 1)),
       st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_angular_error_matches_the_reference_formula(pred, gt, eye) -> None:
    """Equal to GOO's formula but for its 1e-6, which moves an angle by at most
    sqrt(2e-6 / (|f| |g|)) radians (at cosine +-1); exactly 90 at a zero vector."""
    product = math.dist(pred, eye) * math.dist(gt, eye)
    value = angular_error(pred, [gt], eye)
    assert 0.0 <= value <= 180.0
    if math.dist(pred, eye) == 0 or math.dist(gt, eye) == 0:
        assert value == 90.0
    elif product > 0:  # (a product of two tiny lengths may underflow: any angle is in bounds)
        bound = math.degrees(math.sqrt(2e-6 / product)) * 1.01 + 1e-9
        assert abs(value - _goo_angle(pred, gt, eye)) <= bound


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


def _torch_resize(hm: np.ndarray, width: int, height: int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    return torch.nn.functional.interpolate(
        torch.from_numpy(np.asarray(hm, np.float32))[None, None], (height, width),
        mode="bilinear", align_corners=False).squeeze(0).squeeze(0).numpy()


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 80), st.integers(1, 80), st.integers(1, 400), st.integers(1, 400),
       st.integers(0, 2**32 - 1))
def test_resize_equals_torch_bilinear_up_and_down(h, w, height, width, seed) -> None:
    """The numpy port equals torch's F.interpolate(bilinear, align_corners=False) within
    1e-6 on random maps and sizes, both kernels (PIL's filter was up to 6.4e-4 off
    upsampling, 0.3 and more downsampling)."""
    hm = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    ours = resize_bilinear(hm, width, height)
    assert ours.shape == (height, width) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, _torch_resize(hm, width, height), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("width", "height"), [(640, 480), (40, 30), (96, 32), (97, 32),
                                                (5, 5), (1280, 720)])
def test_resize_is_torch_bit_for_bit(width, height) -> None:
    """Same float32 arithmetic as torch's two CPU kernels, so ties fall alike in AUC."""
    hm = point_fixtures.heatmap("random", width)
    np.testing.assert_array_equal(resize_bilinear(hm, width, height),
                                  _torch_resize(hm, width, height))


def test_resize_rejects_a_non_2d_map() -> None:
    with pytest.raises(ValueError, match="2-D"):
        resize_bilinear(np.zeros((2, 64, 64)), 10, 10)


@pytest.mark.parametrize("case", REFERENCE["gazefollow_auc"],
                         ids=lambda c: f"{c['kind']}-{c['width']}x{c['height']}")
def test_gazefollow_auc_equals_gazelle(case) -> None:
    """Gaze-LLE's gazefollow_auc, run on the same maps outside the repo, to 1e-6 (up- and
    down-sampling, ties, 1-10 annotators, a point on the far corner)."""
    hm = point_fixtures.heatmap(case["kind"], case["seed"])
    value = gazefollow_auc(hm, point_fixtures.points(case["seed"]), case["width"],
                           case["height"])
    assert value == pytest.approx(case["auc"], abs=1e-6)


def _gazelle_auc(hm: np.ndarray, gts, width: int, height: int) -> float:
    """fkryan/gazelle gazelle/utils.py gazefollow_auc (c8457130), re-implemented with torch."""
    torch = pytest.importorskip("torch")
    from sklearn.metrics import roc_auc_score

    target = np.zeros((height, width))
    for x, y in gts:
        if x >= 0:
            px, py = map(int, [x * float(width), y * float(height)])
            target[min(py, height - 1), min(px, width - 1)] = 1
    resized = torch.nn.functional.interpolate(torch.from_numpy(hm)[None, None],
                                              (height, width), mode="bilinear").squeeze()
    return float(roc_auc_score(target.flatten(), resized.flatten()))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(point_fixtures.KINDS), st.integers(0, 10**6), st.integers(2, 300),
       st.integers(2, 300), st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)),
                                     min_size=1, max_size=10))
def test_gazefollow_auc_matches_the_reference_function(kind, seed, width, height, gts) -> None:
    hm = point_fixtures.heatmap(kind, seed)
    if len({(min(int(x * width), width - 1), min(int(y * height), height - 1))
            for x, y in gts}) == width * height:
        return  # a single class: the reference raises too
    assert gazefollow_auc(hm, gts, width, height) == pytest.approx(
        _gazelle_auc(hm, gts, width, height), abs=1e-6)


@pytest.mark.parametrize("case", REFERENCE["vat"], ids=lambda c: f"{c['x']},{c['y']}")
def test_vat_square_is_chongs_draw_labelmap(case) -> None:
    """The target square equals Chong et al.'s draw_labelmap support (> 0), run outside."""
    ys, xs = np.nonzero(vat_target_map((case["x"], case["y"])))
    assert [xs.min(), xs.max() + 1, ys.min(), ys.max() + 1] == case["square"]


@pytest.mark.parametrize("case", REFERENCE["vat"], ids=lambda c: f"{c['x']},{c['y']}")
def test_vat_auc_against_gazelle(case) -> None:
    """Equal to Gaze-LLE's vat_auc unless the square reaches the last row or column, where
    Gaze-LLE clips at 63 and we keep Chong's (and ChildPlay's authors') 64."""
    hm = point_fixtures.heatmap(case["kind"], case["seed"])
    value = vat_auc(hm, (case["x"], case["y"]))
    if max(case["square"][1], case["square"][3]) < 64:
        assert value == pytest.approx(case["gazelle_auc"], abs=1e-12)
    else:
        assert value != pytest.approx(case["gazelle_auc"], abs=1e-12)


def _goo_reference_auc(hm: np.ndarray, gt) -> float:
    """upeee/GOO-GAZE2021 gazefollowing/evaluate_chong.py AUC (a6c3dcbf), re-implemented."""
    cv2 = pytest.importorskip("cv2")
    from sklearn.metrics import roc_auc_score

    pred = cv2.resize(hm, (5, 5))
    target = np.zeros((5, 5))
    x, y = list(map(int, np.asarray(gt) * 5))
    target[y, x] = 1.0
    return float(roc_auc_score(target.reshape([-1]).astype(np.int32), pred.reshape([-1])))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(("random", "blob")), st.integers(0, 10**6),
       st.tuples(st.floats(0, 0.999), st.floats(0, 0.999)))
def test_goo_auc_matches_the_goo_authors(kind, seed, gt) -> None:
    hm = point_fixtures.heatmap(kind, seed)
    assert goo_auc(hm, [gt]) == pytest.approx(_goo_reference_auc(hm, gt), abs=1e-6)
    assert goo_auc(hm, [(1.0, 1.0)]) == goo_auc(hm, [(0.99, 0.99)])  # clipped, no IndexError


def test_auc_definition_follows_the_source() -> None:
    assert auc_definition("gazefollow") == "gazefollow"
    assert auc_definition("vat") == auc_definition("childplay") == "vat"
    assert auc_definition("goo") == "goo"
    assert auc_definition("gazeworld") == auc_definition("images") == "gazefollow"
    assert auc_definition("something-new") == "gazefollow"
    assert set(AUC_BY_SOURCE.values()) == set(AUC_DEFINITIONS)
    hm = point_fixtures.heatmap("blob", 3)
    gts = [(0.3, 0.4)]
    assert auc(hm, gts, 640, 480, "vat") == vat_auc(hm, (0.3, 0.4))
    assert auc(hm, gts, 640, 480, "goo") == goo_auc(hm, gts)
    assert auc(hm, gts, 640, 480) == gazefollow_auc(hm, gts, 640, 480)
    with pytest.raises(ValueError, match="unknown AUC definition"):
        auc(hm, gts, 640, 480, "recasens")


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
