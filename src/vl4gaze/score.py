"""Predictions -> per-task metrics with parse rates and seeded 95 % bootstrap intervals.

``score_predictions`` parses every answer with the task's parser (``vl4gaze.parse``),
computes per-item values with ``vl4gaze.metrics``, and aggregates them per task (see
docs/scoring.md for every definition). Conventions that matter for comparing numbers:

- A prediction with an ``error``, or an answer the parser cannot read, is *unparsed*.
  Unparsed items count as wrong in every accuracy-like metric (acc@t, accuracy,
  label match, F1...) and as 0 in the similarity metrics (embedding, ROUGE-L, CIDEr);
  distances and angles (``avg_l2``, ``min_l2``, ``angular_error``) are averaged over
  parsed items only, so read them beside ``parse_rate``.
- Intervals: percentile bootstrap over items (2.5 / 97.5 %), ``n_boot`` resamples drawn
  with ``numpy.random.default_rng(seed)``; one set of resamples per task is shared by
  its metrics. CIDEr's per-item scores use the whole corpus' document frequencies and
  are resampled as fixed numbers.
- Heatmap predictions get ``auc`` under the definition of the item's source
  (``vl4gaze.metrics.point.AUC_BY_SOURCE``: GazeFollow's, VideoAttentionTarget's for VAT
  and ChildPlay, GOO's); the point block's ``auc_definition`` says which was used.
- ``overall`` is the mean of each task's headline metric (``TaskSpec.headline`` in
  ``vl4gaze.tasks.registry``: point ``acc@0.1``, direction and ambiguity
  ``balanced_accuracy``, object ``label_match``; each over ALL the task's items, an
  unparsed answer a miss, and not winnable by a constant answer) over the tasks present,
  with an interval from the same per-task resamples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vl4gaze.gc_pause import gc_paused
from vl4gaze.metrics import description as desc_metrics
from vl4gaze.metrics.scoring import (
    ItemScore,
    Resamples,
    ScoreContext,
    TaskBlock,
    balanced_accuracy,
    metric_entry,
)
from vl4gaze.parse.conventions import (
    check_convention,
    convention_for_model,
    llava_view_of,
    qwen_resize_of,
)
from vl4gaze.schema import Prediction, QAItem
from vl4gaze.tasks import registry

__all__ = ["ItemScore", "balanced_accuracy", "point_convention", "qwen_resize", "samples_log",
           "score_one", "score_predictions", "score_run"]


def point_convention(model: str | None, configured: str | None) -> str:
    """The convention to parse a run's points with: the configured one unless ``auto``,
    then the known-model table (a family: its native forms and view, never a scale for
    plain numbers), then ``auto``. A LLaVA-1.5 in a local folder is ``llava-pad`` or
    ``llava-crop`` as its image processor config says."""
    if configured and configured != "auto":
        return check_convention(configured)
    family = convention_for_model(model or "")
    if family in ("llava-pad", "llava-crop"):
        _, _, path = (model or "").partition(":")
        if path and Path(path).is_dir():
            family = llava_view_of(Path(path)) or family
    return family


def qwen_resize(model: str | None, convention: str) -> dict[str, int] | None:
    """The processor resize of a run's Qwen2.5-VL model when it is a local folder that
    says (``parse.conventions.qwen_resize_of``); None: the released defaults."""
    if convention != "qwen2.5-vl":
        return None
    _, _, path = (model or "").partition(":")
    return qwen_resize_of(Path(path)) if path and Path(path).is_dir() else None


def _score_item(
    item: QAItem, raw: str, *, error: str | None = None,
    heatmap: list[list[float]] | None = None, convention: str = "auto",
    resize: dict[str, int] | None = None,
) -> ItemScore:
    """Parse one answer and compute the item's own metric values (no embeddings, no CIDEr)
    with its task's ``score_item``.

    ``resize``: the model's own Qwen2.5-VL resize settings (see :func:`qwen_resize`)."""
    return _score_items([(item, raw, error, heatmap)], convention, resize)[0]


def _score_items(
    answers: Iterable[tuple[QAItem, str, str | None, list[list[float]] | None]],
    convention: str, resize: dict[str, int] | None,
) -> list[ItemScore]:
    """``_score_item`` of many (item, raw, error, heatmap): one task lookup per task and
    one context for every answer without a heatmap."""
    specs: dict[Any, Any] = {}
    plain = ScoreContext(convention, None, resize)
    out = []
    for item, raw, error, heatmap in answers:
        spec = specs.get(item.task)
        if spec is None:
            task = str(item.task)
            try:
                spec = specs[item.task] = registry.get(task)
            except ValueError:
                raise ValueError(f"item {item.id}: unknown task {task!r}") from None
        score = ItemScore(item.id, spec.name, raw or "", None, None, None, None, error)
        spec.score_item(item, score.raw, score, plain if heatmap is None
                        else ScoreContext(convention, heatmap, resize))
        out.append(score)
    return out


def _is_parsed(s: ItemScore) -> bool:
    return s.is_parsed


