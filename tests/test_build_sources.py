"""End to end: `vl4gaze build` on real source readers (GazeWorld, the GazeFollow fixture)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vl4gaze.build import load_benchmark, read_card_counts
from vl4gaze.cli import app

GAZEFOLLOW = Path(__file__).parent / "data" / "sources" / "gazefollow"


@pytest.fixture(scope="module")
def gazeworld(tmp_path_factory) -> Path:
    from vl4gaze.sources.gazeworld import synthesize

    root = tmp_path_factory.mktemp("gw")
    return synthesize(root / "gw", scenes=16, seed=3, size=160, progress=False)


def test_build_gazeworld_cli(gazeworld, tmp_path):
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["build", f"gazeworld:{gazeworld}", "-o", str(out),
                                      "--seed", "2"])
    assert result.exit_code == 0, result.output
    items = load_benchmark(out)
    assert {i.task for i in items} == {"object", "direction", "point", "ambiguity"}
    assert all((out / i.image).is_file() for i in items)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"] == [f"gazeworld:{gazeworld}"] and manifest["seed"] == 2
    card = read_card_counts((out / "README.md").read_text())
    assert sum(card["task"].values()) == len(items)
    amb = [i for i in items if i.task == "ambiguity"]
    n_amb = sum(i.target["ambiguous"] for i in amb)
    assert n_amb > 0
    assert len(amb) - n_amb == n_amb or manifest["skipped"].get("ambiguity:lookalike_short")


def test_build_is_relocatable_and_byte_identical(gazeworld, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(gazeworld, moved)
    runner = CliRunner()
    for src, out in ((gazeworld, "a"), (moved, "b")):
        result = runner.invoke(app, ["build", f"gazeworld:{src}", "-o", str(tmp_path / out),
                                     "--images", "none", "--person-ref", "coords"])
        assert result.exit_code == 0, result.output
    for name in ("train.parquet", "test.parquet"):
        assert (tmp_path / "a" / "data" / name).read_bytes() == \
            (tmp_path / "b" / "data" / name).read_bytes()


def test_build_gazefollow_fixture(tmp_path):
    out = tmp_path / "gf"
    result = CliRunner().invoke(app, ["build", f"gazefollow:{GAZEFOLLOW}", "-o", str(out),
                                      "--point-format", "norm1000"])
    assert result.exit_code == 0, result.output
    items = load_benchmark(out)
    assert {i.source for i in items} == {"gazefollow"}
    test_points = [i for i in load_benchmark(out, "test") if i.task == "point"]
    assert test_points and all(len(i.target["points"]) >= 2 for i in test_points)
    assert all(i.answer.strip("()").replace(", ", "").isdigit() for i in test_points)
    reasons = {i.target["reason"] for i in items if i.task == "ambiguity"}
    assert {"unspecified_person", "gaze_out_of_frame"} <= reasons
    assert json.loads((out / "manifest.json").read_text())["skipped"][
        "object:no_object_target"] > 0


def test_build_cli_reports_bad_options(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["build", f"gazefollow:{GAZEFOLLOW}", "-o", str(tmp_path / "x"),
                                 "--cap", "point"])
    assert result.exit_code == 1 and "TASK=N" in result.output
    result = runner.invoke(app, ["build", "nosuch:dir", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1 and "unknown source kind" in result.output
