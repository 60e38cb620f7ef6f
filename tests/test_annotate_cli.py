"""`vl4gaze annotate` then `vl4gaze build annotated:OUT`, through the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vl4gaze.build import load_benchmark
from vl4gaze.cli import app
from vl4gaze.schema import Task

runner = CliRunner()


def test_annotate_then_build_on_gazeworld(tmp_path):
    from vl4gaze.sources.gazeworld import synthesize

    world = synthesize(tmp_path / "world", 4, seed=5, size=128)
    out, bench = tmp_path / "annotated", tmp_path / "bench"
    result = runner.invoke(app, ["annotate", f"gazeworld:{world}", "-o", str(out),
                                 "--tolerance", "0.02"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "annotation_report.json").read_text())
    assert report["tolerance"] == 0.02 and report["truth"]["error_rate"] == 0.0
    result = runner.invoke(app, ["build", f"annotated:{out}", "-o", str(bench),
                                 "--images", "none"])
    assert result.exit_code == 0, result.output
    objects = [i for i in load_benchmark(bench) if i.task is Task.OBJECT]
    labelled = report["rules"].get("box:contains", 0) + report["rules"].get("box:nearest", 0)
    assert 0 < len(objects) <= labelled
    assert all(item.target["label"] for item in objects)


def test_unknown_annotator_fails_cleanly(tmp_path):
    result = runner.invoke(app, ["annotate", "gazeworld:/nowhere", "-o", str(tmp_path),
                                 "--annotator", "magic"])
    assert result.exit_code == 1 and "unknown annotator" in result.output
