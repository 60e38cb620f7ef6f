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

import itertools
import json
import math
import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vl4gaze.forking import can_fork, worker_count
from vl4gaze.gc_pause import gc_paused
from vl4gaze.metrics import description as desc_metrics
from vl4gaze.metrics.scoring import (
    ItemScore,
    Resamples,
    ScoreContext,
    SharedResamples,
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


#: Fewer predictions than this are scored in one process: a fork costs more than it saves.
PARALLEL_MIN_PREDICTIONS = 50_000


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
    workers: int | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score every item that has a prediction; returns (scores dict, items-table rows).

    ``embedder`` is anything with ``encode(texts) -> unit vectors`` (default: the shared
    all-MiniLM-L6-v2 ``SentenceEmbedder``, loaded only if there are object items).
    ``resize``: Qwen2.5-VL resize settings of the run's model (``qwen_resize``).
    ``workers``: processes (default: the CPUs, at most 2); a large run's first tasks are
    scored in a forked process (``vl4gaze.forking``), with the same numbers.
    Rows come in the benchmark's item order.
    """
    from vl4gaze.progress import ProgressLog

    check_convention(convention)
    by_id = {it.id: it for it in items}
    preds = dict(predictions) if isinstance(predictions, Mapping) else {
        p.item_id: p for p in predictions}
    groups: dict[str, list[QAItem]] = {}
    sequence: list[str] = []  # the task of each scored item, in benchmark order
    names: dict[Any, str] = {}
    for item_id, item in by_id.items():
        if item_id in preds:
            name = names.get(item.task)
            if name is None:
                name = names[item.task] = str(item.task)
            groups.setdefault(name, []).append(item)
            sequence.append(name)
    if len(sequence) != len(preds):
        unknown = sorted(set(preds) - set(by_id))
        raise ValueError(f"{len(unknown)} predictions name items not in the benchmark, "
                         f"e.g. item_id={unknown[0]!r}")
    known = set(registry.task_names())
    for task, group in groups.items():
        if task not in known:
            raise ValueError(f"item {group[0].id}: unknown task {task!r}")
    order = [t for t in registry.task_names() if t in groups]
    n_scored = sum(len(g) for g in groups.values())
    job = _Job(order, groups, preds, by_id, convention, resize, seed, n_boot, embedder)
    n_workers = worker_count(workers)  # checked even where a run is too small to share
    forked = (_forked_tasks(order, groups, preds)
              if n_scored >= PARALLEL_MIN_PREDICTIONS and n_workers > 1 and can_fork()
              else [])
    # The fork comes first, before this process starts any thread.
    with gc_paused(), _Fork(job, forked) as fork:
        with ProgressLog("parsing answers", n_scored, enabled=progress) as bar:
            results = job.run([t for t in order if t not in forked], advance=bar.advance,
                              shared=fork.shared)
            results.update(fork.results())
            bar.advance(sum(len(groups[t]) for t in forked))
        results = {task: results[task] for task in order}
        # Each task's rows are in benchmark order: interleave them back as the items come.
        per_task = {task: iter(result.rows).__next__ for task, result in results.items()}
        rows = [per_task[task]() for task in sequence]
    summary = _summary(results, n_scored, len(by_id), seed=seed, n_boot=n_boot,
                       convention=convention, resize=resize)
    return summary, rows


@dataclass
class _TaskResult:
    """What one task's scoring hands back (from a forked process too): its scores.json
    block, its headline's bootstrap samples, its items-table rows in benchmark order and
    how many of its answers were parsed."""

    block: dict[str, Any]
    headline: np.ndarray
    rows: list[dict[str, Any]]
    n_parsed: int


@dataclass
class _Job:
    """One ``score_predictions`` call: the items grouped by task and how to score them
    (shared with a forked process by the fork itself, never pickled)."""

    order: list[str]
    groups: dict[str, list[QAItem]]
    preds: dict[str, Prediction]
    by_id: dict[str, QAItem]
    convention: str
    resize: dict[str, int] | None
    seed: int
    n_boot: int
    embedder: Any

    def run(self, tasks: Sequence[str], advance: Callable[[int], None] | None = None,
            shared: Mapping[str, SharedResamples] | None = None, forked: bool = False
            ) -> dict[str, _TaskResult]:
        """Score ``tasks`` (in registry order); ``shared`` holds the resamples of the
        tasks scored in the forked process (``forked``: this is it)."""
        with _Pipeline(self.order, self.groups, self.seed, self.n_boot, tasks,
                       shared or {}, forked) as pipeline:
            preds = self.preds
            for task in tasks:
                scores = _score_items(((it, preds[it.id].raw, preds[it.id].error,
                                        preds[it.id].heatmap) for it in self.groups[task]),
                                      self.convention, self.resize)
                pipeline.aggregate(task, scores, self.by_id, self.embedder)
                if advance is not None:
                    advance(len(scores))
            return pipeline.results()


#: How many of a task's answers ``_forked_tasks`` looks at to guess its share of distinct ones.
_COST_SAMPLE = 2_000


def _forked_tasks(order: Sequence[str], groups: Mapping[str, Sequence[QAItem]],
                  preds: Mapping[str, Prediction]) -> list[str]:
    """The tasks the forked process scores: of every way to split the tasks in two, the
    one whose larger half costs least (ties: the first found, so the choice is fixed). A
    task's estimated cost: its items times (1 + 3 x the share of distinct answers among
    its first ``_COST_SAMPLE``): each distinct answer is parsed once, a repeat is a memo
    hit, and a point answer costs ~3x a direction's."""
    if len(order) < 2:
        return []
    cost = {}
    for t in order:
        first = groups[t][:_COST_SAMPLE]
        distinct = len({preds[it.id].raw for it in first}) / len(first)
        cost[t] = len(groups[t]) * (1 + 3 * distinct)
    total = sum(cost.values())
    splits = (list(c) for k in range(1, len(order))
              for c in itertools.combinations(order, k))
    return min(splits, key=lambda c: max(sum(cost[t] for t in c),
                                         total - sum(cost[t] for t in c)))


