"""The fast scorer gives the numbers the item-by-item one gave (issue #20): the same
resample indices, the same bootstrap samples bit for bit, the same scores.json with and
without the memos and the on-disk embedding cache; and that cache survives concurrent
writers and killed processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.metrics import ambiguity as amb_metrics
from vl4gaze.metrics import memo
from vl4gaze.metrics.description import SentenceEmbedder
from vl4gaze.metrics.embed_cache import EmbeddingStore
from vl4gaze.metrics.scoring import Bootstrap, Resamples, parsed_json
from vl4gaze.schema import Prediction, QAItem
from vl4gaze.score import score_run


class OldBootstrap:
    """The implementation before issue #20, verbatim but for the chunk size (small here,
    so that several chunks are drawn): int64 chunks, one gather per metric."""

    def __init__(self, n: int, n_boot: int, rng: np.random.Generator, chunk: int) -> None:
        per_chunk = max(1, chunk // max(n, 1))
        self.chunks = [rng.integers(0, n, size=(min(per_chunk, n_boot - s), n), dtype=np.int64)
                       for s in range(0, n_boot, per_chunk)] if n else []

    def mean(self, values: np.ndarray) -> np.ndarray:
        valid = np.isfinite(values)
        v = np.where(valid, values, 0.0)
        out = []
        for idx in self.chunks:
            with np.errstate(invalid="ignore", divide="ignore"):
                out.append(v[idx].sum(1) / valid[idx].sum(1))
        return np.concatenate(out) if out else np.zeros(0)

    def balanced(self, classes: np.ndarray, correct: np.ndarray) -> np.ndarray:
        out = []
        for idx in self.chunks:
            cls, hit = classes[idx], correct[idx]
            recalls = []
            for c in np.unique(classes):
                mask = cls == c
                with np.errstate(invalid="ignore", divide="ignore"):
                    recalls.append((mask & hit).sum(1) / mask.sum(1))
            with np.errstate(invalid="ignore"):
                out.append(np.nanmean(np.stack(recalls), axis=0))
        return np.concatenate(out) if out else np.zeros(0)

    def binary(self, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
        parts = [amb_metrics.binary_scores(y_true[idx], y_pred[idx]) for idx in self.chunks]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}


SIZES = [(1, 1), (2, 9), (7, 50), (129, 33), (1001, 20), (300, 0)]


@pytest.mark.parametrize(("n", "n_boot"), SIZES)
def test_resamples_are_the_chunked_int64_draws(n: int, n_boot: int) -> None:
    # Three tasks one after the other from one generator, as score_predictions draws them.
    old_rng, new_rng = np.random.default_rng(7), np.random.default_rng(7)
    for size in (n, n + 3, max(1, n // 2)):
        old = OldBootstrap(size, n_boot, old_rng, chunk=97)
        new = Bootstrap(size, n_boot, new_rng)
        want = np.concatenate(old.chunks) if old.chunks else np.zeros((0, size), np.int64)
        assert np.array_equal(new.idx, want)


@pytest.mark.parametrize(("n", "n_boot"), SIZES)
def test_bootstrap_samples_are_bit_for_bit_the_old_ones(n: int, n_boot: int) -> None:
    data = np.random.default_rng(n)
    floats = data.normal(size=n) * 10.0 ** data.integers(-3, 4, size=n)
    with_nan = np.where(data.random(n) < 0.3, np.nan, floats)
    zero_one = np.where(data.random(n) < 0.2, np.nan, (data.random(n) < 0.6).astype(float))
    classes = data.integers(0, 5, size=n)
    correct = data.random(n) < 0.4
    y_true, y_pred = data.random(n) < 0.5, data.random(n) < 0.5
    old = OldBootstrap(n, n_boot, np.random.default_rng(3), chunk=211)
    new = Bootstrap(n, n_boot, np.random.default_rng(3))
    for values in (floats, with_nan, zero_one, np.full(n, np.nan), np.full(n, -0.0)):
        np.testing.assert_array_equal(new.mean(values), old.mean(values), strict=True)
    np.testing.assert_array_equal(new.balanced(classes, correct), old.balanced(classes, correct))
    got, want = new.binary(y_true, y_pred), old.binary(y_true, y_pred)
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], strict=True)


def test_resamples_come_in_the_planned_order_only() -> None:
    rng = np.random.default_rng(0)
    plan = Resamples([("point", 5), ("object", 3), ("ambiguity", 4)], 6, np.random.default_rng(0))
    try:
        for task, n in (("point", 5), ("object", 3), ("ambiguity", 4)):
            assert np.array_equal(plan.get(task, n).idx, Bootstrap(n, 6, rng).idx)
        with pytest.raises(RuntimeError, match="taken twice"):
            plan.get("point", 5)
    finally:
        plan.close()
    plan = Resamples([("point", 5)], 6, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="5 items, 4 scored"):
        plan.get("point", 4)
    plan.close()


def test_memo_reads_each_short_answer_once_and_can_be_turned_off() -> None:
    calls: list[str] = []

    @memo.memo(maxsize=8, max_chars=5)
    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    assert [upper("abc"), upper("abc")] == ["ABC", "ABC"] and calls == ["abc"]
    assert upper("abcdefgh") == upper("abcdefgh") == "ABCDEFGH"  # too long: not kept
    assert calls == ["abc", "abcdefgh", "abcdefgh"]
    with memo.disabled():
        upper("abc")
    assert calls[-1] == "abc" and len(calls) == 4
    upper("abc")  # disabled() emptied the memo
    assert len(calls) == 5

    @memo.memo()
    def first(values) -> object:
        return values[0]

    assert first(["unhashable", "list"]) == "unhashable"  # computed, not memoised


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.none(), st.text(max_size=20),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=2),
    st.lists(st.integers(-5, 5), min_size=2, max_size=2),
    st.dictionaries(st.sampled_from(["declines", "reason"]),
                    st.one_of(st.none(), st.booleans(), st.integers(0, 1), st.text(max_size=5))),
))
def test_parsed_json_is_json_dumps(parsed) -> None:
    assert parsed_json(parsed) == json.dumps(parsed)
    assert parsed_json(parsed) == json.dumps(parsed)  # and again, from the memo


# --- scores.json with and without the caches --------------------------------------------


class CrcModel:
    """A stand-in sentence model: bag-of-words unit vectors hashed with CRC32 (the same
    in every process), counting the texts it is asked to encode."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts, **kwargs):
        self.encoded.extend(texts)
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 384] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class CrcEmbedder(SentenceEmbedder):
    def __init__(self, cache) -> None:
        super().__init__(cache=cache)
        self.loads = 0
        self.model = CrcModel()

    def _load(self):
        self.loads += 1
        return self.model