def score_one(
    item: QAItem, raw: str, *, convention: str = "auto",
    embedder: desc_metrics.SentenceEmbedder | None = None,
) -> dict[str, float | bool | None]:
    """Score a single answer (lmms-eval ``process_results``): the item's metric values.

    Object answers also get ``embedding_similarity`` (the model loads once per process);
    CIDEr needs a corpus and is None here. ``parsed`` says whether the answer was read.
    """
    s = _score_item(item, raw, convention=check_convention(convention))
    values: dict[str, float | bool | None] = {"parsed": _is_parsed(s)}
    single = registry.get(s.task).single
    if single is not None:
        values.update(single(s, item, embedder))
        return values
    for k, v in s.values.items():
        values[k] = float(v) if isinstance(v, bool | int | float) else v
    return values


def score_predictions(
    items: Iterable[QAItem],
    predictions: Mapping[str, Prediction] | Iterable[Prediction],
    *,
    convention: str = "auto",
    seed: int = 0,
    n_boot: int = 1000,
    embedder: Any = None,
    progress: bool = False,
    resize: dict[str, int] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score every item that has a prediction; returns (scores dict, items-table rows).

    ``embedder`` is anything with ``encode(texts) -> unit vectors`` (default: the shared
    all-MiniLM-L6-v2 ``SentenceEmbedder``, loaded only if there are object items).
    ``resize``: Qwen2.5-VL resize settings of the run's model (``qwen_resize``).
    Rows come in the benchmark's item order.
    """
    from vl4gaze.progress import ProgressLog

    check_convention(convention)
    by_id = {it.id: it for it in items}
    preds = dict(predictions) if isinstance(predictions, Mapping) else {
        p.item_id: p for p in predictions}
    unknown = sorted(set(preds) - set(by_id))
    if unknown:
        raise ValueError(f"{len(unknown)} predictions name items not in the benchmark, "
                         f"e.g. item_id={unknown[0]!r}")
    groups: dict[str, list[QAItem]] = {}
    for item_id, item in by_id.items():
        if item_id in preds:
            groups.setdefault(str(item.task), []).append(item)
    known = set(registry.task_names())
    for task, group in groups.items():
        if task not in known:
            raise ValueError(f"item {group[0].id}: unknown task {task!r}")
    order = [t for t in registry.task_names() if t in groups]
    n_scored = sum(len(g) for g in groups.values())
    with (ProgressLog("parsing answers", n_scored, enabled=progress) as bar,
          _Pipeline(order, groups, seed, n_boot) as pipeline, gc_paused()):
        for task in order:
            scores = _score_items(((it, preds[it.id].raw, preds[it.id].error,
                                    preds[it.id].heatmap) for it in groups[task]),
                                  convention, resize)
            pipeline.aggregate(task, scores, by_id, embedder)
            bar.advance(len(scores))
        blocks = pipeline.blocks()
        rank = {item_id: k for k, item_id in enumerate(by_id)}
        scored = sorted((s for task in order for s in pipeline.scores[task]),
                        key=lambda s: rank[s.item_id])
        rows = [s.row() for s in scored]
    summary = _summary(blocks, scored, len(by_id), seed=seed, n_boot=n_boot,
                       convention=convention, resize=resize)
    return summary, rows


class _Pipeline:
    """Each task's aggregation as soon as its answers are parsed, with the one pass over
    its resamples (numpy: take, sum, bincount, which release the GIL) in a background
    thread while the next task's answers are parsed (Python, on the main thread). The
    resamples are drawn in the background too (``Resamples``: task after task in
    registry order from ``default_rng(seed)``, so the intervals are those of one task at
    a time)."""

    def __init__(self, order: Sequence[str], groups: Mapping[str, Sequence[QAItem]],
                 seed: int, n_boot: int) -> None:
        self._resamples = Resamples([(t, len(groups[t])) for t in order], n_boot,
                                    np.random.default_rng(seed), ahead=1)
        self._finisher = ThreadPoolExecutor(1, thread_name_prefix="vl4gaze-aggregate")
        self._pending: dict[str, tuple[TaskBlock, Future[None]]] = {}
        self.scores: dict[str, list[ItemScore]] = {}

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finisher.shutdown(wait=True, cancel_futures=True)
        self._resamples.close()

    def aggregate(self, task: str, scores: list[ItemScore], items: Mapping[str, QAItem],
                  embedder: Any) -> None:
        """Fill the task's block (its ``aggregate`` hook, here) and start its intervals."""
        block = TaskBlock(scores, self._resamples.get(task, len(scores)))
        registry.get(task).aggregate(block, scores, items, embedder)
        self.scores[task] = scores
        self._pending[task] = (block, self._finisher.submit(block.finish))

    def blocks(self) -> dict[str, TaskBlock]:
        """Every task's finished block, in the order aggregated."""
        out = {}
        for task, (block, done) in self._pending.items():
            done.result()
            out[task] = block
        return out


def _summary(blocks: Mapping[str, TaskBlock], scores: Sequence[ItemScore], n_items: int,
             *, seed: int, n_boot: int, convention: str, resize: dict[str, int] | None
             ) -> dict[str, Any]:
    """scores.json's numbers: each task's block and ``overall`` over their headlines."""
    headline: dict[str, tuple[float | None, np.ndarray]] = {}
    for task, block in blocks.items():
        name = registry.get(task).headline
        headline[task] = (block.block["metrics"][name]["value"],
                          block.samples.get(name, np.zeros(0)))
    return {
        "n_items": len(scores),
        "n_missing": n_items - len(scores),
        "seed": seed,
        "n_boot": n_boot,
        "convention": convention,
        **({"qwen_resize": resize} if resize else {}),
        "parse_rate": float(np.mean([_is_parsed(s) for s in scores])) if scores else None,
        "tasks": {task: block.block for task, block in blocks.items()},
        "overall": _overall(headline),
    }


def _overall(headline: dict[str, tuple[float | None, np.ndarray]]) -> dict[str, Any]:
    vals = {t: v for t, (v, _) in headline.items() if v is not None}
    if not vals:
        return {"metrics": {}}
    value = float(np.mean(list(vals.values())))
    sizes = {len(s) for t, (_, s) in headline.items() if t in vals}
    boots = (np.mean([headline[t][1] for t in vals], axis=0) if len(sizes) == 1
             else np.zeros(0))
    return {"headline": {t: registry.get(t).headline for t in vals},
            "metrics": {"mean_headline": metric_entry(value, boots, True, len(vals))}}


def score_run(
    run: Path, *, n_boot: int = 1000, embedder: Any = None, convention: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score a run directory: writes ``RUN/scores.json`` (with its ``provenance``),
    ``RUN/items.parquet`` and the samples log ``RUN/samples.jsonl``, each atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vl4gaze.build import atomic_path, atomic_write_text, load_benchmark
    from vl4gaze.infer import bench_hash, read_predictions, run_items
    from vl4gaze.provenance import provenance

    run = Path(run)
    config_path = run / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{config_path}: no config.json, is {run} a run directory?")
    config = json.loads(config_path.read_text())
    for key in ("bench", "model"):
        if key not in config:
            raise ValueError(f"{config_path}: field {key!r} is missing")
    conv = point_convention(config.get("model"), convention or config.get("point_convention"))
    predictions = read_predictions(run)
    if not predictions:
        raise ValueError(f"{run}: no predictions*.jsonl lines to score")
    bench = Path(config["bench"])
    recorded, current = config.get("bench_hash"), bench_hash(bench)
    if recorded and current != recorded:
        raise ValueError(f"{bench}: the benchmark changed since run {run} answered it "
                         f"(content hash {recorded[:12]}... now {str(current)[:12]}...); "
                         "rebuild it as it was or evaluate again into a new run")
    # The run's own items: the test split, narrowed by every selection the run was asked
    # with (tasks and limit; all shards).
    items = run_items(load_benchmark(bench, "test"), config)
    summary, rows = score_predictions(items, predictions, convention=conv,
                                      seed=int(config.get("seed") or 0), n_boot=n_boot,
                                      embedder=embedder, progress=progress,
                                      resize=qwen_resize(config["model"], conv))
    scores = {"model": config["model"], "bench": config["bench"], **summary,
              "provenance": provenance(config, current)}
    schema = pa.schema([("item_id", pa.string()), ("task", pa.string()), ("raw", pa.string()),
                        ("parsed", pa.string()), ("rule", pa.string()),
                        ("correct", pa.bool_()), ("score", pa.float64()),
                        ("error", pa.string())])
    with atomic_path(run / "items.parquet") as tmp:
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    atomic_write_text(run / "samples.jsonl", samples_log(items, predictions, rows))
    atomic_write_text(run / "scores.json", json.dumps(_jsonable(scores), indent=2) + "\n")
    return scores


def samples_log(items: Iterable[QAItem], predictions: Mapping[str, Prediction],
                rows: Sequence[dict[str, Any]]) -> str:
    """One JSON line per scored item, as lmms-eval's ``--log_samples``: the question,
    reference answer, image, raw answer, parsed value, rule and per-item metrics.
    ``datasets.load_dataset("json", data_files="RUN/samples.jsonl")`` reads it."""
    by_id = {it.id: it for it in items}
    lines = []
    for row in rows:
        item, pred = by_id[row["item_id"]], predictions[row["item_id"]]
        metrics = {k: (float(v) if isinstance(v, bool | int | float) else v)
                   for k, v in row["metrics"].items()}
        lines.append(json.dumps(_jsonable({
            "item_id": item.id, "task": str(item.task), "source": item.source,
            "image": item.image, "question": item.question, "answer": item.answer,
            "raw": pred.raw, "error": pred.error, "attempt": pred.attempt,
            "parsed": json.loads(row["parsed"]), "rule": row["rule"],
            "correct": row["correct"], "metrics": metrics}), sort_keys=True))
    return "".join(line + "\n" for line in lines)


def _jsonable(obj: Any) -> Any:
    """NaN/inf become null so scores.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj
