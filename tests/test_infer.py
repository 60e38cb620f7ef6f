from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_infer_fixtures import make_bench, write_items

from vl4gaze.infer import (
    RunConfig,
    parse_shard,
    prediction_files,
    read_prediction_file,
    read_predictions,
    run_inference,
    select_items,
)
from vl4gaze.models import FatalBackendError, Request
from vl4gaze.models.baselines import OracleBaseline

TESTS = Path(__file__).parent


@pytest.fixture
def bench(tmp_path):
    root = tmp_path / "bench"
    test, train = make_bench(root, n_test=4, n_train=5)
    return root, test, train


def _run(bench, run, **kw):
    root, test, train = bench
    kw.setdefault("progress", False)
    return run_inference(root, run, RunConfig("baseline:oracle", **kw), items=test,
                         train_items=train)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_writes_config_and_one_prediction_per_item(bench, tmp_path):
    root, test, _ = bench
    run = tmp_path / "run"
    result = _run(bench, run, batch_size=3, shots=1, seed=5)
    assert (result.total, result.answered, result.errors) == (16, 16, 0)
    config = json.loads((run / "config.json").read_text())
    assert config["bench"] == str(root.resolve()) and config["model"] == "baseline:oracle"
    assert (config["shots"], config["seed"], config["limit"]) == (1, 5, None)
    preds = _lines(run / "predictions.jsonl")
    answers = {it.id: it.answer for it in test}
    assert sorted(p["item_id"] for p in preds) == sorted(answers)
    assert all(p["raw"] == answers[p["item_id"]] and p["error"] is None for p in preds)
    assert {p["prompt_config"] for p in preds} == {config["prompt_config"]}
    again = _run(bench, run, batch_size=3, shots=1, seed=5)
    assert (again.skipped, again.answered) == (16, 0)
    assert len(_lines(run / "predictions.jsonl")) == 16


def test_tasks_and_limit_select_items(bench, tmp_path):
    _, test, _ = bench
    chosen = select_items(test, tasks=["point", "object"], limit=2)
    assert Counter(str(it.task) for it in chosen) == {"point": 2, "object": 2}
    result = _run(bench, tmp_path / "run", tasks=["direction"], limit=3)
    assert result.total == 3


class Flaky:
    """Fails on chosen items; a whole batch containing one fails, as real back ends do."""

    name = "flaky"

    def __init__(self, bad: set[str]):
        self.bad = bad
        self.calls: list[int] = []

    def generate(self, requests: list[Request], max_new_tokens: int) -> list[str]:
        self.calls.append(len(requests))
        if any(r.item.id in self.bad for r in requests):
            raise RuntimeError("CUDA out of memory (pretend)")
        return [r.item.answer for r in requests]


def test_per_item_errors_are_recorded_and_the_run_goes_on(bench, tmp_path):
    root, test, _ = bench
    bad = {test[1].id}
    model = Flaky(bad)
    result = run_inference(root, tmp_path / "run", RunConfig("flaky", batch_size=4,
                                                             progress=False),
                           model=model, items=test)
    assert (result.answered, result.errors) == (16, 1)
    preds = {p["item_id"]: p for p in _lines(result.predictions)}
    assert preds[test[1].id]["error"] == "RuntimeError: CUDA out of memory (pretend)"
    assert preds[test[1].id]["raw"] == ""
    assert all(p["error"] is None for i, p in preds.items() if i not in bad)
    assert model.calls[:5] == [4, 1, 1, 1, 1]  # the failing batch is retried item by item


def test_missing_image_is_a_per_item_prompt_error(bench, tmp_path):
    root, test, _ = bench
    (root / test[2].image).unlink()
    result = _run(bench, tmp_path / "run")
    preds = {p["item_id"]: p for p in _lines(result.predictions)}
    assert preds[test[2].id]["error"].startswith("prompt: FileNotFoundError")
    assert result.errors == 1


def test_fatal_backend_errors_stop_the_run(bench, tmp_path):
    root, test, _ = bench

    class Denied:
        name = "denied"

        def generate(self, requests, max_new_tokens):
            raise FatalBackendError("401 Unauthorized")

    with pytest.raises(FatalBackendError):
        run_inference(root, tmp_path / "run", RunConfig("denied", progress=False),
                      model=Denied(), items=test)


