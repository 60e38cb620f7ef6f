"""Readers build records without re-validation (``schema.trusted``): the output must be
what the validating constructors give, and bad input must still be reported."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vl4gaze import schema
from vl4gaze.build import _image_key, build_from_samples
from vl4gaze.geometry import box_from_pixels
from vl4gaze.schema import Box, GazeSample, Person, Point, trusted
from vl4gaze.sources._common import clipped_box, clipped_point
from vl4gaze.sources.gazefollow import TEST_FILE, TRAIN_FILE, read_gazefollow


def _release(root: Path, images: int = 60, seed: int = 3) -> Path:
    """A small GazeFollow-format release: 1-3 people per train image (some out of frame,
    some with swapped head corners), test people with 1-4 annotators."""
    rng = random.Random(seed)
    train, test = [], []
    for image in range(images):
        for person in range(rng.choice((1, 2, 3))):
            ex, ey = rng.random(), rng.random()
            hx, hy = ex * 640, ey * 480
            x1, x2 = (hx - 20, hx + 20) if rng.random() < 0.8 else (hx + 20, hx - 20)
            train.append(f"train/{image:04d}.jpg,{person},0.1,0.2,0.5,0.7,{ex:.5f},{ey:.5f},"
                         f"{rng.uniform(-0.01, 1.01):.5f},{rng.random():.5f},{x1:.1f},"
                         f"{hy - 25:.1f},{x2:.1f},{hy + 25:.1f},{rng.choice('1110')},p,x.jpg")
        ex, ey = rng.random(), rng.random()
        for annotator in range(rng.randint(1, 4)):
            test.append(f"test2/{image:04d}.jpg,{annotator},0.1,0.2,0.5,0.7,{ex:.6f},{ey:.6f},"
                        f"{rng.random():.6f},{rng.random():.6f},{int(ex * 640) - 20},"
                        f"{int(ey * 480) - 25},{int(ex * 640) + 20},{int(ey * 480) + 25},p,x.jpg")
    root.mkdir(parents=True, exist_ok=True)
    (root / TRAIN_FILE).write_text("\n".join(train) + "\n")
    (root / TEST_FILE).write_text("\n".join(test) + "\n")
    return root


def _read(root: Path, problems: list | None = None) -> list[GazeSample]:
    return list(read_gazefollow(str(root), problems=problems,
                                image_size_fn=lambda path: (640, 480)))


def _build(root: Path, out: Path) -> dict[str, bytes]:
    samples = ((s, f"gazefollow/{os.path.relpath(s.image, root)}") for s in _read(root))
    build_from_samples(samples, out, images="none", progress=False, seed=7)
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))} | {
        "image_plan.parquet": (out / "image_plan.parquet").read_bytes()}


def test_reader_records_equal_validated_ones(tmp_path, monkeypatch):
    root = _release(tmp_path / "gf")
    fast = _read(root)
    monkeypatch.setattr(schema, "VALIDATE_TRUSTED", True)
    checked = _read(root)
    assert len(fast) > 100
    assert fast == checked
    # JSON tells 0 from 0.0 and a tuple from a list: the same types, not just equal values.
    assert [s.to_json() for s in fast] == [s.to_json() for s in checked]


def test_build_is_byte_identical_with_fast_and_validated_records(tmp_path, monkeypatch):
    root = _release(tmp_path / "gf")
    fast = _build(root, tmp_path / "fast")
    monkeypatch.setattr(schema, "VALIDATE_TRUSTED", True)
    checked = _build(root, tmp_path / "checked")
    assert set(fast) == {"train.parquet", "test.parquet", "image_plan.parquet"}
    assert fast == checked


def test_bad_rows_are_still_reported_by_file_line_and_field(tmp_path):
    root = _release(tmp_path / "gf", images=3)
    lines = (root / TRAIN_FILE).read_text().splitlines()
    fields = lines[0].split(",")
    far = ",".join([*fields[:6], "1.7", *fields[7:]])  # eye_x far outside [0, 1]
    flat = ",".join([*fields[:10], "100", "50", "100", "90", *fields[14:]])  # no width
    (root / TRAIN_FILE).write_text("\n".join([*lines, far, flat]) + "\n")
    problems: list = []
    samples = _read(root, problems)
    errors = [p for p in problems if p.kind == "error"]
    assert [(Path(p.file).name, p.line, p.field) for p in errors] == [
        (TRAIN_FILE, len(lines) + 1, "eye_x"), (TRAIN_FILE, len(lines) + 2, "head_xmax")]
    assert all("\n" not in str(p) for p in errors)
    assert len(samples) == len([ln for ln in lines if ln.split(",")[14] != "-1"]) + 3


def test_an_image_size_that_is_not_positive_is_reported(tmp_path):
    root = _release(tmp_path / "gf", images=2)
    problems: list = []
    samples = list(read_gazefollow(str(root / TRAIN_FILE), problems=problems,
                                   image_size_fn=lambda path: (0, 480)))
    assert samples == []
    assert problems and all(p.field == "path" and "positive" in p.message for p in problems)


def test_trusted_fills_defaults_and_validates_on_request(monkeypatch):
    head = trusted(Box, x1=0.1, y1=0.1, x2=0.2, y2=0.3)
    assert trusted(Person, head=head) == Person(head=Box(0.1, 0.1, 0.2, 0.3))
    monkeypatch.setattr(schema, "VALIDATE_TRUSTED", True)
    with pytest.raises(ValueError, match="x2"):
        trusted(Box, x1=0.5, y1=0.1, x2=0.2, y2=0.3)


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@given(finite, finite, finite, finite, st.integers(1, 5000), st.integers(1, 5000))
def test_clipped_box_equals_box_from_pixels(x1, y1, x2, y2, width, height):
    fast = clipped_box(x1, y1, x2, y2, width, height)
    checked = box_from_pixels(x1, y1, x2, y2, width, height)
    assert fast == checked and fast.to_json() == checked.to_json()


@given(finite, finite)
def test_clipped_point_is_a_valid_point(x, y):
    fast = clipped_point(x, y)
    assert fast.to_json() == Point(fast.x, fast.y).to_json()
    assert 0.0 <= fast.x <= 1.0 and 0.0 <= fast.y <= 1.0


segment = st.sampled_from(["a", "b", ".", "..", "", "img 1.jpg", "x.png"])


@given(st.lists(segment, min_size=1, max_size=5), st.sampled_from(["/data/gf", "/data", "/"]))
def test_image_key_equals_the_relpath_form(parts, root):
    """The builder's image key skips relpath for a normal path under the root: same key."""
    image = "/data/gf/" + "/".join(parts)
    sample = trusted(GazeSample, image=image, width=1, height=1, source="gazefollow",
                     source_id="s", split="train", person=trusted(Person, head=None))
    rel = os.path.relpath(image, root)
    expected = f"gazefollow/{rel}" if not rel.startswith("..") else f"gazefollow/{image}"
    assert _image_key(sample, [root]) == expected