def _item(i: int, task: str, answer: str, target: dict) -> QAItem:
    return QAItem(id=f"{task}-{i}", task=task, image=f"images/{i}.png", width=640, height=480,
                  source="gazeworld", split="test", question="q?", answer=answer,
                  target=target, person_ref="box", template_id=f"{task}/00",
                  sample_id=f"s{i}")


def _run(tmp_path: Path) -> Path:
    """A run of 160 items whose answers repeat (so every memo is hit), with errors,
    garbage and pixel answers."""
    rng = np.random.default_rng(5)
    items, preds = [], []
    directions = ["up", "down", "left", "right", "upper left", "lower right"]
    labels = [("mug", "a red mug"), ("dog", "a brown dog"), ("laptop", "an open laptop")]
    for i in range(40):
        x, y = (round(float(v), 3) for v in rng.random(2))
        items.append(_item(i, "point", f"({x}, {y})", {
            "points": [[x, y], [min(1.0, x + 0.02), y]], "mean": [x, y], "eye": [0.5, 0.5],
            "format": "norm"}))
        d = directions[i % 6]
        items.append(_item(i, "direction", d, {"direction": d, "angle_deg": 37.0 * i % 360}))
        label, desc = labels[i % 3]
        items.append(_item(i, "object", desc, {"label": label, "description": desc,
                                               "box": None, "synonyms": []}))
        items.append(_item(i, "ambiguity", "x", {"ambiguous": bool(i % 2),
                                                 "reason": "gaze_out_of_frame" if i % 2 else None}))
    answers = {"point": ["(0.5, 0.5)", "(320, 240)", "I am not sure.", "x=0.2, y=0.9"],
               "direction": ["up", "The person looks down.", "hard to say", "up"],
               "object": ["a red mug", "the dog", "a cup", "something"],
               "ambiguity": ["It cannot be answered: the person looks outside the image.",
                             "a cup", "(0.4, 0.3)", "It cannot be answered."]}
    for k, it in enumerate(items):
        error = "timeout" if k % 37 == 0 else None
        preds.append(Prediction(item_id=it.id, model="m", prompt_config="p", error=error,
                                raw=answers[str(it.task)][k % 4] if k % 5 else it.answer))
    bench = tmp_path / "bench"
    (bench / "data").mkdir(parents=True)
    rows = [{**it.to_dict(), "target": json.dumps(it.target)} for it in items]
    pq.write_table(pa.Table.from_pylist(rows), bench / "data" / "test.parquet")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({
        "bench": str(bench), "model": "m", "shots": 0, "tasks": None, "limit": None,
        "prompt_config": "p", "point_convention": "auto", "seed": 4}))
    (run / "predictions.jsonl").write_text("".join(p.to_json() + "\n" for p in preds))
    return run


