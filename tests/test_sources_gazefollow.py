"""GazeFollow reader on a fixture in the release's exact layout, plus broken lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vl4gaze.schema import InOut
from vl4gaze.sources import read_source
from vl4gaze.sources.gazefollow import read_gazefollow
from vl4gaze.sources.problems import SourceError

FIXTURE = Path(__file__).parent / "data" / "sources" / "gazefollow"
TRAIN = "train_annotations_release.txt"
TEST = "test_annotations_release.txt"
GOOD_TRAIN = FIXTURE.joinpath(TRAIN).read_text().splitlines()[0]


def test_reads_fixture_release():
    problems: list = []
    samples = list(read_source(f"gazefollow:{FIXTURE}", problems=problems))
    train = [s for s in samples if s.split == "train"]
    test = [s for s in samples if s.split == "test"]
    assert len(train) == 3  # the -1 row is skipped
    assert len(test) == 2  # 5 rows -> 2 people
    assert [p.kind for p in problems] == ["invalid"]
    assert problems[0].line == 4 and problems[0].field == "in_or_out"

    first = train[0]
    assert Path(first.image).is_absolute() and Path(first.image).exists()
    assert (first.width, first.height) == (759, 512)
    assert first.inout is InOut.IN
    assert first.gaze[0].as_tuple() == (0.51091, 0.31133)
    assert first.person.head.x1 == pytest.approx(279.6 / 759)
    assert first.person.head.y2 == pytest.approx(139.8 / 512)
    assert len(first.others) == 1  # the second person of the same image

    out = next(s for s in train if s.inout is InOut.OUT)
    assert out.gaze == ()
    head = out.person.head  # corners were swapped in the file
    assert head.x1 == pytest.approx(540 / 759) and head.x2 == pytest.approx(600.5 / 759)
    assert out.others[0].head == first.person.head

    assert sorted(len(s.gaze) for s in test) == [2, 3]
    assert all(s.inout is InOut.IN and len(s.others) == 1 for s in test)
    assert len({s.source_id for s in samples}) == len(samples)


def _release(tmp_path: Path, train_lines: list[str], test_lines: list[str] | None = None) -> Path:
    for folder in ("train", "test2"):
        shutil.copytree(FIXTURE / folder, tmp_path / folder)
    (tmp_path / TRAIN).write_text("\n".join(train_lines) + "\n")
    if test_lines is not None:
        (tmp_path / TEST).write_text("\n".join(test_lines) + "\n")
    return tmp_path


def _replace(line: str, index: int, value: str) -> str:
    parts = line.split(",")
    parts[index] = value
    return ",".join(parts)


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (GOOD_TRAIN + ",extra", None, "found 18"),
        (_replace(GOOD_TRAIN, 6, "abc"), "eye_x", "not a number"),
        (_replace(GOOD_TRAIN, 9, "nan"), "gaze_y", "not a number"),
        (_replace(GOOD_TRAIN, 8, "3.5"), "gaze_x", "far outside"),
        (_replace(GOOD_TRAIN, 12, "5000"), "head_xmax", "far outside"),
        (_replace(GOOD_TRAIN, 14, "2"), "in_or_out", "not 1, 0 or -1"),
        (_replace(GOOD_TRAIN, 0, "train/missing.jpg"), "path", "not found"),
    ],
)
def test_broken_line_names_file_line_field(tmp_path, bad, field, words):
    root = _release(tmp_path, [GOOD_TRAIN, bad])
    problems: list = []
    samples = list(read_gazefollow(str(root), problems=problems))
    assert len(samples) == 1
    (problem,) = problems
    assert problem.file.endswith(TRAIN) and problem.line == 2 and problem.field == field
    assert words in problem.message

    with pytest.raises(SourceError) as raised:
        list(read_gazefollow(str(root), strict=True))
    assert raised.value.problem == problem
    assert f"{TRAIN}:2" in str(raised.value)


def test_bad_head_keeps_other_people(tmp_path):
    root = _release(tmp_path, [GOOD_TRAIN, _replace(GOOD_TRAIN, 12, "5000")])
    problems: list = []
    samples = list(read_gazefollow(str(root), problems=problems))
    assert len(samples) == 1 and samples[0].others == ()


def test_strict_counts_invalid_rows_without_failing():
    problems: list = []
    samples = list(read_gazefollow(str(FIXTURE), strict=True, problems=problems))
    assert len(samples) == 5 and len(problems) == 1


def test_missing_release_is_a_problem(tmp_path):
    with pytest.raises(SourceError, match="no train_annotations_release"):
        list(read_gazefollow(str(tmp_path), strict=True))


def test_single_annotation_file_and_size_override():
    samples = list(read_gazefollow(str(FIXTURE / TEST), image_size_fn=lambda p: (1000, 500)))
    assert {s.split for s in samples} == {"test"}
    assert all((s.width, s.height) == (1000, 500) for s in samples)


coord = st.floats(-0.05, 1.05, allow_nan=False)
pixel = st.floats(-20, 520, allow_nan=False)


@settings(max_examples=40, deadline=None)
# A 5e-324 px wide box is 0 wide once normalized: no area (hypothesis found it).
@example(rows=[(0.5, 0.5, 0.5, 0.5, 0.0, 10.0, 5e-324, 20.0, "1")])
@given(rows=st.lists(st.tuples(coord, coord, coord, coord, pixel, pixel, pixel, pixel,
                               st.sampled_from(["1", "0"])), min_size=1, max_size=6))
def test_generated_rows_become_samples_in_range(tmp_path_factory, rows):
    root = tmp_path_factory.mktemp("gf")
    lines = [
        f"train/{i % 2}.jpg,{i},0.1,0.1,0.5,0.5,{ex},{ey},{gx},{gy},{a},{b},{c},{d},{io},x,y.jpg"
        for i, (ex, ey, gx, gy, a, b, c, d, io) in enumerate(rows)
    ]
    (root / TRAIN).write_text("\n".join(lines) + "\n")
    problems: list = []
    samples = list(read_gazefollow(str(root), problems=problems,
                                   image_size_fn=lambda p: (500, 500)))
    def flat(a: float, b: float) -> bool:  # no extent once normalized and clipped
        lo, hi = sorted((min(max(a / 500, 0.0), 1.0), min(max(b / 500, 0.0), 1.0)))
        return hi <= lo

    # A head box without area is no person: a problem naming its field, never a sample.
    bad = [(i, r) for i, r in enumerate(rows) if flat(r[4], r[6]) or flat(r[5], r[7])]
    assert [(p.line, p.field) for p in problems] == [
        (i + 1, "head_xmax" if flat(r[4], r[6]) else "head_ymax")
        for i, r in sorted(bad, key=lambda ir: (ir[0] % 2, ir[0]))]
    rows = [r for i, r in enumerate(rows) if (i, r) not in bad]
    kept = [i for i in range(len(rows) + len(bad)) if i not in {j for j, _ in bad}]
    assert len(samples) == len(rows)
    in_image_order = [r for i, r in zip(kept, rows, strict=True) if i % 2 == 0] + \
        [r for i, r in zip(kept, rows, strict=True) if i % 2 == 1]
    for sample, row in zip(samples, in_image_order, strict=True):
        head = sample.person.head
        assert 0 <= head.x1 <= head.x2 <= 1 and 0 <= head.y1 <= head.y2 <= 1
        for point in (*sample.gaze, sample.person.eye):
            assert 0 <= point.x <= 1 and 0 <= point.y <= 1
        assert (sample.inout is InOut.IN) == (row[-1] == "1")
        assert len(sample.others) == sum(1 for s in samples if s.image == sample.image) - 1


# The first real test line of the release; columns: path, id, body x/y/w/h, eye x/y,
# gaze x/y, head xmin/ymin/xmax/ymax, source, original_name.
REAL_TEST = FIXTURE.joinpath(TEST).read_text().splitlines()[0]


def test_body_box_out_of_range_is_a_warning_and_the_row_is_kept(tmp_path):
    # The body box is used by nothing: values out of [0, 1] there drop no sample.
    bad_train = _replace(_replace(GOOD_TRAIN, 2, "-0.31"), 5, "1.42")
    bad_test = _replace(REAL_TEST, 4, "abc")
    root = _release(tmp_path, [bad_train], [bad_test])
    problems: list = []
    samples = list(read_gazefollow(str(root), strict=True, problems=problems))
    assert [s.split for s in samples] == ["train", "test"]
    assert [(p.kind, p.line, p.field) for p in problems] == [
        ("warning", 1, "body_x"), ("warning", 1, "body_w")]
    assert problems[0].file.endswith(TRAIN) and "row kept" in problems[0].message
    assert problems[1].file.endswith(TEST) and "not a number" in problems[1].message


def test_test_rows_group_by_path_and_eye_x_as_the_reference_loaders(tmp_path):
    rows = [
        REAL_TEST,
        _replace(_replace(REAL_TEST, 6, "0.258"), 8, "0.3"),  # same eye_x, written shorter
        _replace(_replace(REAL_TEST, 7, "0.65"), 8, "0.31"),  # same eye_x, other eye_y
        _replace(_replace(REAL_TEST, 10, "99"), 8, "0.32"),  # same eye point, other head box
        _replace(REAL_TEST, 6, "0.62"),  # another person
    ]
    root = _release(tmp_path, [GOOD_TRAIN], rows)
    problems: list = []
    test = [s for s in read_gazefollow(str(root), problems=problems) if s.split == "test"]
    assert sorted(len(s.gaze) for s in test) == [1, 4]
    person = next(s for s in test if len(s.gaze) == 4)
    assert person.person.eye.y == pytest.approx(0.606667)  # the first row's eye and head
    assert person.person.head.x1 == pytest.approx(103 / 500)  # the image is 500x375
    assert [(p.kind, p.line, p.field) for p in problems] == [
        ("warning", 3, "eye_y"), ("warning", 4, "head_xmin")]
    assert all("line 1" in p.message and "finer grouping" in p.message for p in problems)


def test_inspect_reports_finer_grouping_as_warnings(tmp_path):
    from vl4gaze.sources.inspection import inspect_source

    rows = [REAL_TEST, _replace(_replace(REAL_TEST, 7, "0.65"), 8, "0.31")]
    root = _release(tmp_path, [GOOD_TRAIN], rows)
    report = inspect_source(f"gazefollow:{root}", strict=True)
    assert report.ok and report.stopped is None
    assert report.annotators[2] == 1
    (warning,) = report.warnings
    assert (warning.file, warning.line, warning.field) == (str(root / TEST), 2, "eye_y")
    assert report.problem_counts() == {("warning", "eye_y"): 1}

    from typer.testing import CliRunner

    from vl4gaze.cli import app

    shown = CliRunner().invoke(app, ["inspect", f"gazefollow:{root}", "--strict"],
                               env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output  # warnings never fail strict mode
    text = " ".join(shown.output.split())  # rich wraps long lines
    assert "0 errors, 1 warnings" in text and "eye_y" in text


eye = st.sampled_from([0.25, 0.5, 0.75])


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 2), eye, eye, st.integers(0, 1)),
                     min_size=1, max_size=12))
def test_generated_test_rows_group_like_pandas_groupby(tmp_path_factory, rows):
    """Counts match the reference loaders' ``groupby(["path", "eye_x"])``."""
    pd = pytest.importorskip("pandas")
    root = tmp_path_factory.mktemp("gft")
    lines = [f"test2/{p}.jpg,{i},0.1,0.1,0.5,0.5,{ex},{ey},0.5,0.5,{10 + h},10,40,40,x,y.jpg"
             for i, (p, ex, ey, h) in enumerate(rows)]
    (root / TEST).write_text("\n".join(lines) + "\n")
    samples = list(read_gazefollow(str(root), image_size_fn=lambda p: (100, 100)))
    names = ["path", "idx", "bx", "by", "bw", "bh", "eye_x", "eye_y", "gaze_x", "gaze_y",
             "x1", "y1", "x2", "y2", "source", "meta"]
    groups = pd.read_csv(root / TEST, header=None, names=names).groupby(["path", "eye_x"])
    assert len(samples) == groups.ngroups
    assert sorted(len(s.gaze) for s in samples) == sorted(groups.size().tolist())
