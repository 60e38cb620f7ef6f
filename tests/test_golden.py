"""Behaviour guard (issue 19): a fixed GazeWorld benchmark and three baseline runs must
give the same Parquet bytes, the same scores.json (minus ``provenance`` and the
benchmark's temporary path) and the same items.parquet rows as the golden files in
tests/data/golden, which were written by the code before the task registry.

Regenerate (only for an intended change of output, and say so in the commit):
``VL4GAZE_REGEN_GOLDEN=1 pytest tests/test_golden.py``.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vl4gaze.cli import app
from vl4gaze.score import score_run

GOLDEN = Path(__file__).parent / "data" / "golden"
REGEN = os.environ.get("VL4GAZE_REGEN_GOLDEN") == "1"
BASELINES = ("oracle", "random", "text-only")
runner = CliRunner()


class CrcEmbedder:
    """Bag-of-words unit vectors hashed with CRC32: the same in every process (str hash
    is salted per process), so scores.json is reproducible."""

    def encode(self, texts):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 64] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    from vl4gaze.sources.gazeworld import synthesize

    root = tmp_path_factory.mktemp("golden")
    synthesize(root / "scenes", 12, seed=3, size=64, progress=False)
    result = runner.invoke(app, ["build", f"gazeworld:{root / 'scenes'}", "-o",
                                 str(root / "bench"), "--seed", "5"])
    assert result.exit_code == 0, result.output
    return root / "bench"


def _check(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"{path}: no golden file (VL4GAZE_REGEN_GOLDEN=1 writes it)"
    assert data == path.read_bytes(), f"{name} differs from its golden file"


def test_benchmark_parquet_bytes_are_unchanged(bench):
    # data/ holds the items; image_plan.parquet names the scenes' temporary paths.
    files = sorted(p.name for p in (bench / "data").glob("*.parquet"))
    assert files == ["test.parquet", "train.parquet"]
    for name in files:
        _check(f"bench/{name}", (bench / "data" / name).read_bytes())


@pytest.mark.parametrize("baseline", BASELINES)
def test_baseline_scores_are_unchanged(bench, tmp_path, baseline):
    run = tmp_path / "run"
    result = runner.invoke(app, ["eval", str(bench), "--model", f"baseline:{baseline}",
                                 "-o", str(run), "--no-progress", "--no-score", "--seed", "2"])
    assert result.exit_code == 0, result.output
    scores = score_run(run, n_boot=50, embedder=CrcEmbedder())
    scores.pop("provenance")
    scores.pop("bench")
    _check(f"scores/{baseline}.json", (json.dumps(scores, indent=2, sort_keys=True)
                                       + "\n").encode())
    rows = pq.read_table(run / "items.parquet").to_pylist()
    _check(f"items/{baseline}.json", (json.dumps(rows, indent=1, sort_keys=True)
                                      + "\n").encode())


@pytest.mark.parametrize("with_train", [True, False], ids=["train", "no-train"])
@pytest.mark.parametrize("baseline", ["center", "head", "oracle", "random", "text-only"])
def test_every_baseline_gives_the_same_answers(bench, baseline, with_train):
    """Each baseline's answer to every test item (with the train prior and without one),
    so a change in how the baselines are wired (issue 19's per-task hooks) shows here
    even for the baselines the score check above does not run."""
    from vl4gaze.build import load_benchmark
    from vl4gaze.models import Request
    from vl4gaze.models.baselines import make_baseline

    asked = load_benchmark(bench, None)  # both splits: more items of every task
    train = load_benchmark(bench, "train") if with_train else []
    model = make_baseline(baseline, bench=bench, seed=2, train=train)
    answers = model.generate([Request([], it) for it in asked])
    rows = [[it.id, a] for it, a in zip(asked, answers, strict=True)]
    suffix = "" if with_train else "-no-train"
    _check(f"answers/{baseline}{suffix}.json", (json.dumps(rows, indent=0) + "\n").encode())
