"""inspect_source and the ``vl4gaze inspect`` command on fixture sources."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from vl4gaze.cli import app
from vl4gaze.sources.inspection import inspect_source

DATA = Path(__file__).parent / "data" / "sources"
GF = DATA / "gazefollow"


def test_inspect_counts_gazefollow():
    report = inspect_source(f"gazefollow:{GF}", examples=2)
    assert (report.images, report.people) == (3, 5)
    assert report.splits == {"train": 3, "test": 2}
    assert report.inout == {"in": 4, "out": 1}
    assert report.annotators == {0: 1, 1: 2, 2: 1, 3: 1}
    assert report.people_per_image == {1: 1, 2: 2}
    assert [p.kind for p in report.problems] == ["invalid"] and report.ok
    assert len(report.examples) == 2
    assert report.to_dict()["problems"][0]["line"] == 4


def test_inspect_counts_childplay_flags():
    report = inspect_source(f"childplay:{DATA / 'childplay'}")
    assert report.flags == {"eyes_closed": 1, "occluded": 1, "uncertain": 1, "gaze_shift": 1}


def _broken_release(tmp_path: Path) -> Path:
    root = tmp_path / "gf"
    shutil.copytree(GF, root)
    with open(root / "test_annotations_release.txt", "a") as handle:
        handle.write("test2/00000000/00000001.jpg,9,0.1,0.5,0.2,0.4,oops,0.6,0.2,0.8,"
                     "103,195,148,252,pascal,x.jpg\n")
    return root


def test_cli_lists_problems_and_fails_on_errors(tmp_path):
    root = _broken_release(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["inspect", f"gazefollow:{root}"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output  # an error-level problem: non-zero exit
    assert "eye_x" in result.output and "not a number" in result.output
    assert "people (samples)" in result.output

    strict = runner.invoke(app, ["inspect", f"gazefollow:{root}", "--strict"],
                           env={"COLUMNS": "200"})
    assert strict.exit_code == 1
    assert "test_annotations_release.txt:6" in strict.output

    clean = runner.invoke(app, ["inspect", f"gazefollow:{GF}", "--strict"])
    assert clean.exit_code == 0, clean.output


def test_cli_rejects_unknown_kind():
    result = CliRunner().invoke(app, ["inspect", "nosuch:/tmp"])
    assert result.exit_code == 1
