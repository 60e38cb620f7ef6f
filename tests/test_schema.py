import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from vl4gaze.schema import (
    Box,
    GazeSample,
    InOut,
    Person,
    Point,
    Prediction,
    QAItem,
    SceneObject,
    Target,
    Task,
    content_id,
)

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def boxes(draw):
    x1, x2 = sorted((draw(unit), draw(unit)))
    y1, y2 = sorted((draw(unit), draw(unit)))
    return Box(x1, y1, x2, y2)


@st.composite
def samples(draw):
    return GazeSample(
        image=draw(st.text(min_size=1, max_size=20)),
        width=draw(st.integers(1, 5000)),
        height=draw(st.integers(1, 5000)),
        source="gazefollow",
        source_id=draw(st.text(min_size=1, max_size=10)),
        split=draw(st.sampled_from(["train", "test"])),
        person=Person(head=draw(boxes()), eye=Point(draw(unit), draw(unit)), index=1),
        gaze=tuple(Point(draw(unit), draw(unit)) for _ in range(draw(st.integers(0, 4)))),
        inout=draw(st.sampled_from(list(InOut))),
        target=Target(label="mug", box=draw(boxes()), kind="object"),
        others=(Person(head=draw(boxes())),),
        objects=(SceneObject(label="book", box=draw(boxes())),),
        flags=("eyes_closed",),
    )


@given(samples())
def test_gaze_sample_round_trips_through_dict_and_json(sample):
    assert GazeSample.from_dict(sample.to_dict()) == sample
    assert GazeSample.from_json(sample.to_json()) == sample


def test_qaitem_and_prediction_round_trip():
    item = QAItem(
        id="abc", task=Task.POINT, image="img/1.png", width=448, height=448, source="gazeworld",
        split="test", question="Where?", answer="(0.500, 0.250)",
        target={"points": [[0.5, 0.25]], "mean": [0.5, 0.25]}, person_ref="box",
        template_id="point-3", sample_id="s1", person_head=Box(0.1, 0.1, 0.2, 0.2),
    )
    assert QAItem.from_json(item.to_json()) == item
    assert item.task is Task.POINT
    pred = Prediction(item_id="abc", model="tiny", prompt_config="p0", raw="(0.5, 0.2)")
    assert Prediction.from_dict(pred.to_dict()) == pred


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: Box(0.6, 0.1, 0.2, 0.3), "x2=0.2 is left of x1=0.6"),
        (lambda: Box(0.1, 0.5, 0.2, 0.3), "y2=0.3 is above y1=0.5"),
        (lambda: Point(1.5, 0.1), "x=1.5 is outside"),
        (lambda: Point(0.1, -0.3), "y=-0.3 is outside"),
        (lambda: GazeSample(image="", width=1, height=1, source="s", source_id="1",
                            split="train", person=Person(head=Box(0, 0, 1, 1))), "image is empty"),
        (lambda: GazeSample(image="a", width=0, height=1, source="s", source_id="1",
                            split="train", person=Person(head=Box(0, 0, 1, 1))), "width=0"),
        (lambda: QAItem.from_dict({"id": "x", "task": "count", "image": "a", "width": 1,
                                   "height": 1, "source": "s", "split": "t", "question": "q",
                                   "answer": "a", "target": {}, "person_ref": "box",
                                   "template_id": "t", "sample_id": "s"}), "task"),
    ],
)
def test_impossible_records_are_rejected_naming_field_and_value(make, needle):
    with pytest.raises(ValidationError, match=needle):
        make()


def test_small_annotation_noise_is_tolerated():
    assert Point(1.01, -0.01).x == 1.01


def test_records_are_frozen():
    box = Box(0.1, 0.1, 0.2, 0.2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.x1 = 0.0  # type: ignore[misc]


def test_box_helpers():
    box = Box(0.2, 0.2, 0.6, 0.4)
    assert box.center == Point(0.4, 0.30000000000000004)
    assert box.contains(Point(0.3, 0.3)) and not box.contains(Point(0.7, 0.3))
    assert box.area == pytest.approx(0.08)


def test_gaze_mean_and_origin():
    head = Box(0.0, 0.0, 0.2, 0.2)
    s = GazeSample(image="a", width=1, height=1, source="s", source_id="1", split="test",
                   person=Person(head=head), gaze=(Point(0.2, 0.4), Point(0.4, 0.8)))
    assert s.gaze_mean.x == pytest.approx(0.3) and s.gaze_mean.y == pytest.approx(0.6)
    assert s.eye_or_head == head.center


def test_content_id_is_stable_and_sensitive():
    assert content_id("a", 1, {"b": 2}) == content_id("a", 1, {"b": 2})
    assert content_id("a", 1) != content_id("a", 2)
    assert len(content_id("x")) == 16
