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
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vl4gaze.metrics import ambiguity as amb_metrics
from vl4gaze.metrics import description as desc_metrics
from vl4gaze.metrics import direction as dir_metrics
from vl4gaze.metrics import point as point_metrics
from vl4gaze.parse.ambiguity import parse_ambiguity
from vl4gaze.parse.conventions import (
    check_convention,
    convention_for_model,
    llava_view_of,
    qwen25vl_input_size,
    qwen_resize_of,
)
from vl4gaze.parse.direction import parse_direction_rule
from vl4gaze.parse.points import parse_point
from vl4gaze.schema import Prediction, QAItem, Task
from vl4gaze.tasks import registry

_BOOT_CHUNK = 2_000_000  # resampled indices held in memory at once


@dataclass
class ItemScore:
    """One scored answer: what was read, by which rule, and the per-item metric values."""

    item_id: str
    task: str
    raw: str
    parsed: Any
    rule: str | None
    correct: bool | None
    score: float | None
    error: str | None
    values: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The items.parquet row (``metrics``, the per-item values, goes to the samples
        log only)."""
        return {"item_id": self.item_id, "task": self.task, "raw": self.raw,
                "parsed": json.dumps(self.parsed), "rule": self.rule,
                "correct": self.correct, "score": self.score, "error": self.error,
                "metrics": self.values}


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


def _image_size(item: QAItem, convention: str) -> tuple[int, int]:
    """The size the question states; the parser derives a family's own input size
    (Qwen2.5-VL's resize) from it, so plain pixel answers use the stated size."""
    return (item.width, item.height)


def _score_item(
    item: QAItem, raw: str, *, error: str | None = None,
    heatmap: list[list[float]] | None = None, convention: str = "auto",
    resize: dict[str, int] | None = None,
) -> ItemScore:
    """Parse one answer and compute the item's own metric values (no embeddings, no CIDEr).

    ``resize``: the model's own Qwen2.5-VL resize settings (see :func:`qwen_resize`)."""
    task = str(item.task)
    t = item.target
    raw = raw or ""
    usable = error is None
    out = ItemScore(item.id, task, raw, None, None, None, None, error)
    if task == Task.POINT:
        gts = [tuple(p) for p in t.get("points") or []] or [tuple(t["mean"])]
        parsed = None
        if usable and heatmap is not None:
            hm = np.asarray(heatmap, dtype=float)
            parsed, out.rule = point_metrics.heatmap_to_point(hm), "heatmap"
            # The item's own dataset decides how AUC is computed (VAT, GOO, GazeFollow).
            out.values["auc"] = point_metrics.auc(
                hm, gts, item.width, item.height, point_metrics.auc_definition(item.source))
        elif usable:
            size = _image_size(item, convention)
            p = parse_point(raw, convention, size, hint=t.get("format"),
                            input_size=qwen25vl_input_size(*size, **resize)
                            if resize else None)
            if p is not None:
                parsed, out.rule = p.as_tuple(), p.rule
        if parsed is None:
            out.correct = False
            out.values.update({"acc@0.1": False, "acc@0.2": False})
            return out
        l2 = point_metrics.avg_l2(parsed, gts)
        eye = t.get("eye")
        out.parsed = [round(parsed[0], 6), round(parsed[1], 6)]
        out.correct, out.score = l2 <= 0.1, l2
        out.values.update({
            "avg_l2": l2, "min_l2": point_metrics.min_l2(parsed, gts),
            "acc@0.1": l2 <= 0.1, "acc@0.2": l2 <= 0.2,
            "angular_error": point_metrics.angular_error(parsed, gts, tuple(eye))
            if eye else None,
        })
    elif task == Task.DIRECTION:
        d = parse_direction_rule(raw) if usable else None
        gt = t["direction"]
        pred = d.direction if d else None
        out.parsed, out.rule = pred, d.rule if d else None
        out.correct = pred == gt
        out.score = float(out.correct)
        angle = t.get("angle_deg")
        out.values.update({
            "accuracy": out.correct,
            "adjacent_accuracy": dir_metrics.adjacent_correct(pred, gt),
            "angular_error": dir_metrics.angular_error(pred, angle) if angle is not None
            else None,
        })
    elif task == Task.OBJECT:
        text = raw.strip() if usable else ""
        label = t.get("label") or t.get("description") or ""
        out.parsed = text or None
        out.rule = "text" if text else None
        out.correct = bool(text) and desc_metrics.label_match(text, label, t.get("synonyms") or ())
        reference = t.get("description") or label
        out.values.update({
            "label_match": out.correct,
            "rouge_l": desc_metrics.rouge_l(text, reference) if text else 0.0,
        })
    elif task == Task.AMBIGUITY:
        a = parse_ambiguity(raw) if usable else None
        declines = bool(a and a.declines)
        out.parsed = {"declines": declines, "reason": a.reason if a else None}
        out.rule = a.rule if a else None
        out.correct = declines == bool(t.get("ambiguous"))
        out.score = float(out.correct)
        out.values.update({"declines": declines, "ambiguous": bool(t.get("ambiguous")),
                           "accuracy": out.correct})
    else:
        raise ValueError(f"item {item.id}: unknown task {task!r}")
    return out


def _is_parsed(s: ItemScore) -> bool:
    return s.error is None and s.parsed is not None


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
    if s.task == Task.OBJECT:
        reference = item.target.get("description") or item.target.get("label") or ""
        values["embedding_similarity"] = (
            float(desc_metrics.embedding_similarity([s.raw.strip()], [reference],
                                                    embedder)[0])
            if s.parsed else 0.0
        )
        values["cider"] = None
    if s.task == Task.AMBIGUITY:
        values["declines"] = s.values["declines"]
        values["ambiguous"] = s.values["ambiguous"]
        values["accuracy"] = s.values["accuracy"]
        return values
    for k, v in s.values.items():
        values[k] = float(v) if isinstance(v, bool | int | float) else v
    return values


def _percentiles(samples: np.ndarray) -> tuple[float | None, float | None]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None, None
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


class _Bootstrap:
    """Shared resamples of one task's items, drawn in chunks to bound memory."""

    def __init__(self, n: int, n_boot: int, rng: np.random.Generator) -> None:
        self.n, self.n_boot = n, n_boot
        per_chunk = max(1, _BOOT_CHUNK // max(n, 1))
        self.chunks = [rng.integers(0, n, size=(min(per_chunk, n_boot - s), n), dtype=np.int64)
                       for s in range(0, n_boot, per_chunk)] if n else []

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Bootstrap distribution of the mean of ``values`` ignoring NaN (excluded items)."""
        valid = np.isfinite(values)
        v = np.where(valid, values, 0.0)
        out = []
        for idx in self.chunks:
            with np.errstate(invalid="ignore", divide="ignore"):
                out.append(v[idx].sum(1) / valid[idx].sum(1))
        return np.concatenate(out) if out else np.zeros(0)

    def balanced(self, classes: np.ndarray, correct: np.ndarray) -> np.ndarray:
        """Bootstrap distribution of the balanced accuracy: the mean, over the true
        classes present in a resample, of the share of that class's items answered right."""
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


def balanced_accuracy(classes: Sequence[Any], correct: Sequence[bool]) -> float | None:
    """Mean over the true classes of the share of each class's items answered right.

    ``sklearn.metrics.balanced_accuracy_score`` on the items; a constant answer scores
    exactly 1 / (number of classes present). Higher is better.

    >>> balanced_accuracy(["down", "down", "down", "up"], [True, True, True, False])
    0.5
    """
    by: dict[Any, list[bool]] = {}
    for c, ok in zip(classes, correct, strict=True):
        by.setdefault(c, []).append(bool(ok))
    return float(np.mean([np.mean(v) for v in by.values()])) if by else None


def _metric(value: float | None, boots: np.ndarray, higher: bool, n: int) -> dict[str, Any]:
    lo, hi = _percentiles(boots) if value is not None else (None, None)
    return {"value": value, "ci_low": lo, "ci_high": hi, "higher_is_better": higher, "n": n}


def _mean_metric(values: Sequence[Any], boot: _Bootstrap, higher: bool
                 ) -> tuple[dict[str, Any], np.ndarray]:
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    valid = np.isfinite(arr)
    value = float(arr[valid].mean()) if valid.any() else None
    boots = boot.mean(arr)
    return _metric(value, boots, higher, int(valid.sum())), boots


def _aggregate_task(
    task: str, scores: list[ItemScore], items: Mapping[str, QAItem], boot: _Bootstrap,
    embedder: Any,
) -> tuple[dict[str, Any], np.ndarray]:
    """One task's block of scores.json, and the bootstrap samples of its headline metric."""
    n = len(scores)
    parsed = [_is_parsed(s) for s in scores]
    block: dict[str, Any] = {"n": n, "parse_rate": float(np.mean(parsed)) if n else None,
                             "n_errors": sum(s.error is not None for s in scores),
                             "metrics": {}}
    samples: dict[str, np.ndarray] = {}
    m = block["metrics"]

    def add(name: str, values: Sequence[Any], higher: bool) -> None:
        m[name], samples[name] = _mean_metric(values, boot, higher)

    if task == Task.POINT:
        for name in ("avg_l2", "min_l2", "acc@0.1", "acc@0.2", "angular_error"):
            add(name, [s.values.get(name) for s in scores],
                point_metrics.HIGHER_IS_BETTER[name])
        _add_auc(block, scores, items, add)
    elif task == Task.DIRECTION:
        for name in ("accuracy", "adjacent_accuracy", "angular_error"):
            add(name, [s.values.get(name) for s in scores], dir_metrics.HIGHER_IS_BETTER[name])
        truth = [items[s.item_id].target["direction"] for s in scores]
        _add_balanced(m, samples, boot, truth, [bool(s.correct) for s in scores])
        conf = dir_metrics.confusion_matrix(
            [s.parsed for s in scores], [items[s.item_id].target["direction"] for s in scores])
        block["confusion"] = {"rows": "true", "columns": "predicted (last: unparsed)",
                              "matrix": conf.tolist()}
    elif task == Task.OBJECT:
        refs = [items[s.item_id].target.get("description")
                or items[s.item_id].target.get("label") or "" for s in scores]
        answers = [s.parsed or "" for s in scores]
        todo = [i for i, s in enumerate(scores) if s.parsed]
        sims = np.zeros(n)
        if todo:
            sims[todo] = desc_metrics.embedding_similarity(
                [answers[i] for i in todo], [refs[i] for i in todo], embedder)
        cider = desc_metrics.cider(answers, [[r] for r in refs]) if n else np.zeros(0)
        cider[[i for i, s in enumerate(scores) if not s.parsed]] = 0.0
        for i, s in enumerate(scores):
            s.values["embedding_similarity"] = float(sims[i])
            s.values["cider"] = float(cider[i])
            s.score = float(sims[i])
        for name in ("label_match", "embedding_similarity", "rouge_l", "cider"):
            add(name, [s.values.get(name) for s in scores], True)
    elif task == Task.AMBIGUITY:
        y_true = np.array([s.values["ambiguous"] for s in scores], dtype=bool)
        y_pred = np.array([s.values["declines"] for s in scores], dtype=bool)
        values = amb_metrics.binary_scores(y_true, y_pred)
        boots = boot.binary(y_true, y_pred)
        for name, value in values.items():
            samples[name] = boots.get(name, np.zeros(0))
            m[name] = _metric(float(value), samples[name], True, n)
        _add_balanced(m, samples, boot, list(y_true), list(y_true == y_pred))
        targets = [items[s.item_id].target for s in scores]
        block["per_reason"] = amb_metrics.per_reason(
            [t.get("reason") for t in targets], list(y_pred),
            [s.parsed["reason"] if s.parsed else None for s in scores])
    return block, samples.get(registry.get(task).headline, np.zeros(0))


def _add_auc(block: dict[str, Any], scores: list[ItemScore], items: Mapping[str, QAItem],
             add: Callable[[str, Sequence[Any], bool], None]) -> None:
    """The point block's ``auc`` (each item under its source's definition) and
    ``auc_definition``: which definition each source used and what it computes. With
    more than one definition present, ``auc:<definition>`` gives each one's mean too."""
    scored = [s for s in scores if "auc" in s.values]
    if not scored:
        return
    add("auc", [s.values.get("auc") for s in scores], True)
    by_source = {src: point_metrics.auc_definition(src)
                 for src in sorted({items[s.item_id].source for s in scored})}
    used = sorted(set(by_source.values()))
    block["auc_definition"] = {"by_source": by_source,
                               "definitions": {d: point_metrics.AUC_DEFINITIONS[d]
                                               for d in used}}
    if len(used) > 1:
        for d in used:
            add(f"auc:{d}", [s.values.get("auc") if by_source.get(items[s.item_id].source) == d
                             else None for s in scores], True)


def _add_balanced(m: dict[str, Any], samples: dict[str, np.ndarray], boot: _Bootstrap,
                  classes: list[Any], correct: list[bool]) -> None:
    codes = {c: i for i, c in enumerate(sorted(set(map(str, classes))))}
    coded = np.array([codes[str(c)] for c in classes], dtype=np.int64)
    samples["balanced_accuracy"] = boot.balanced(coded, np.array(correct, dtype=bool))
    m["balanced_accuracy"] = _metric(balanced_accuracy(classes, correct),
                                     samples["balanced_accuracy"], True, len(classes))


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
    """
    check_convention(convention)
    by_id = {it.id: it for it in items}
    preds = dict(predictions) if isinstance(predictions, Mapping) else {
        p.item_id: p for p in predictions}
    unknown = sorted(set(preds) - set(by_id))
    if unknown:
        raise ValueError(f"{len(unknown)} predictions name items not in the benchmark, "
                         f"e.g. item_id={unknown[0]!r}")
    scored_ids = [i for i in by_id if i in preds]
    iterator: Iterable[str] = scored_ids
    if progress:
        from rich.progress import track

        iterator = track(scored_ids, description="parsing answers", transient=True)
    scores = [_score_item(by_id[i], preds[i].raw, error=preds[i].error, resize=resize,
                          heatmap=preds[i].heatmap, convention=convention) for i in iterator]
    rng = np.random.default_rng(seed)
    tasks: dict[str, Any] = {}
    headline: dict[str, tuple[float | None, np.ndarray]] = {}
    for task in registry.task_names():
        group = [s for s in scores if s.task == task]
        if not group:
            continue
        boot = _Bootstrap(len(group), n_boot, rng)
        block, samples = _aggregate_task(task, group, by_id, boot, embedder)
        tasks[task] = block
        headline[task] = (block["metrics"][registry.get(task).headline]["value"], samples)
    summary = {
        "n_items": len(scores),
        "n_missing": len(by_id) - len(scores),
        "seed": seed,
        "n_boot": n_boot,
        "convention": convention,
        **({"qwen_resize": resize} if resize else {}),
        "parse_rate": float(np.mean([_is_parsed(s) for s in scores])) if scores else None,
        "tasks": tasks,
        "overall": _overall(headline),
    }
    return summary, [s.row() for s in scores]


def _overall(headline: dict[str, tuple[float | None, np.ndarray]]) -> dict[str, Any]:
    vals = {t: v for t, (v, _) in headline.items() if v is not None}
    if not vals:
        return {"metrics": {}}
    value = float(np.mean(list(vals.values())))
    sizes = {len(s) for t, (_, s) in headline.items() if t in vals}
    boots = (np.mean([headline[t][1] for t in vals], axis=0) if len(sizes) == 1
             else np.zeros(0))
    return {"headline": {t: registry.get(t).headline for t in vals},
            "metrics": {"mean_headline": _metric(value, boots, True, len(vals))}}


def score_run(
    run: Path, *, n_boot: int = 1000, embedder: Any = None, convention: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score a run directory: writes ``RUN/scores.json`` (with its ``provenance``),
    ``RUN/items.parquet`` and the samples log ``RUN/samples.jsonl``, each atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vl4gaze.build import load_benchmark
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
    tmp = run / f"items.parquet.{os.getpid()}.tmp"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    os.replace(tmp, run / "items.parquet")
    _write_atomic(run / "samples.jsonl", samples_log(items, predictions, rows))
    _write_atomic(run / "scores.json", json.dumps(_jsonable(scores), indent=2) + "\n")
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


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``, so
    a killed process leaves the old file or the new one, never half of one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


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
