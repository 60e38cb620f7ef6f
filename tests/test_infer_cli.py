"""`vl4gaze eval` end to end on a small GazeWorld benchmark."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vl4gaze.cli import app
from vl4gaze.infer import read_predictions

runner = CliRunner()


@pytest.fixture(scope="module")
def gw_bench(tmp_path_factory):
    from vl4gaze.build import build_benchmark, load_benchmark
    from vl4gaze.sources.gazeworld import synthesize

    root = tmp_path_factory.mktemp("gw")
    synthesize(root / "scenes", 10, seed=1, size=96, progress=False)
    build_benchmark([f"gazeworld:{root / 'scenes'}"], root / "bench", seed=0, progress=False)
    return root / "bench", load_benchmark(root / "bench", "test")


def _eval(*args):
    result = runner.invoke(app, ["eval", *map(str, args), "--no-progress"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # rich wraps long lines


def test_oracle_run_end_to_end_and_resume(gw_bench, tmp_path):
    bench, items = gw_bench
    run = tmp_path / "run"
    _eval(bench, "--model", "baseline:oracle", "-o", run, "--no-score")
    preds = read_predictions(run)
    assert {i: p.raw for i, p in preds.items()} == {it.id: it.answer for it in items}
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "baseline:oracle" and config["bench"] == str(bench.resolve())
    again = _eval(bench, "--model", "baseline:oracle", "-o", run, "--no-score")
    assert f"0 answered now, {len(items)} already done" in again
    assert len((run / "predictions.jsonl").read_text().splitlines()) == len(items)


def test_eval_scores_the_oracle_perfectly(gw_bench, tmp_path):
    pytest.importorskip("vl4gaze.score")
    bench, _ = gw_bench
    run = tmp_path / "run"
    # the geometric tasks only: the object task's embedding model is the scorer's to test
    out = _eval(bench, "--model", "baseline:oracle", "-o", run, "--tasks",
                "point,direction,ambiguity")
    assert "scores.json" in out
    tasks = json.loads((run / "scores.json").read_text())["tasks"]
    assert tasks["direction"]["metrics"]["accuracy"]["value"] == 1.0
    assert tasks["point"]["metrics"]["avg_l2"]["value"] < 1e-3
    assert tasks["ambiguity"]["metrics"]["accuracy"]["value"] == 1.0


def test_score_covers_exactly_the_runs_items(gw_bench, tmp_path):
    pytest.importorskip("vl4gaze.score")
    bench, _ = gw_bench
    run = tmp_path / "run"
    _eval(bench, "--model", "baseline:oracle", "-o", run, "--tasks", "point", "--limit", "2")
    scores = json.loads((run / "scores.json").read_text())
    assert scores["n_missing"] == 0
    assert scores["tasks"]["point"]["n"] == 2 and set(scores["tasks"]) == {"point"}


def test_shards_tasks_and_k_shot_through_the_cli(gw_bench, tmp_path):
    bench, items = gw_bench
    run = tmp_path / "run"
    for i in range(2):
        out = _eval(bench, "--model", "baseline:head", "-o", run, "--shard", f"{i}/2",
                    "--tasks", "point,direction", "--shots", "1", "--batch-size", "2")
        assert "once every shard" in out
    wanted = {it.id for it in items if it.task in ("point", "direction")}
    assert set(read_predictions(run)) == wanted
    assert sorted(p.name for p in run.glob("predictions*")) == [
        "predictions.shard-0-of-2.jsonl", "predictions.shard-1-of-2.jsonl"]


@pytest.mark.parametrize(("args", "message"), [
    (["--shard", "3/2"], "0 <= i < N"),
    (["--model", "nope:x"], "unknown model spec"),
])
def test_bad_options_fail_cleanly(gw_bench, tmp_path, args, message):
    bench, _ = gw_bench
    base = ["eval", str(bench), "-o", str(tmp_path / "run"), "--no-progress"]
    if "--model" not in args:
        base += ["--model", "baseline:center"]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 1 and message in " ".join(result.output.split())


def test_missing_benchmark_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["eval", str(tmp_path / "nope"), "--model", "baseline:oracle",
                                 "-o", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 1
    assert "not a benchmark directory" in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()  # refused before anything is written
