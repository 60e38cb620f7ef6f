"""Heatmaps and points of the point-metric fixtures, made from seeds.

``reference_auc.json`` holds what the reference implementations return on them; rerun
``python tests/data/metrics/point_fixtures.py GAZELLE_DIR ATD_DIR`` (checkouts of
fkryan/gazelle c8457130ee0221845de3485d6b2a5a6198912cf3 and
ejcgt/attention-target-detection acd264a3c9e6002b71244dea8c1873e5c5818500, outside this
repository, with torch installed) to regenerate it. Tests import only this module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

KINDS = ("random", "blob", "steps", "sparse")
#: (width, height) of the images: up- and down-sampling, both torch kernels (H + W <= 128
#: and > 128), a non-square map size.
SIZES = ((640, 480), (40, 30), (64, 64), (1280, 720), (517, 333), (28, 100), (20, 15),
         (96, 32), (97, 32))
FIXTURE = Path(__file__).with_name("reference_auc.json")


def heatmap(kind: str, seed: int, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    """A float32 map: uniform noise, a blob, a 4-level staircase (ties) or sparse peaks."""
    rng = np.random.default_rng(seed)
    h, w = shape
    if kind == "random":
        return rng.random((h, w)).astype(np.float32)
    if kind == "blob":
        cx, cy = rng.random(2) * (w, h)
        s = 2 + 6 * rng.random()
        yy, xx = np.mgrid[0:h, 0:w]
        hm = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s)) + 0.05 * rng.random((h, w))
        return (hm / hm.max()).astype(np.float32)
    if kind == "steps":
        return (np.floor(rng.random((h, w)) * 4) / 4).astype(np.float32)
    if kind == "sparse":
        hm = np.zeros((h, w), np.float32)
        hm[rng.integers(0, h, 5), rng.integers(0, w, 5)] = rng.random(5)
        return hm
    raise ValueError(kind)


def points(seed: int) -> list[list[float]]:
    """1-10 annotators' normalized points; seed 0 also puts one on the far corner."""
    rng = np.random.default_rng(1000 + seed)
    pts = rng.random((int(rng.integers(1, 11)), 2)).tolist()
    return [*pts, [1.0, 1.0]] if seed == 0 else pts


def gazefollow_cases() -> list[dict]:
    return [{"kind": k, "seed": i * 10 + j, "width": w, "height": h}
            for i, k in enumerate(KINDS) for j, (w, h) in enumerate(SIZES)]


#: VAT points: inside, near every edge and corner (where the clip at 64 vs 63 matters).
VAT_POINTS = ((0.5, 0.5), (0.3, 0.7), (0.0, 0.0), (1.0, 1.0), (0.99, 0.5), (0.5, 0.999),
              (0.12, 0.93), (0.86, 0.02), (0.14, 0.141), (0.847, 0.852))


def _generate(gazelle_dir: str, atd_dir: str) -> dict:
    sys.path[:0] = [gazelle_dir, atd_dir]
    import torch
    from gazelle.utils import gazefollow_auc, vat_auc  # type: ignore[import-not-found]
    from utils.imutils import draw_labelmap  # type: ignore[import-not-found]

    gf = []
    for case in gazefollow_cases():
        hm = torch.from_numpy(heatmap(case["kind"], case["seed"]))
        pts = points(case["seed"])
        value = gazefollow_auc(hm, [p[0] for p in pts], [p[1] for p in pts],
                               case["height"], case["width"])
        gf.append({**case, "auc": float(value)})
    vat = []
    for i, (x, y) in enumerate(VAT_POINTS):
        hm = torch.from_numpy(heatmap(KINDS[i % 4], 500 + i))
        square = (draw_labelmap(torch.zeros(64, 64), [x * 64, y * 64], 3) > 0).numpy()
        ys, xs = np.nonzero(square)
        vat.append({"x": x, "y": y, "kind": KINDS[i % 4], "seed": 500 + i,
                    "square": [int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1],
                    "gazelle_auc": float(vat_auc(hm, x, y))})
    return {"source": {"gazelle": "fkryan/gazelle c8457130ee0221845de3485d6b2a5a6198912cf3 "
                                  "gazelle/utils.py",
                       "chong": "ejcgt/attention-target-detection "
                                "acd264a3c9e6002b71244dea8c1873e5c5818500 utils/imutils.py",
                       "torch": torch.__version__},
            "gazefollow_auc": gf, "vat": vat}


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(_generate(sys.argv[1], sys.argv[2]), indent=1) + "\n")
