"""What issue 22's pairing needs from every reader: the people of one image (one video
frame) share ``image``, have distinct ``person.index`` and list each other in ``others``.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

from vl4gaze.sources import read_source
from vl4gaze.sources.childplay import read_childplay
from vl4gaze.sources.gazefollow import read_gazefollow
from vl4gaze.sources.vat import read_vat

DATA = Path(__file__).parent / "data" / "sources"
VAT_CLIP = Path("annotations/train/Show1/1000_1100")
CP_CLIP = Path("annotations/train/1Ab4_vLMMAb_2354-2439.csv")


def _groups(samples) -> dict[str, list]:
    """Samples by image, each group checked as pairing needs it."""
    groups = defaultdict(list)
    for s in samples:
        groups[s.image].append(s)
    for image, group in groups.items():
        indices = [s.person.index for s in group]
        assert sorted(indices) == list(range(len(group))), (image, indices)
        for s in group:
            want = sorted((q.person.index, q.person.head.as_tuple()) for q in group if q is not s)
            got = sorted((q.index, q.head.as_tuple()) for q in s.others)
            assert got == want, (image, s.source_id)
    return dict(groups)


def test_gazefollow_people_of_one_image_form_one_group():
    samples = list(read_source(f"gazefollow:{DATA / 'gazefollow'}"))
    sizes = sorted(len(g) for g in _groups(samples).values())
    assert sizes == [1, 2, 2]  # train: an image with two people; test: two people (5 rows)


def test_gazefollow_groups_one_image_however_its_path_is_spelled(tmp_path):
    root = tmp_path / "gf"
    shutil.copytree(DATA / "gazefollow", root)
    train = root / "train_annotations_release.txt"
    lines = train.read_text().splitlines()
    path = lines[0].split(",")[0]
    lines.append(lines[0].replace(path, "./" + path.replace("/", "//"), 1))
    train.write_text("\n".join(lines) + "\n")
    samples = [s for s in read_gazefollow(str(root)) if s.split == "train"]
    groups = _groups(samples)
    assert sorted(len(g) for g in groups.values()) == [1, 3]
    assert all(Path(image).exists() for image in groups)


def test_vat_pairs_are_per_frame():
    groups = _groups(read_source(f"vat:{DATA / 'vat'}"))
    two = [g for g in groups.values() if len(g) == 2]
    assert len(two) == 2  # frames 1000 and 1001 of Show1 each hold s00 and s01
    for group in two:
        assert {s.source_id.split("#")[1] for s in group} == {"s00", "s01"}
        assert len({s.source_id.split("#")[0] for s in group}) == 1  # one frame


def test_vat_a_person_annotated_twice_in_a_frame_is_a_problem(tmp_path):
    root = tmp_path / "vat"
    shutil.copytree(DATA / "vat", root)
    file = root / VAT_CLIP / "s00.txt"
    file.write_text(file.read_text() + "00001000.jpg,90,50,130,100,10,10\n")
    problems: list = []
    groups = _groups(read_vat(str(root), problems=problems))
    assert sorted(len(g) for g in groups.values()) == [1, 2, 2]
    (problem,) = problems
    assert (problem.file, problem.line, problem.field) == (str(file), 3, "frame")
    assert "twice" in problem.message


def test_vat_one_frame_however_its_name_is_spelled(tmp_path):
    root = tmp_path / "vat"
    shutil.copytree(DATA / "vat", root)
    (root / VAT_CLIP / "s02.txt").write_text(".//00001000.jpg,10,10,30,30,5,5\n")
    groups = _groups(read_vat(str(root)))
    assert sorted(len(g) for g in groups.values()) == [1, 2, 3]


def test_childplay_pairs_are_per_frame():
    groups = _groups(read_source(f"childplay:{DATA / 'childplay'}"))
    assert sorted(len(g) for g in groups.values()) == [1, 1, 2, 2]


def test_childplay_a_person_annotated_twice_in_a_frame_is_a_problem(tmp_path):
    root = tmp_path / "childplay"
    shutil.copytree(DATA / "childplay", root)
    file = root / CP_CLIP
    file.write_text(file.read_text()
                    + "1Ab4_vLMMAb_2354-2439,1,1,300,40,50,60,inside_visible,20,15\n")
    problems: list = []
    groups = _groups(read_childplay(str(root), problems=problems))
    assert sorted(len(g) for g in groups.values()) == [1, 1, 2, 2]
    (problem,) = problems
    assert (problem.file, problem.line, problem.field) == (str(file), 6, "person_id")


def test_goo_has_one_person_per_image(tmp_path):
    from test_sources_goo import write_goo_release

    file = write_goo_release(tmp_path)
    samples = list(read_source(f"goo:{file}:{tmp_path}"))
    assert samples and all(s.person.index == 0 and s.others == () for s in samples)
