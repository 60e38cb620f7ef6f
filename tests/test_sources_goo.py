"""GOO reader: records in the published pickle shape, the restricted unpickler, bad records."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vl4gaze.schema import Flag, InOut
from vl4gaze.sources import read_source
from vl4gaze.sources.goo import GOO_CLASSES, load_pickle, read_goo
from vl4gaze.sources.problems import SourceError


def _synth_record() -> dict:
    """A GOO-Synth record: 640x480 image, gazed box index 1, no head box stored."""
    return {
        "filename": "synth\\0001.png",
        "width": 640, "height": 480,
        "ann": {"bboxes": np.array([[10, 20, 60, 80], [300, 200, 360, 260.0]]),
                "labels": np.array([3, 7])},
        "gaze_item": 7, "gazeIdx": 1, "gaze_cx": 330.0, "gaze_cy": 230.0,
        "hx": 100.0, "hy": 96.0, "seg": np.zeros(1),
        "pitch": 0.1, "yaw": 0.2, "roll": 0.0, "occluded": True,
    }


def _real_record() -> dict:
    """A GOO-Real record: coordinates at 640x480 scale, the head box last, labelled -1."""
    return {
        "filename": "real/0002.jpg",
        "width": 1920, "height": 1080,
        "ann": {"bboxes": np.array([[320, 240, 400, 300], [50, 50, 90, 90],
                                    [500, 40, 560, 110.0]]),
                "labels": np.array([5, 11, -1])},
        "gaze_item": 5, "gazeIdx": 0, "gaze_cx": 360.0, "gaze_cy": 270.0,
        "hx": 530.0, "hy": 70.0, "seg": np.zeros(1),
    }


@pytest.fixture
def goo_root(tmp_path: Path) -> Path:
    (tmp_path / "synth").mkdir()
    (tmp_path / "real").mkdir()
    Image.new("RGB", (640, 480)).save(tmp_path / "synth" / "0001.png")
    Image.new("RGB", (192, 108)).save(tmp_path / "real" / "0002.jpg")  # stands for 1920x1080
    return tmp_path


def _write(root: Path, records: list) -> Path:
    file = root / "goo_test.pickle"
    file.write_bytes(pickle.dumps(records, protocol=2))
    return file


def write_goo_release(root: Path) -> Path:
    """A GOO test pickle (a Synth, a Real and a no-visible-item record) and its images."""
    (root / "synth").mkdir(parents=True)
    (root / "real").mkdir()
    Image.new("RGB", (640, 480)).save(root / "synth" / "0001.png")
    Image.new("RGB", (192, 108)).save(root / "real" / "0002.jpg")
    hidden = {**_synth_record(), "gaze_item": -1, "gazeIdx": -1, "occluded": False}
    return _write(root, [_synth_record(), _real_record(), hidden])


def test_reads_synth_and_real_records(goo_root):
    file = _write(goo_root, [_synth_record(), _real_record()])
    problems: list = []
    synth, real = read_source(f"goo:{file}:{goo_root}", problems=problems,
                              class_names=[f"item{i}" for i in range(1, 25)])
    assert problems == []
    assert synth.split == "test" and synth.inout is InOut.IN
    assert Path(synth.image).exists() and (synth.width, synth.height) == (640, 480)
    assert synth.gaze[0].as_tuple() == pytest.approx((330 / 640, 230 / 480))
    assert synth.target.label == "item7" and synth.target.kind == "object"
    assert synth.target.rule == "source"
    assert synth.target.box.as_tuple() == pytest.approx((300 / 640, 200 / 480, 360 / 640,
                                                         260 / 480))
    assert len(synth.objects) == 2 and synth.flags == (Flag.OCCLUDED,)
    assert synth.person.head.contains(synth.person.eye)  # made around the head point

    assert (real.width, real.height) == (192, 108)  # coordinates still at 640x480 scale
    assert real.person.head.as_tuple() == pytest.approx((500 / 640, 40 / 480, 560 / 640,
                                                         110 / 480))
    assert [o.label for o in real.objects] == ["item5", "item11"]  # the head is no object
    assert real.target.label == "item5" and real.target.box.contains(real.gaze[0])


def test_pickle_alone_uses_its_folder_and_default_names(goo_root):
    file = _write(goo_root, [_synth_record()])
    (sample,) = read_goo(str(file))
    # labels run 1-24 over objectclasses.txt: 7 is its 7th name, 3 its 3rd
    assert sample.target.label == "Wafer" == GOO_CLASSES[6]
    assert [o.label for o in sample.objects] == ["Koko Krunch", "Wafer"]


def test_real_head_box_is_the_one_labelled_minus_one(goo_root):
    record = _real_record()
    boxes = record["ann"]["bboxes"]
    record["ann"] = {"bboxes": boxes[[2, 0, 1]], "labels": np.array([-1, 5, 11])}
    record["gazeIdx"] = 1
    file = _write(goo_root, [record])
    problems: list = []
    (sample,) = read_goo(f"{file}:{goo_root}", problems=problems)
    assert problems == []
    assert sample.person.head.as_tuple() == pytest.approx((500 / 640, 40 / 480, 560 / 640,
                                                           110 / 480))
    assert [o.label for o in sample.objects] == ["Mamon", "Pik-nik"]
    assert sample.target.label == "Mamon"


def test_real_coordinates_are_at_640x480_whatever_the_image_size(goo_root):
    file = _write(goo_root, [_real_record()])
    (sample,) = read_goo(f"{file}:{goo_root}", image_size_fn=lambda path: (1920, 1080))
    assert (sample.width, sample.height) == (1920, 1080)
    assert sample.person.eye.as_tuple() == pytest.approx((530 / 640, 70 / 480))
    assert sample.gaze[0].as_tuple() == pytest.approx((360 / 640, 270 / 480))


def test_gaze_item_minus_one_is_no_target(goo_root):
    record = {**_synth_record(), "gaze_item": -1, "gazeIdx": -1}
    file = _write(goo_root, [record])
    problems: list = []
    (sample,) = read_goo(str(file), problems=problems)
    assert problems == []
    assert sample.target.label is None and sample.target.box is None
    assert len(sample.gaze) == 1  # the gaze point is still annotated


def test_restricted_unpickler_refuses_code(tmp_path):
    class Evil:  # eval, not print: Ray swaps builtins.print for its own in-process
        def __reduce__(self):
            return (eval, ("1",))

    file = tmp_path / "evil.pickle"
    file.write_bytes(pickle.dumps([Evil()]))
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        load_pickle(file)
    with pytest.raises(SourceError, match="cannot load the pickle safely"):
        list(read_goo(str(file), strict=True))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"gaze_cx": "left"}, "gaze_cx", "not a number"),
        ({"hy": 4000.0}, "hy", "far outside"),
        ({"gazeIdx": 5}, "gazeIdx", "2 boxes"),
        ({"filename": "synth/missing.png"}, "filename", "not found"),
        ({"ann": {"bboxes": np.zeros((2, 4)), "labels": np.array([1])}}, "ann.labels",
         "1 labels for 2 boxes"),
        ({"ann": {"bboxes": np.zeros((2, 4)), "labels": np.array([0, 3])}}, "ann.labels",
         "not a GOO class"),
        ({"gaze_item": 31, "gazeIdx": -1}, "gaze_item", "not a GOO class"),
        ({"ann": {"bboxes": np.zeros((2, 4)), "labels": np.array([3, -1])}}, "gazeIdx",
         "is the head box"),
    ],
)
def test_bad_record_names_record_and_field(goo_root, change, field, words):
    file = _write(goo_root, [_real_record(), {**_synth_record(), **change}])
    problems: list = []
    samples = list(read_goo(f"{file}:{goo_root}", problems=problems))
    assert len(samples) == 1
    (problem,) = problems
    assert (problem.file, problem.line, problem.field) == (str(file), 2, field)
    assert words in problem.message
    with pytest.raises(SourceError):
        list(read_goo(f"{file}:{goo_root}", strict=True))