def _outputs(run: Path, embedder) -> tuple[str, list, bytes]:
    scores = score_run(run, n_boot=200, embedder=embedder)
    scores.pop("provenance")
    return (json.dumps(scores, indent=2), pq.read_table(run / "items.parquet").to_pylist(),
            (run / "samples.jsonl").read_bytes())


def test_scores_are_identical_with_and_without_the_caches(tmp_path: Path) -> None:
    run = _run(tmp_path)
    store = tmp_path / "cache" / "embeddings.sqlite"
    with memo.disabled():
        fresh = CrcEmbedder(cache=None)
        uncached = _outputs(run, fresh)
    first = CrcEmbedder(cache=store)
    assert _outputs(run, first) == uncached
    assert first.loads == 1
    # A new process' embedder: every text comes from the disk cache, no model is loaded.
    again = CrcEmbedder(cache=store)
    assert _outputs(run, again) == uncached
    assert again.loads == 0 and again.model.encoded == []
    assert sorted(set(first.model.encoded)) == sorted(first.model.encoded)  # each text once


# --- the on-disk embedding cache ------------------------------------------------------


def test_store_round_trip_and_model_keys(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    a = EmbeddingStore(path, "model-a")
    vec = np.arange(4, dtype=np.float32)
    a.put_many({"a red mug": vec, "é\u2028": vec * 2})
    got = EmbeddingStore(path, "model-a").get_many(["a red mug", "é\u2028", "missing"])
    assert set(got) == {"a red mug", "é\u2028"}
    np.testing.assert_array_equal(got["é\u2028"], vec * 2)
    assert EmbeddingStore(path, "model-b").get_many(["a red mug"]) == {}


def _writer(path: str, worker: int) -> None:
    store = EmbeddingStore(Path(path), "m")
    for batch in range(20):
        store.put_many({f"text {batch * 10 + k}": np.full(8, batch * 10 + k, np.float32)
                        for k in range(10)})


def test_concurrent_writers_leave_every_vector_whole(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    got = EmbeddingStore(path, "m").get_many([f"text {i}" for i in range(200)])
    assert len(got) == 200
    assert all(np.array_equal(v, np.full(8, int(t.split()[1]), np.float32))
               for t, v in got.items())


def _killed_mid_write(path: str) -> None:
    store = EmbeddingStore(Path(path), "m")
    store.put_many({"committed": np.ones(4, np.float32)})
    db = store._connect()
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO vectors VALUES ('m', 'x', 4, ?)", (np.zeros(4, np.float32).tobytes(),))
    os._exit(9)  # killed before COMMIT


def test_a_killed_writer_leaves_only_committed_rows(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    proc = multiprocessing.get_context("spawn").Process(target=_killed_mid_write,
                                                          args=(str(path),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 9
    store = EmbeddingStore(path, "m")
    assert set(store.get_many(["committed"])) == {"committed"}
    count = sqlite3.connect(path).execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    assert count == 1
    store.put_many({"later": np.ones(4, np.float32)})  # the lock is free again
    assert set(store.get_many(["committed", "later"])) == {"committed", "later"}


def test_an_unusable_cache_warns_once_and_scoring_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    embedder = CrcEmbedder(cache=path)
    with pytest.warns(UserWarning, match="embedding cache left out"):
        vectors = embedder.encode(["a red mug", "a dog"])
    assert vectors.shape == (2, 384) and embedder.loads == 1


def test_embeddings_cache_can_be_turned_off(monkeypatch, tmp_path: Path) -> None:
    from vl4gaze.metrics import embed_cache

    monkeypatch.setenv("VL4GAZE_EMBEDDINGS_CACHE", "off")
    assert embed_cache.default_path() is None
    monkeypatch.delenv("VL4GAZE_EMBEDDINGS_CACHE")
    monkeypatch.setenv("VL4GAZE_CACHE", str(tmp_path))
    assert embed_cache.default_path() == tmp_path / "embeddings.sqlite"