def test_torn_last_line_is_dropped_and_the_item_answered_again(bench, tmp_path):
    _, test, _ = bench
    run = tmp_path / "run"
    _run(bench, run, limit=1)
    path = run / "predictions.jsonl"
    first = path.read_text()
    whole = json.dumps({"item_id": test[1].id, "model": "baseline:oracle",
                        "prompt_config": "x", "raw": "r"})
    path.write_text(first + whole[:25])  # a write cut short by kill -9
    assert len(read_prediction_file(path)) == 4
    result = _run(bench, run)
    ids = [p["item_id"] for p in _lines(path)]
    assert len(ids) == len(set(ids)) == 16 and result.skipped == 4


def test_a_complete_last_line_without_newline_counts_as_done(bench, tmp_path):
    run = tmp_path / "run"
    _run(bench, run, limit=1)
    path = run / "predictions.jsonl"
    path.write_text(path.read_text().rstrip("\n"))
    result = _run(bench, run)
    assert result.skipped == 4 and len(_lines(path)) == 16


def test_a_corrupt_middle_line_names_file_and_line(bench, tmp_path):
    run = tmp_path / "run"
    _run(bench, run, limit=1)
    path = run / "predictions.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = "{oops"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"predictions.jsonl: line 2: not a Prediction"):
        _run(bench, run)


def test_shards_split_the_items_and_merge(bench, tmp_path):
    _, test, _ = bench
    run = tmp_path / "run"
    a = _run(bench, run, shard=(0, 3))
    b = _run(bench, run, shard=(1, 3))
    c = _run(bench, run, shard=(2, 3))
    assert a.predictions.name == "predictions.shard-0-of-3.jsonl"
    assert a.total + b.total + c.total == 16
    assert len(prediction_files(run)) == 3
    assert set(read_predictions(run)) == {it.id for it in test}


def test_resume_refuses_a_different_run(bench, tmp_path):
    run = tmp_path / "run"
    _run(bench, run, limit=1)
    with pytest.raises(ValueError, match="field 'shots' is 0 but this run has 2"):
        _run(bench, run, limit=1, shots=2)


def test_api_keys_are_refused_as_option_values(bench, tmp_path):
    with pytest.raises(ValueError, match="environment variable name"):
        _run(bench, tmp_path / "run", model_options={"api_key": "sk-secret"})


@given(st.integers(0, 50), st.integers(1, 50))
def test_parse_shard(i, n):
    if i < n:
        assert parse_shard(f"{i}/{n}") == (i, n)
    else:
        with pytest.raises(ValueError, match="0 <= i < N"):
            parse_shard(f"{i}/{n}")


@pytest.mark.parametrize("bad", ["", "1", "a/b", "1/0", "-1/2"])
def test_parse_shard_rejects(bad):
    with pytest.raises(ValueError):
        parse_shard(bad)


_CHILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_infer_fixtures import read_items
from vl4gaze.infer import RunConfig, run_inference
from vl4gaze.models.baselines import OracleBaseline

class Slow(OracleBaseline):
    def generate(self, requests, max_new_tokens=64):
        time.sleep(0.15)
        return super().generate(requests, max_new_tokens)

run_inference(Path(sys.argv[1]), Path(sys.argv[3]),
              RunConfig("baseline:oracle", batch_size=2, progress=False), model=Slow(),
              items=read_items(Path(sys.argv[2])))
"""


def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(bench, tmp_path):
    root, test, _ = bench
    items_file = tmp_path / "items.jsonl"
    write_items(items_file, test)
    run = tmp_path / "run"
    log = run / "predictions.jsonl"
    script = _CHILD.format(tests=str(TESTS))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for wanted_lines in (2, 8):  # kill twice, at different points
        child = subprocess.Popen([sys.executable, "-c", script, str(root), str(items_file),
                                  str(run)], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if log.exists() and log.read_bytes().count(b"\n") >= wanted_lines:
                break
            time.sleep(0.01)
        assert child.poll() is None, "the child finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
    done_before = log.read_bytes().count(b"\n")
    assert 8 <= done_before < 16
    with log.open("ab") as f:  # and a torn write on top
        f.write(b'{"item_id": "tor')
    result = run_inference(root, run, RunConfig("baseline:oracle", progress=False),
                           model=OracleBaseline(), items=test)
    ids = [p["item_id"] for p in _lines(log)]
    assert sorted(ids) == sorted(it.id for it in test)  # nothing lost, nothing twice
    assert result.skipped == done_before
    by_id = {it.id: it for it in test}
    assert all(p["raw"] == by_id[p["item_id"]].answer for p in _lines(log))
