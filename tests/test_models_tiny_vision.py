"""Vision pretraining of tiny-gaze: patch labels from the scene record, a short real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.geometry import DIRECTIONS
from vl4gaze.models.tiny_vision import (
    BACK_OF_HEAD,
    IGNORE,
    OBJECT,
    OTHER,
    patch_labels,
)


def _record(head: list[float], face_deg: float | None, eyes: str = "open",
            objects: list[list[float]] = ()) -> dict:
    return {"people": [{"head": head, "face_deg": face_deg, "eyes": eyes}],
            "objects": [{"box": box} for box in objects]}


def test_patch_labels_by_hand() -> None:
    # 4 x 4 grid; a head of radius 0.1 centred in patch (row 2, col 2), looking up-left;
    # an object filling the top-left patch.
    record = _record([0.525, 0.525, 0.725, 0.725], 135.0, objects=[[0.0, 0.0, 0.25, 0.25]])
    labels = patch_labels(record, 4)
    assert labels[2 * 4 + 2] == list(DIRECTIONS).index("upper left")
    assert labels[0] == OBJECT
    assert labels[3 * 4 + 3] == OTHER
    assert labels.count(IGNORE) >= 1  # the patches the nose and hair reach are left out
    turned = patch_labels(_record([0.575, 0.575, 0.675, 0.675], None, eyes="hidden"), 4)
    assert turned[2 * 4 + 2] == BACK_OF_HEAD


@settings(max_examples=60, deadline=None)
@given(x=st.floats(0.05, 0.9), y=st.floats(0.05, 0.9), r=st.floats(0.01, 0.05),
       angle=st.floats(0, 359.99), grid=st.integers(2, 10))
def test_every_head_labels_exactly_its_centre_patch(x, y, r, angle, grid) -> None:
    labels = patch_labels(_record([x - r, y - r, x + r, y + r], angle), grid)
    assert len(labels) == grid * grid
    faces = [i for i, c in enumerate(labels) if 0 <= c < len(DIRECTIONS)]
    assert faces == [min(grid - 1, int(y * grid)) * grid + min(grid - 1, int(x * grid))]
    assert set(labels) <= {*range(len(DIRECTIONS)), OTHER, IGNORE}


def test_pretraining_runs_and_is_recorded(tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText

    from vl4gaze.models.tiny import build_tiny_vlm

    path = build_tiny_vlm(tmp_path / "m", seed=0, image_size=64, hidden=32,
                          pretrain_steps=3, pretrain_scenes=8)
    config = json.loads((path / "config.json").read_text())
    report = config["vl4gaze_vision_pretraining"]
    assert report["steps"] == 3 and report["scenes"] == 8
    assert report["loss_first"] > 0 and 0 <= report["patch_accuracy"] <= 1
    plain = build_tiny_vlm(tmp_path / "plain", seed=0, image_size=64, hidden=32)
    a = AutoModelForImageTextToText.from_pretrained(path).model.vision_tower
    b = AutoModelForImageTextToText.from_pretrained(plain).model.vision_tower
    changed = [n for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters(),
                                           strict=True) if not (p == q).all()]
    assert changed  # the tower moved away from its random start
    la = AutoModelForImageTextToText.from_pretrained(path).model.language_model
    lb = AutoModelForImageTextToText.from_pretrained(plain).model.language_model
    assert all((p == q).all() for p, q in zip(la.parameters(), lb.parameters(), strict=True))
