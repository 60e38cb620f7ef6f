"""VideoAttentionTarget and ChildPlay readers on fixtures in their exact layouts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vl4gaze.schema import Flag, InOut
from vl4gaze.sources import read_source
from vl4gaze.sources.childplay import frame_image, parse_clip, read_childplay
from vl4gaze.sources.problems import SourceError
from vl4gaze.sources.vat import read_vat

DATA = Path(__file__).parent / "data" / "sources"
VAT_CLIP = Path("annotations/train/Show1/1000_1100")
CP_TRAIN = "1Ab4_vLMMAb_2354-2439"  # a video id with "_" in it
CP_VAL = "Zx-9k_Q2wE3_100-160-downsampled"
CP_CLIP = Path(f"annotations/train/{CP_TRAIN}.csv")


def test_vat_fixture():
    problems: list = []
    samples = list(read_source(f"vat:{DATA / 'vat'}", problems=problems))
    assert problems == []
    assert len(samples) == 5
    assert [s.split for s in samples].count("test") == 1
    first = samples[0]
    assert first.source_id == "train/Show1/1000_1100/00001000.jpg#s00"
    assert Path(first.image).exists() and (first.width, first.height) == (320, 240)
    assert first.gaze[0].as_tuple() == pytest.approx((200 / 320, 120 / 240))
    assert first.person.head.as_tuple() == pytest.approx((100 / 320, 50 / 240, 140 / 320,
                                                          100 / 240))
    assert len(first.others) == 1
    clamped = samples[1]  # s01 at frame 1000 has gazex = -5: clamped to 0, in frame
    assert clamped.inout is InOut.IN and clamped.gaze[0].x == 0.0
    out = next(s for s in samples if s.source_id.endswith("00001001.jpg#s00"))
    assert out.inout is InOut.OUT and out.gaze == ()


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ("00001000.jpg,1,2,3\n", None, "found 4"),
        ("00001000.jpg,1,2,3,x,5,6\n", "ymax", "not a number"),
        ("00001000.jpg,100,50,140,100,9999,120\n", "gazex", "far outside"),
        ("00001000.jpg,100,50,140,900,10,10\n", "ymax", "far outside"),
        ("00009999.jpg,100,50,140,100,10,10\n", "path", "not found"),
    ],
)
def test_vat_broken_lines(tmp_path, bad, field, words):
    root = tmp_path / "vat"
    shutil.copytree(DATA / "vat", root)
    file = root / VAT_CLIP / "s02.txt"
    file.write_text("00001001.jpg,10,10,30,30,5,5\n" + bad)
    problems: list = []
    samples = list(read_vat(str(root), problems=problems))
    assert len(samples) == 6
    (problem,) = problems
    assert (problem.file, problem.line, problem.field) == (str(file), 2, field)
    assert words in problem.message
    with pytest.raises(SourceError, match=r"s02\.txt:2"):
        list(read_vat(str(root), strict=True))


def test_childplay_fixture_keeps_every_class():
    problems: list = []
    samples = list(read_source(f"childplay:{DATA / 'childplay'}", problems=problems))
    assert problems == []
    assert len(samples) == 6
    by_id = {s.source_id: s for s in samples}
    visible = by_id[f"train/{CP_TRAIN}/1#1"]
    # frame 1 of the clip starting at 2354 is frame 2354 of the video
    assert visible.image == str(DATA / "childplay" / "images" / CP_TRAIN / "1Ab4_vLMMAb_2354.jpg")
    assert visible.inout is InOut.IN and visible.flags == ()
    assert visible.gaze[0].as_tuple() == pytest.approx((200 / 400, 150 / 300))
    assert visible.person.head.as_tuple() == pytest.approx((100 / 400, 40 / 300, 150 / 400,
                                                            100 / 300))
    assert len(visible.others) == 1
    closed = by_id[f"train/{CP_TRAIN}/1#2"]
    assert closed.flags == (Flag.EYES_CLOSED,) and closed.gaze == ()
    occluded = by_id[f"train/{CP_TRAIN}/2#1"]
    assert occluded.flags == (Flag.OCCLUDED,) and occluded.image.endswith("_2355.jpg")
    out = by_id[f"train/{CP_TRAIN}/2#2"]
    assert out.inout is InOut.OUT and out.gaze == ()
    # a -downsampled clip: the suffix is dropped, the frame maps as start + frame - 1
    shift = by_id[f"val/{CP_VAL}/1#1"]
    assert shift.flags == (Flag.GAZE_SHIFT,)
    assert shift.image == str(DATA / "childplay" / "images" / CP_VAL / "Zx-9k_Q2wE3_100.jpg")
    assert by_id[f"val/{CP_VAL}/2#1"].flags == (Flag.UNCERTAIN,)


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (f"{CP_TRAIN},1,3,1,2\n", None, "found 5"),
        (f"{CP_TRAIN},1,3,1,2,3,4,looking_around,5,5\n", "gaze_class", "not one of"),
        (f"{CP_TRAIN},1,3,1,zz,3,4,inside_visible,5,5\n", "bbox_y", "not a number"),
        (f"{CP_TRAIN},1,3,1,2,3,4,inside_visible,5,\n", "gaze_y", "not a number"),
        (f"{CP_TRAIN},1,3,1,2,3,4,inside_visible,5,7000\n", "gaze_y", "far outside"),
        (f"{CP_TRAIN},99,3,1,2,3,4,inside_visible,5,5\n", "path", "not found"),
        (f"{CP_TRAIN},0,3,1,2,3,4,inside_visible,5,5\n", "frame", "1-based"),
        (f"{CP_TRAIN},x,3,1,2,3,4,inside_visible,5,5\n", "frame", "1-based"),
        ("1Ab4_vLMMAb_2354_2439,1,3,1,2,3,4,inside_visible,5,5\n", "clip",
         "not named videoid_start-end"),
    ],
)
def test_childplay_broken_lines(tmp_path, bad, field, words):
    root = tmp_path / "childplay"
    shutil.copytree(DATA / "childplay", root)
    file = root / CP_CLIP
    file.write_text(file.read_text() + bad)
    problems: list = []
    samples = list(read_childplay(str(root), problems=problems))
    assert len(samples) == 6
    (problem,) = problems
    assert (problem.file, problem.line, problem.field) == (str(file), 6, field)
    assert words in problem.message
    with pytest.raises(SourceError, match=rf"{CP_TRAIN}\.csv:6"):
        list(read_childplay(str(root), strict=True))


def test_childplay_header_without_columns(tmp_path):
    root = tmp_path / "childplay"
    shutil.copytree(DATA / "childplay", root)
    (root / CP_CLIP).write_text(f"clip,frame,person_id\n{CP_TRAIN},1,1\n")
    problems: list = []
    assert len(list(read_childplay(str(root), problems=problems))) == 2
    assert problems[0].line == 1 and problems[0].field == "bbox_x"


@pytest.mark.parametrize(
    ("clip", "frame", "image"),
    [
        ("1Ab4vLMMAbY_2354-2439", 1, "1Ab4vLMMAbY_2354.jpg"),
        ("1Ab4vLMMAbY_2354-2439", 86, "1Ab4vLMMAbY_2439.jpg"),
        ("a_b_c_10-20", 3, "a_b_c_12.jpg"),
        ("x-y_7_500-600-downsampled", 2, "x-y_7_501.jpg"),
    ],
)
def test_childplay_frame_image_follows_the_release(clip, frame, image):
    assert frame_image(clip, frame) == image


def test_childplay_clip_names():
    assert parse_clip("Ab_cd-E_12-40-downsampled") == ("Ab_cd-E", 12, 40)
    assert parse_clip("Abc_12_40") is None and parse_clip("Abc-12-40") is None


@pytest.mark.parametrize("target", ["missing", "loop"])
def test_vat_broken_clip_links_are_reported(tmp_path, target):
    """A clip folder that is a broken link or a link loop was skipped without a word."""
    root = tmp_path / "vat"
    shutil.copytree(DATA / "vat", root)
    link = root / "annotations" / "train" / "Show1" / "bad_clip"
    link.symlink_to(link if target == "loop" else root / "nowhere")
    problems: list = []
    samples = list(read_vat(str(root), problems=problems))
    assert len(samples) == 5  # the fixture's samples are all still read
    (problem,) = problems
    assert problem.file == str(link) and "broken link or a link loop" in problem.message
    with pytest.raises(SourceError, match="bad_clip"):
        list(read_vat(str(root), strict=True))
