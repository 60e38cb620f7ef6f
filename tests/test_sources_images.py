"""images:DIR: a folder of one's own photos, heads detected, gaze only from a sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from vl4gaze.schema import InOut
from vl4gaze.sources import read_source
from vl4gaze.sources.problems import SourceError


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(data.astronaut()).resize((256, 256))


def _folder(root: Path, astronaut: Image.Image) -> Path:
    (root / "trip").mkdir(parents=True)
    astronaut.save(root / "trip" / "astro.jpg")
    Image.new("RGB", (64, 48), "white").save(root / "wall.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_photos_without_labels_give_heads_and_no_gaze(tmp_path, astronaut):
    root = _folder(tmp_path, astronaut)
    problems: list = []
    (sample,) = read_source(f"images:{root}", problems=problems)
    assert sample.source == "images" and sample.source_id == "trip/astro.jpg#0"
    assert (sample.width, sample.height) == (256, 256) and Path(sample.image).is_absolute()
    assert sample.inout is InOut.UNKNOWN and sample.gaze == () and sample.others == ()
    head = sample.person.head
    assert head.contains(sample.person.head.center) and 0.3 < head.center.x < 0.6
    # the blank picture has nobody in it: recorded, but not an error even when strict
    assert [(Path(p.file).name, p.kind) for p in problems] == [("wall.png", "invalid")]
    assert len(list(read_source(f"images:{root}", strict=True))) == 1


def test_csv_sidecar_gives_gaze_to_the_detected_head_and_adds_people(tmp_path, astronaut):
    root = _folder(tmp_path, astronaut)
    (root / "gaze.csv").write_text(
        "image,gaze_x,gaze_y,inout,head_x1,head_y1,head_x2,head_y2,description,units\n"
        "trip/astro.jpg,0.8,0.6,,,,,,an astronaut,\n"
        "wall.png,32,40,in,2,2,12,14,,px\n"
        "wall.png,,,out,0.5,0.1,0.7,0.3,,\n"
    )
    samples = {s.source_id: s for s in read_source(f"images:{root}", strict=True)}
    astro = samples["trip/astro.jpg#0"]
    assert astro.inout is InOut.IN and astro.gaze[0].as_tuple() == (0.8, 0.6)
    assert astro.person.description == "an astronaut"
    left, right = samples["wall.png#0"], samples["wall.png#1"]
    assert left.gaze[0].as_tuple() == pytest.approx((0.5, 40 / 48))
    assert left.person.head.x1 == pytest.approx(2 / 64) and len(left.others) == 1
    assert right.inout is InOut.OUT and right.gaze == ()


def test_json_sidecar_wins_over_csv(tmp_path, astronaut):
    root = _folder(tmp_path, astronaut)
    (root / "gaze.csv").write_text("image,gaze_x,gaze_y\ntrip/astro.jpg,0.1,0.1\n")
    (root / "trip" / "astro.gaze.json").write_text(json.dumps(
        {"people": [{"gaze": [0.2, 0.9], "description": "a woman in a spacesuit"}]}))
    astro = next(s for s in read_source(f"images:{root}") if s.source_id.startswith("trip"))
    assert astro.gaze[0].as_tuple() == (0.2, 0.9)
    assert astro.person.description == "a woman in a spacesuit"


def test_bad_sidecar_lines_name_file_line_and_field(tmp_path, astronaut):
    root = _folder(tmp_path, astronaut)
    (root / "gaze.csv").write_text(
        "image,gaze_x,gaze_y,inout,head_x1,head_y1,head_x2,head_y2\n"
        "trip/astro.jpg,abc,0.5,,,,,\n"
        "wall.png,0.5,,,,,,\n"
        "wall.png,0.5,0.5,sideways,,,,\n"
        "wall.png,0.5,0.5,,0.1,0.1,,\n"
        "wall.png,0.5,0.5,,,,,\n"
        "gone.png,0.5,0.5,,,,,\n"
        "wall.png,3.5,0.5,,0.1,0.1,0.2,0.2\n"
    )
    (root / "trip" / "astro.gaze.json").write_text('{"people": [{"gaze": [1]}]}')
    problems: list = []
    list(read_source(f"images:{root}", problems=problems))
    found = [(Path(p.file).name, p.line, p.field) for p in problems if p.kind == "error"]
    assert found == [
        ("gaze.csv", 2, "gaze_x"), ("gaze.csv", 3, "gaze_y"), ("gaze.csv", 4, "inout"),
        ("gaze.csv", 5, "head_x2"), ("astro.gaze.json", None, "people[0].gaze"),
        ("gaze.csv", 8, "gaze_x"), ("gaze.csv", 6, "head_x1"), ("gaze.csv", 7, "image"),
    ]
    with pytest.raises(SourceError, match=r"gaze\.csv:2 \[gaze_x\]"):
        list(read_source(f"images:{root}", strict=True))


def test_not_a_folder(tmp_path):
    problems: list = []
    assert list(read_source(f"images:{tmp_path / 'none'}", problems=problems)) == []
    assert "not a folder" in problems[0].message
