"""End to end: `vl4gaze build` on real source readers, and the oracle scored on each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vl4gaze.build import load_benchmark, read_card_counts
from vl4gaze.cli import app

DATA = Path(__file__).parent / "data" / "sources"
GAZEFOLLOW = DATA / "gazefollow"


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


class _ExactEmbedder:
    """One unit vector per distinct text: equal labels match, others do not."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64))
        for row, text in enumerate(texts):
            out[row, self.index.setdefault(text, len(self.index))] = 1.0
        return out


def _source_spec(kind: str, tmp_path: Path) -> str:
    """Each reader on a fixture in its release's layout, with a test split."""
    if kind == "goo":
        from test_sources_goo import write_goo_release

        return f"goo:{write_goo_release(tmp_path / 'goo')}"
    if kind == "childplay":  # the fixture's val clip becomes a test clip
        root = tmp_path / "childplay"
        shutil.copytree(DATA / "childplay", root)
        (root / "annotations" / "val").rename(root / "annotations" / "test")
        return f"childplay:{root}"
    return f"{kind}:{DATA / kind}"


#: The headline metrics the oracle must get exactly right (L2 up to the answer's rounding).
PERFECT = {"object": ("label_match", 1.0), "direction": ("accuracy", 1.0),
           "point": ("acc@0.1", 1.0), "ambiguity": ("accuracy", 1.0)}


@pytest.mark.parametrize("kind", ["gazefollow", "childplay", "vat", "goo"])
def test_oracle_scores_perfectly_on_every_source(kind, tmp_path):
    pytest.importorskip("vl4gaze.score")
    from vl4gaze.build import build_benchmark
    from vl4gaze.infer import RunConfig, run_inference
    from vl4gaze.score import score_run

    spec = _source_spec(kind, tmp_path)
    manifest = build_benchmark([spec], tmp_path / "bench", progress=False)
    # the GazeFollow fixture holds one row the release marks invalid (in_or_out = -1)
    assert manifest["source_problems"] == (1 if kind == "gazefollow" else 0)
    run_inference(tmp_path / "bench", tmp_path / "run",
                  RunConfig("baseline:oracle", progress=False))
    scores = score_run(tmp_path / "run", n_boot=10, embedder=_ExactEmbedder())
    assert scores["n_missing"] == 0 and scores["parse_rate"] == 1.0
    assert scores["tasks"], f"{kind}: no test items"
    for task, block in scores["tasks"].items():
        metric, best = PERFECT[task]
        assert block["metrics"][metric]["value"] == best, (kind, task, block["metrics"])
        if task == "point":
            assert block["metrics"]["avg_l2"]["value"] < 2e-3
    if kind == "goo":
        assert "object" in scores["tasks"]


class _LastFirst:
    """An executor that hands its batches back last first (Ray's may finish in any order)."""

    name = "last-first"

    def map_batches(self, make_fn, items, *, batch_size, **_):
        fn = make_fn()
        batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
        return iter([fn(batch) for batch in reversed(batches)])


def test_sources_read_through_an_executor_come_in_source_order(gazeworld, tmp_path):
    """Several sources read as batches elsewhere give the samples, the problems and the
    build of sources streamed here, whatever order the batches finish in."""
    from vl4gaze.build import build_benchmark, read_sources
    from vl4gaze.executor import LocalExecutor

    sources = [f"gazefollow:{GAZEFOLLOW}", f"gazeworld:{gazeworld}", f"gazefollow:{GAZEFOLLOW}"]
    here: list = []
    streamed = [(s.to_json(), key) for s, key in read_sources(sources, here)]
    assert here and {s.split(":")[0] for s in sources} == {
        json.loads(s)["source"] for s, _ in streamed}
    for executor in (_LastFirst(), LocalExecutor(workers=2)):
        found: list = []
        read = [(s.to_json(), key) for s, key in read_sources(sources, found, executor=executor)]
        assert read == streamed and found == here
    build_benchmark(sources, tmp_path / "here", progress=False, images="none")
    build_benchmark(sources, tmp_path / "there", progress=False, images="none",
                    executor=_LastFirst())
    for name in ("data/train.parquet", "data/test.parquet", "image_plan.parquet",
                 "manifest.json", "README.md"):
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