#: What a forked scoring process reads: the job and its tasks' shared resamples (set
#: only while one runs).
_FORKED: tuple[_Job, dict[str, SharedResamples]] | None = None


def _score_forked(tasks: list[str]) -> dict[str, _TaskResult]:
    """In the forked process: score ``tasks`` of the inherited job."""
    assert _FORKED is not None
    job, shared = _FORKED
    return job.run(tasks, shared=shared, forked=True)


class _Fork:
    """The forked process scoring ``tasks`` of ``job`` (nothing when ``tasks`` is empty),
    and the shared maps this process draws their resamples into."""

    def __init__(self, job: _Job, tasks: list[str]) -> None:
        self._job, self._tasks = job, tasks
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future[dict[str, _TaskResult]] | None = None
        self.shared: dict[str, SharedResamples] = {}

    def __enter__(self) -> _Fork:
        global _FORKED
        if self._tasks:
            context = multiprocessing.get_context("fork")
            self.shared = {t: SharedResamples(len(self._job.groups[t]), self._job.n_boot,
                                              context) for t in self._tasks}
            _FORKED = (self._job, self.shared)
            self._pool = ProcessPoolExecutor(1, mp_context=context)
            self._future = self._pool.submit(_score_forked, self._tasks)
        return self

    def results(self) -> dict[str, _TaskResult]:
        """The forked process's task results (waits for them; its error is raised here)."""
        return self._future.result() if self._future is not None else {}

    def __exit__(self, *exc: object) -> None:
        global _FORKED
        for shared in self.shared.values():
            shared.failed.set()  # read: nothing more will be drawn for the forked process
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        _FORKED = None


class _Pipeline:
    """Each task's aggregation as soon as its answers are parsed, with the one pass over
    its resamples (numpy: take, sum, bincount, which release the GIL) in a background
    thread while the next task's answers are parsed (Python, on the main thread). The
    resamples are drawn in the background too (``Resamples``: task after task in
    registry order from ``default_rng(seed)``, so the intervals are those of one task at
    a time). ``shared``: the resamples of the tasks a forked process scores; the driver
    draws them in their turn into it, the forked process reads its tasks' from it."""

    def __init__(self, order: Sequence[str], groups: Mapping[str, Sequence[QAItem]],
                 seed: int, n_boot: int, tasks: Sequence[str],
                 shared: Mapping[str, SharedResamples], forked: bool = False) -> None:
        self._shared = shared if forked else {}
        self._resamples: Resamples | None = None
        if not forked:
            self._resamples = Resamples(
                [(t, len(groups[t])) for t in order], n_boot, np.random.default_rng(seed),
                ahead=2, elsewhere=shared)
        self._finisher = ThreadPoolExecutor(1, thread_name_prefix="vl4gaze-aggregate")
        self._pending: dict[str, tuple[TaskBlock, list[ItemScore], Future[None]]] = {}

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finisher.shutdown(wait=True, cancel_futures=True)
        if self._resamples is not None:
            self._resamples.close()

    def aggregate(self, task: str, scores: list[ItemScore], items: Mapping[str, QAItem],
                  embedder: Any) -> None:
        """Fill the task's block (its ``aggregate`` hook, here) and start its intervals."""
        boot = (self._shared[task].bootstrap() if self._resamples is None
                else self._resamples.get(task, len(scores)))
        block = TaskBlock(scores, boot)
        registry.get(task).aggregate(block, scores, items, embedder)
        self._pending[task] = (block, scores, self._finisher.submit(block.finish))

    def results(self) -> dict[str, _TaskResult]:
        """Every task's result, in the order aggregated (waits for the intervals)."""
        out = {}
        for task, (block, scores, done) in self._pending.items():
            done.result()
            out[task] = _TaskResult(
                block.block, block.samples.get(registry.get(task).headline, np.zeros(0)),
                [s.row() for s in scores], sum(map(_is_parsed, scores)))
        return out


def _summary(results: Mapping[str, _TaskResult], n_scored: int, n_items: int, *,
             seed: int, n_boot: int, convention: str, resize: dict[str, int] | None
             ) -> dict[str, Any]:
    """scores.json's numbers: each task's block and ``overall`` over their headlines."""
    headline = {task: (r.block["metrics"][registry.get(task).headline]["value"], r.headline)
                for task, r in results.items()}
    n_parsed = sum(r.n_parsed for r in results.values())
    return {
        "n_items": n_scored,
        "n_missing": n_items - n_scored,
        "seed": seed,
        "n_boot": n_boot,
        "convention": convention,
        **({"qwen_resize": resize} if resize else {}),
        # The mean of the 0/1 parsed flags: an exact count over n, as np.mean gave.
        "parse_rate": n_parsed / n_scored if n_scored else None,
        "tasks": {task: r.block for task, r in results.items()},
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
    progress: bool = False, workers: int | None = None,
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
                                      resize=qwen_resize(config["model"], conv),
                                      workers=workers)
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
