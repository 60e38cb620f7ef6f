"""The box rule, COCO instances, and annotate -> annotated:DIR on GazeWorld and GazeFollow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from vl4gaze.annotate import annotate_samples, run_annotate
from vl4gaze.annotate.boxes import CONTAINS, NEAREST, pick_object, point_box_distance
from vl4gaze.annotate.coco import attach_objects, read_coco_instances
from vl4gaze.schema import Box, GazeSample, InOut, Person, Point, SceneObject, Target
from vl4gaze.sources import read_source
from vl4gaze.sources.problems import SourceError

GAZEFOLLOW = Path(__file__).parent / "data" / "sources" / "gazefollow"


def obj(label: str, *box: float) -> SceneObject:
    return SceneObject(label=label, box=Box(*box))


def test_smallest_containing_box_wins_over_larger_and_nearer():
    table = obj("table", 0.1, 0.5, 0.9, 0.9)
    mug = obj("mug", 0.4, 0.55, 0.5, 0.65)
    pick = pick_object(Point(0.45, 0.6), [table, mug])
    assert pick is not None and pick.object is mug and pick.rule == CONTAINS
    assert pick.distance == 0.0 and pick.index == 1


def test_nearest_box_within_tolerance_else_none():
    mug = obj("mug", 0.4, 0.4, 0.5, 0.5)
    book = obj("book", 0.7, 0.7, 0.8, 0.8)
    near = pick_object(Point(0.53, 0.45), [book, mug], tolerance=0.05)
    assert near is not None and near.object is mug and near.rule == NEAREST
    assert near.distance == pytest.approx(0.03)
    assert pick_object(Point(0.53, 0.45), [book, mug], tolerance=0.02) is None
    assert pick_object(Point(0.5, 0.5), []) is None
    with pytest.raises(ValueError, match="tolerance"):
        pick_object(Point(0.5, 0.5), [mug], tolerance=-1)


unit = st.floats(0, 1, allow_nan=False)


@st.composite
def boxes(draw) -> Box:
    x1, x2 = sorted((draw(unit), draw(unit)))
    y1, y2 = sorted((draw(unit), draw(unit)))
    return Box(x1, y1, x2, y2)


@given(point=st.builds(Point, unit, unit), found=st.lists(boxes(), max_size=6),
       tolerance=st.floats(0, 0.3))
def test_pick_is_the_smallest_container_or_the_nearest_box(point, found, tolerance):
    objects = [SceneObject(label=f"o{i}", box=b) for i, b in enumerate(found)]
    pick = pick_object(point, objects, tolerance=tolerance)
    containing = [b for b in found if b.contains(point)]
    distances = [point_box_distance(point, b) for b in found]
    if containing:
        assert pick is not None and pick.rule == CONTAINS
        assert pick.object.box.contains(point)
        assert pick.object.box.area == min(b.area for b in containing)
    elif distances and min(distances) <= tolerance:
        assert pick is not None and pick.rule == NEAREST
        assert pick.distance == min(distances) and 0 < pick.distance <= tolerance
    else:
        assert pick is None


@given(point=st.builds(Point, unit, unit), box=boxes())
def test_distance_is_zero_exactly_inside(point, box):
    distance = point_box_distance(point, box)
    assert distance >= 0
    assert (distance == 0) == box.contains(point)


def _sample(gaze: Point | None, objects=(), target=Target(), others=()) -> GazeSample:
    return GazeSample(
        image="/nowhere.png", width=100, height=100, source="test", source_id="s",
        split="test", person=Person(head=Box(0.0, 0.0, 0.1, 0.1)),
        gaze=(gaze,) if gaze else (), inout=InOut.IN if gaze else InOut.OUT,
        target=target, objects=tuple(objects), others=tuple(others),
    )


def test_people_count_as_objects_and_truth_is_measured():
    other = Person(head=Box(0.6, 0.1, 0.7, 0.2), description="a man in red", index=1)
    mug = obj("mug", 0.3, 0.3, 0.4, 0.4)
    truth_mug = Target(label="mug", box=mug.box, kind="object", rule="source")
    samples = [
        _sample(Point(0.65, 0.15), [mug], Target(label="person", box=other.head,
                                                 kind="person", rule="source"), [other]),
        _sample(Point(0.35, 0.35), [mug], truth_mug),
        _sample(Point(0.9, 0.9), [mug], truth_mug),  # misses the mug: an error
        _sample(None, [mug]),
    ]
    result = annotate_samples(samples)
    targets = [s.target for s in result.samples]
    assert (targets[0].kind, targets[0].label, targets[0].description) == (
        "person", "person", "a man in red")
    assert targets[1].rule == CONTAINS and targets[1].box == mug.box
    assert targets[2].rule == "box:none" and targets[2].label is None
    assert targets[3].rule == "no_gaze"
    assert [r["truth_agree"] for r in result.records] == [True, True, False, None]
    truth = result.report["truth"]
    assert (truth["n_judged"], truth["agree"], truth["coverage"]) == (3, 2, 1.0)
    assert truth["error_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert result.report["rules"] == {"box:contains": 2, "box:none": 1, "no_gaze": 1}
    kept = annotate_samples(samples, keep_source_targets=True).samples
    assert kept[2].target == truth_mug


def _coco(path: Path, images: list[dict], annotations: list[dict]) -> Path:
    path.write_text(json.dumps({
        "images": images, "annotations": annotations,
        "categories": [{"id": 1, "name": "person"}, {"id": 47, "name": "cup"},
                       {"id": 62, "name": "chair"}],
    }))
    return path


def test_coco_instances_normalized_and_bad_entries_reported(tmp_path):
    path = _coco(tmp_path / "instances.json", [
        {"id": 7, "file_name": "COCO_val2014_000000000007.jpg", "width": 200, "height": 100},
    ], [
        {"id": 1, "image_id": 7, "category_id": 47, "bbox": [20, 10, 40, 30]},
        {"id": 2, "image_id": 7, "category_id": 62, "bbox": [0, 0, 200, 100], "iscrowd": 1},
        {"id": 3, "image_id": 7, "category_id": 99, "bbox": [0, 0, 10, 10]},
        {"id": 4, "image_id": 7, "category_id": 1, "bbox": [0, 0, -5, 10]},
        {"id": 5, "image_id": 8, "category_id": 1, "bbox": [0, 0, 5, 10]},
    ])
    problems: list = []
    index = read_coco_instances(path, problems=problems)
    (cup,) = index["COCO_val2014_000000000007.jpg"]
    assert cup.label == "cup" and cup.box.as_tuple() == pytest.approx((0.1, 0.1, 0.3, 0.4))
    assert [p.field for p in problems] == [
        "annotations[2].category_id", "annotations[3].bbox", "annotations[4].image_id"]
    with pytest.raises(SourceError, match=r"annotations\[2\]\.category_id"):
        read_coco_instances(path, strict=True)


def test_gazefollow_with_coco_instances_annotates_and_reads_back(tmp_path):
    test_image = GAZEFOLLOW / "test2" / "00000000" / "00000001.jpg"
    train_image = GAZEFOLLOW / "train" / "00000080" / "00080697.jpg"
    (tw, th), (rw, rh) = Image.open(test_image).size, Image.open(train_image).size
    coco = _coco(tmp_path / "instances.json", [
        # matched through GazeFollow's original_name column
        {"id": 1, "file_name": "2010_006760.jpg", "width": tw, "height": th},
        # matched through the path relative to the release root
        {"id": 2, "file_name": "train/00000080/00080697.jpg", "width": rw, "height": rh},
    ], [
        {"image_id": 1, "category_id": 47, "bbox": [0.25 * tw, 0.75 * th, 0.1 * tw, 0.1 * th]},
        {"image_id": 1, "category_id": 62, "bbox": [0.35 * tw, 0.6 * th, 0.1 * tw, 0.15 * th]},
        {"image_id": 2, "category_id": 62, "bbox": [0.45 * rw, 0.25 * rh, 0.1 * rw, 0.1 * rh]},
    ])
    out = tmp_path / "annotated"
    report = run_annotate([f"gazefollow:{GAZEFOLLOW}"], out, coco=coco)
    samples = list(read_source(f"annotated:{out}"))
    by_id = {s.source_id: s for s in samples}
    assert by_id["test2/00000000/00000001.jpg#0"].target.label == "cup"
    assert by_id["test2/00000000/00000001.jpg#1"].target.label == "chair"
    assert by_id["train/00000080/00080697.jpg#0"].target.label == "chair"
    assert all(Path(s.image).is_absolute() and Path(s.image).exists() for s in samples)
    assert report["rules"]["box:contains"] == 3
    assert report["truth"]["n_with_truth"] == 0  # GazeFollow knows no targets
    on_disk = json.loads((out / "annotation_report.json").read_text())
    assert on_disk["rules"] == report["rules"]
    side = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    assert len(side) == len(samples) and {"rule", "distance"} <= side[0].keys()


def test_attach_objects_keeps_existing_objects():
    mug = obj("mug", 0.1, 0.1, 0.2, 0.2)
    have = _sample(Point(0.5, 0.5), [mug])
    index = {"nowhere.png": (obj("chair", 0.4, 0.4, 0.6, 0.6),)}
    none = _sample(Point(0.5, 0.5))
    kept, added = attach_objects([have, none], index)
    assert kept.objects == (mug,) and added.objects[0].label == "chair"


def test_annotate_then_read_back_on_gazeworld(tmp_path):
    from vl4gaze.sources.gazeworld import synthesize

    world = synthesize(tmp_path / "world", 6, seed=3, size=160)
    out = tmp_path / "annotated"
    report = run_annotate([f"gazeworld:{world}"], out)
    original = list(read_source(f"gazeworld:{world}"))
    annotated = list(read_source(f"annotated:{out}", strict=True))
    assert [s.source_id for s in annotated] == [s.source_id for s in original]
    judged = report["truth"]["n_judged"]
    assert judged == sum(1 for s in original if s.target.rule == "source" and s.gaze)
    # GazeWorld gaze points lie on their targets, so the box rule is right every time.
    assert report["truth"]["agree"] == judged and report["truth"]["error_rate"] == 0.0
    assert sum(report["rules"].values()) == len(original)


def test_read_annotated_reports_bad_lines_and_resolves_relative_images(tmp_path):
    good = _sample(Point(0.5, 0.5))
    line = json.loads(good.to_json())
    line["image"] = "images/a.png"
    bad = dict(line, width=-3)
    (tmp_path / "samples.jsonl").write_text(json.dumps(line) + "\n\n" + json.dumps(bad) + "\n")
    problems: list = []
    (sample,) = read_source(f"annotated:{tmp_path}", problems=problems)
    assert sample.image == str(tmp_path.resolve() / "images" / "a.png")
    assert [(p.line, p.field) for p in problems] == [(3, "width")]
    with pytest.raises(SourceError, match=r"samples\.jsonl:3"):
        list(read_source(f"annotated:{tmp_path}", strict=True))
    missing: list = []
    assert list(read_source(f"annotated:{tmp_path / 'none'}", problems=missing)) == []
    assert "vl4gaze annotate" in missing[0].message
