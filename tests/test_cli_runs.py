"""Runs a researcher can trust: loud failures, runs bound to their benchmark, retries,
results on screen, progress in logs, the CLI conventions (issue 17)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vl4gaze.cli import app
from vl4gaze.infer import read_prediction_file, read_predictions
from vl4gaze.progress import ProgressLog

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    from vl4gaze.sources.gazeworld import synthesize

    root = tmp_path_factory.mktemp("gw") / "scenes"
    synthesize(root, 10, seed=1, size=96, progress=False)
    return root


def _build(scenes: Path, out: Path, *extra: str) -> None:
    result = runner.invoke(app, ["build", f"gazeworld:{scenes}", "-o", str(out), *extra])
    assert result.exit_code == 0, result.output


def _eval(bench: Path, run: Path, *extra: str, code: int = 0) -> str:
    result = runner.invoke(app, ["eval", str(bench), "--model", "baseline:oracle", "-o",
                                 str(run), "--no-progress", *extra])
    assert result.exit_code == code, result.output
    return _flat(result.output)


def test_build_of_a_missing_source_fails_and_writes_nothing(tmp_path):
    out = tmp_path / "b"
    result = runner.invoke(app, ["build", f"gazefollow:{tmp_path / 'nonexistent'}", "-o",
                                 str(out)])
    assert result.exit_code == 1
    text = _flat(result.output)
    assert "no gaze samples read" in text and str(tmp_path / "nonexistent") in text
    assert "--allow-empty" in text
    assert not out.exists()


def test_build_of_the_wrong_kind_fails(scenes, tmp_path):
    result = runner.invoke(app, ["build", f"vat:{scenes}", "-o", str(tmp_path / "b")])
    assert result.exit_code == 1 and "no gaze samples read" in _flat(result.output)


def test_allow_empty_writes_an_empty_benchmark(tmp_path):
    out = tmp_path / "b"
    result = runner.invoke(app, ["build", f"gazefollow:{tmp_path}", "-o", str(out),
                                 "--allow-empty"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["counts"]["total"] == 0


def test_rebuild_removes_the_old_images(scenes, tmp_path):
    bench = tmp_path / "bench"
    _build(scenes, bench, "--seed", "0")
    stale = bench / "images" / "marked" / "zz" / "old.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    _build(scenes, bench, "--seed", "0", "--person-ref", "text")
    from vl4gaze.build import load_benchmark

    shown = {it.image for split in ("train", "test") for it in load_benchmark(bench, split)}
    on_disk = {p.relative_to(bench).as_posix() for p in (bench / "images").rglob("*")
               if p.is_file()}
    assert not stale.exists()
    assert on_disk == shown


def test_a_run_refuses_a_rebuilt_benchmark(scenes, tmp_path):
    bench, run = tmp_path / "bench", tmp_path / "run"
    _build(scenes, bench, "--seed", "0")
    _eval(bench, run, "--no-score")
    before = (run / "predictions.jsonl").read_bytes()
    _build(scenes, bench, "--seed", "1")
    text = _eval(bench, run, code=1)
    assert "benchmark" in text and "changed" in text and "Traceback" not in text
    assert (run / "predictions.jsonl").read_bytes() == before  # nothing appended
    scored = runner.invoke(app, ["score", str(run)])
    assert scored.exit_code == 1 and "changed" in _flat(scored.output)


def test_other_tasks_and_a_lower_limit_extend_the_run(scenes, tmp_path):
    bench, run = tmp_path / "bench", tmp_path / "run"
    _build(scenes, bench)
    _eval(bench, run, "--tasks", "point", "--limit", "3")
    _eval(bench, run, "--tasks", "direction,point", "--limit", "2")
    config = json.loads((run / "config.json").read_text())
    assert config["selections"] == [{"tasks": ["point"], "limit": 3},
                                    {"tasks": ["direction", "point"], "limit": 2}]
    scores = json.loads((run / "scores.json").read_text())
    assert scores["tasks"]["point"]["n"] == 3 and scores["tasks"]["direction"]["n"] == 2
    assert scores["n_items"] == len(read_predictions(run)) == 5
    assert scores["n_missing"] == 0


def test_unknown_task_is_one_line_and_writes_nothing(scenes, tmp_path):
    bench = tmp_path / "bench"
    _build(scenes, bench)
    text = _eval(bench, tmp_path / "run", "--tasks", "pointt", code=1)
    assert "unknown task 'pointt'" in text and "Traceback" not in text
    assert not (tmp_path / "run").exists()


def test_retry_errors_asks_errored_items_again(scenes, tmp_path):
    bench, run = tmp_path / "bench", tmp_path / "run"
    _build(scenes, bench)
    from vl4gaze.build import load_benchmark

    victim = next(it for it in load_benchmark(bench, "test") if it.task == "point")
    image = bench / victim.image
    saved = image.read_bytes()
    image.unlink()  # the prompt cannot be built: an error item
    text = _eval(bench, run, "--tasks", "point")
    assert "--retry-errors" in text
    assert read_predictions(run)[victim.id].error
    image.write_bytes(saved)
    again = _eval(bench, run, "--tasks", "point")
    assert "0 answered now" in again  # errors count as done unless asked again
    _eval(bench, run, "--tasks", "point", "--retry-errors")
    lines = [p for p in read_prediction_file(run / "predictions.jsonl")
             if p.item_id == victim.id]
    assert [p.attempt for p in lines] == [1, 2]  # append-only: both answers are kept
    latest = read_predictions(run)[victim.id]
    assert latest.error is None and latest.raw == victim.answer
    scores = json.loads((run / "scores.json").read_text())
    assert scores["tasks"]["point"]["n_errors"] == 0


def test_eval_prints_the_results_table(scenes, tmp_path):
    bench = tmp_path / "bench"
    _build(scenes, bench)
    result = runner.invoke(app, ["eval", str(bench), "--model", "baseline:oracle", "-o",
                                 str(tmp_path / "run"), "--no-progress", "--limit", "3"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in ("task", "parse rate", "95% CI", "direction", "acc@0.1", "1.000"):
        assert word in result.output


def test_progress_lines_without_a_terminal():
    stream = io.StringIO()
    with ProgressLog("eval tiny", 4, interval=0.0, stream=stream) as bar:
        for _ in range(4):
            bar.advance()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("eval tiny: 1/4 items (25%)") and "left" in lines[0]
    assert lines[-1].startswith("eval tiny: 4/4 items (100%)")
    quiet = io.StringIO()
    with ProgressLog("x", 4, enabled=False, interval=0.0, stream=quiet) as bar:
        bar.advance(4)
    assert quiet.getvalue() == ""


def test_messages_are_not_read_as_markup(tmp_path):
    odd = tmp_path / "[vllm]"
    result = runner.invoke(app, ["eval", str(odd), "--model", "baseline:oracle", "-o",
                                 str(tmp_path / "run")])
    assert result.exit_code == 1 and "[vllm]" in result.output


def test_version_help_and_module_entry():
    import vl4gaze

    assert runner.invoke(app, ["--version"]).output.strip() == f"vl4gaze {vl4gaze.__version__}"
    assert runner.invoke(app, ["-h"]).exit_code == 0
    help_text = _flat(runner.invoke(app, ["eval", "-h"], env={"COLUMNS": "200"}).output)
    for choice in ("bfloat16", "qwen2.5-vl", "ray", "tiny-gaze"):
        assert choice in help_text
    assert "annotated:DIR" in _flat(runner.invoke(app, ["build", "-h"],
                                                  env={"COLUMNS": "200"}).output)
    out = subprocess.run([sys.executable, "-m", "vl4gaze", "list", "tasks"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["object", "direction", "point", "ambiguity", "mutual", "shared", "whom"]


def test_list_names_every_kind():
    from vl4gaze.sources import READERS

    sources = runner.invoke(app, ["list", "sources"]).output
    assert all(f"{kind}:" in sources for kind in READERS)
    models = runner.invoke(app, ["list", "models"]).output
    assert "baseline:oracle" in models and "tiny-gaze[:SEED]" in models


def test_unexpected_errors_are_one_line_unless_debug(monkeypatch, capsys):
    from vl4gaze import cli

    monkeypatch.setattr(sys, "argv", ["vl4gaze", "inspect", "goo:/nonexistent.pkl:/x"])

    def boom(*_a, **_k):
        raise KeyError("surprise")

    monkeypatch.setattr("vl4gaze.sources.inspection.inspect_source", boom)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "KeyError" in err and "--debug" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "argv", ["vl4gaze", "--debug", "inspect", "goo:/x.pkl:/x"])
    with pytest.raises(KeyError):
        cli.main()


def test_a_missing_local_model_directory_is_not_sent_to_the_hub(scenes, tmp_path):
    bench = tmp_path / "bench"
    _build(scenes, bench)
    result = runner.invoke(app, ["eval", str(bench), "--model", "hf:./missing-dir", "-o",
                                 str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 1
    assert "no such model directory './missing-dir'" in _flat(result.output)


def test_scores_carry_provenance_and_a_samples_log(scenes, tmp_path):
    import datasets

    bench, run = tmp_path / "bench", tmp_path / "run"
    _build(scenes, bench)
    _eval(bench, run, "--limit", "2", "--max-new-tokens", "32")
    scores = json.loads((run / "scores.json").read_text())
    prov = scores["provenance"]
    manifest = json.loads((bench / "manifest.json").read_text())
    assert prov["bench_hash"] == manifest["content_hash"]
    assert prov["generation"]["max_new_tokens"] == 32
    assert prov["libraries"]["numpy"] and prov["vl4gaze"] and prov["scored_at"]
    log = datasets.load_dataset("json", data_files=str(run / "samples.jsonl"))["train"]
    assert log.num_rows == scores["n_items"] == 8
    row = next(r for r in log if r["task"] == "point")
    assert row["raw"] == row["answer"] and row["rule"] and row["metrics"]["acc@0.1"] == 1.0
    assert row["question"] and row["image"].startswith("images/")
    assert not list(run.glob("*.tmp"))  # written atomically


def test_cli_convention_choices_are_the_parsers():
    from typing import get_args

    from vl4gaze.cli import Convention
    from vl4gaze.parse.conventions import CONVENTIONS

    assert get_args(Convention) == CONVENTIONS


def test_exporting_an_empty_benchmark_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    made = runner.invoke(app, ["build", f"gazefollow:{tmp_path}", "-o", str(empty),
                               "--allow-empty"])
    assert made.exit_code == 0, made.output
    for to in ("lmms-eval", "trl"):
        result = runner.invoke(app, ["export", str(empty), "--to", to, "-o",
                                     str(tmp_path / to)])
        assert result.exit_code == 1 and "holds no items" in _flat(result.output)


def test_train_a_missing_local_model_is_one_line(scenes, tmp_path):
    bench = tmp_path / "bench"
    _build(scenes, bench)
    result = runner.invoke(app, ["train", str(bench), "--model", "hf:./missing-dir", "-o",
                                 str(tmp_path / "ckpt")])
    assert result.exit_code == 1
    assert "no such model directory './missing-dir'" in _flat(result.output)
