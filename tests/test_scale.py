"""The Ray executor gives the local executor's results (a local Ray with 2 CPUs, started once)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("ray")

from vl4gaze.build import build_benchmark, load_benchmark
from vl4gaze.infer import RunConfig, prediction_files, read_predictions, run_inference
from vl4gaze.scale import RayExecutor, check_executor, init_ray, run_inference_ray


@pytest.fixture(scope="session")
def ray_session():
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray = init_ray(num_cpus=2, object_store_memory=200 * 1024 * 1024)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    from vl4gaze.sources.gazeworld import synthesize

    root = tmp_path_factory.mktemp("gw_scale")
    synthesize(root / "scenes", 8, seed=3, size=96, progress=False)
    return root / "scenes"


@pytest.fixture(scope="module")
def bench(scenes):
    out = scenes.parent / "bench"
    build_benchmark([f"gazeworld:{scenes}"], out, seed=0, progress=False)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _answers(run: Path) -> dict[str, tuple[str, str | None, str]]:
    """Item id -> (raw, error, prompt config): everything but the latency."""
    return {i: (p.raw, p.error, p.prompt_config) for i, p in read_predictions(run).items()}


def _lines(run: Path) -> list[str]:
    return [line for path in prediction_files(run)
            for line in path.read_text().splitlines() if line.strip()]


def test_unknown_executor_is_refused():
    assert check_executor("ray") == "ray"
    with pytest.raises(ValueError, match="local, ray"):
        check_executor("dask")


def test_ray_build_is_byte_identical(ray_session, scenes, bench):
    out = scenes.parent / "bench_ray"
    source = f"gazeworld:{scenes}"
    manifest = build_benchmark([source, source], out, seed=0, progress=False,
                               executor=RayExecutor())
    local = build_benchmark([source, source], scenes.parent / "bench_two", seed=0,
                            progress=False)
    assert manifest == local
    assert _files(out) == _files(scenes.parent / "bench_two")  # Parquet, plan, card, images
    single = build_benchmark([source], scenes.parent / "bench_one", seed=0, progress=False,
                             executor=RayExecutor())
    assert single["content_hash"] == json.loads((bench / "manifest.json").read_text()
                                                )["content_hash"]
    assert _files(scenes.parent / "bench_one") == _files(bench)


def test_ray_eval_oracle_matches_local_and_resumes(ray_session, bench, tmp_path):
    oracle = RunConfig("baseline:oracle", batch_size=4, progress=False)
    local = run_inference(bench, tmp_path / "local", oracle)
    remote = run_inference_ray(bench, tmp_path / "ray", replace(oracle, replicas=2))
    assert remote.answered == local.answered == local.total
    assert _answers(tmp_path / "ray") == _answers(tmp_path / "local")
    assert (json.loads((tmp_path / "ray" / "config.json").read_text())
            == json.loads((tmp_path / "local" / "config.json").read_text()))
    answers = {it.id: it.answer for it in load_benchmark(bench, "test")}
    assert {i: a[0] for i, a in _answers(tmp_path / "ray").items()} == answers

    # A job killed mid-write: half the log, then a torn line. Resume on Ray.
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_bytes((tmp_path / "local" / "config.json").read_bytes())
    lines = _lines(tmp_path / "local")
    half = len(lines) // 2
    (partial / "predictions.jsonl").write_text("\n".join(lines[:half]) + "\n"
                                               + lines[half][:20])
    resumed = run_inference(bench, partial, replace(oracle, executor="ray"))
    assert resumed.skipped == half and resumed.answered == len(lines) - half
    ids = [json.loads(line)["item_id"] for line in _lines(partial)]
    assert len(ids) == len(set(ids)) == len(lines)
    assert _answers(partial) == _answers(tmp_path / "local")
    again = run_inference_ray(bench, partial, oracle)
    assert again.answered == 0 and len(_lines(partial)) == len(lines)


def test_ray_eval_tiny_model_matches_local(ray_session, bench, tmp_path):
    tiny = RunConfig("tiny", limit=1, batch_size=4, max_new_tokens=8, progress=False,
                     model_options={"device": "cpu"})
    run_inference(bench, tmp_path / "local", tiny)
    result = run_inference_ray(bench, tmp_path / "ray", tiny)
    assert result.answered == len(_answers(tmp_path / "local")) > 0
    assert _answers(tmp_path / "ray") == _answers(tmp_path / "local")


def test_ray_annotate_boxes_matches_local(ray_session, scenes, tmp_path):
    from vl4gaze.annotate import run_annotate

    source = f"gazeworld:{scenes}"
    local = run_annotate([source], tmp_path / "local")
    remote = run_annotate([source], tmp_path / "ray", executor=RayExecutor(replicas=2),
                          batch_size=16)
    assert remote == local
    for name in ("samples.jsonl", "annotations.jsonl", "annotation_report.json"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_cli_eval_build_and_annotate_on_ray(ray_session, scenes, bench, tmp_path):
    from typer.testing import CliRunner

    from vl4gaze.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    args = ["eval", str(bench), "--model", "baseline:oracle", "-o", str(run), "--no-progress",
            "--executor", "ray", "--replicas", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((run / "scores.json").read_text())["n_items"] == len(_lines(run))
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 answered now" in " ".join(again.output.split())
    source = f"gazeworld:{scenes}"
    for stage, extra in (("build", ["--images", "link"]), ("annotate", [])):
        for name in ("local", "ray"):
            out = tmp_path / f"{stage}_{name}"
            done = runner.invoke(app, [stage, source, source, "-o", str(out), "--executor",
                                       name, *extra])
            assert done.exit_code == 0, done.output
        assert _files(tmp_path / f"{stage}_ray") == _files(tmp_path / f"{stage}_local")
    bad = runner.invoke(app, ["build", source, "-o", str(tmp_path / "b"),
                              "--executor", "spark"])
    assert bad.exit_code == 2 and "'local'" in bad.output and "'ray'" in bad.output


def test_ray_executor_raises_the_workers_error_on_the_driver(ray_session):
    def make():
        def fn(batch):
            raise PermissionError(f"cannot write {batch}")

        return fn

    with pytest.raises(PermissionError, match=r"cannot write \[1\]"):
        list(RayExecutor().map_batches(make, [1], batch_size=1, label="t", progress=False))
    doubled = RayExecutor(replicas=2).map_batches(
        lambda: (lambda batch: [2 * x for x in batch]), list(range(10)), batch_size=3,
        label="t", progress=False, per_replica=True)
    assert sorted(x for batch in doubled for x in batch) == [2 * x for x in range(10)]


def test_ray_render_reports_a_broken_source_as_the_local_one_does(ray_session, tmp_path):
    """Ray renders with build.write_image: a truncated source is a named failure, not a
    crashed task, and the images written are the local bytes."""
    from PIL import Image

    from vl4gaze.build import render_plan

    good, bad = tmp_path / "good.png", tmp_path / "bad.jpg"
    Image.new("RGB", (32, 24), (200, 10, 10)).save(good)
    Image.new("RGB", (32, 24), (10, 200, 10)).save(bad)
    bad.write_bytes(bad.read_bytes()[:60])
    box = {"x1": 0.1, "y1": 0.1, "x2": 0.5, "y2": 0.5}
    plan = [{"dest": "images/a.png", "src": str(good), "box": None},
            {"dest": "images/b.png", "src": str(good), "box": box},
            {"dest": "images/c.jpg", "src": str(bad), "box": box}]
    results = {}
    for name, executor in (("local", None), ("ray", RayExecutor())):
        root = tmp_path / name
        written, failed = render_plan(root, plan, progress=False, executor=executor)
        results[name] = (written, sorted(failed), _files(root))
    assert results["ray"] == results["local"]
    assert results["local"][:2] == (2, ["images/c.jpg"])
