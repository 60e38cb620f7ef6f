"""Read RUN directories (config.json, scores.json, items.parquet) for the report.

A report compares several runs side by side, so each run gets a short, unique label
(model spec, path shortened, plus the number of shots). The per-item rows hold the
scorer's ``parsed`` value as its task's typed answer (``registry.parsed_of``: a point's
``x``, ``y``, a direction's class...), read once here; a value of another shape is a
RunError naming the row, not a figure that silently drops it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import ValidationError

from vl4gaze.schema import QAItem
from vl4gaze.tasks import registry

ITEM_COLUMNS = ("item_id", "task", "raw", "parsed", "rule", "correct", "score", "error")


class RunError(ValueError):
    """A run directory that does not follow docs/CONTRACTS.md; the message names file and field."""


@dataclass
class Run:
    """One evaluated run: what was asked of which model, its scores and per-item results."""

    path: Path
    label: str
    config: dict[str, Any]
    scores: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.config.get("model") or self.scores.get("model") or self.path.name)

    @property
    def bench(self) -> Path | None:
        bench = self.config.get("bench") or self.scores.get("bench")
        return Path(bench) if bench else None

    @property
    def is_oracle(self) -> bool:
        """The oracle answers with the ground truth; it is never 'best' in a table."""
        return self.model.endswith("oracle")

    def task_scores(self, task: str) -> dict[str, Any] | None:
        return self.scores.get("tasks", {}).get(task)

    def metric(self, task: str, name: str) -> dict[str, Any] | None:
        scores = self.task_scores(task)
        return None if scores is None else scores.get("metrics", {}).get(name)

    def rows_by_id(self) -> dict[str, dict[str, Any]]:
        return {row["item_id"]: row for row in self.rows}


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RunError(f"{path}: missing (run `vl4gaze score {path.parent}` first?)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object at the top level")
    return data


def _check_scores(path: Path, scores: dict[str, Any]) -> None:
    tasks = scores.get("tasks")
    if not isinstance(tasks, dict):
        raise RunError(f"{path}: field 'tasks' must be an object of task -> scores")
    for task, body in tasks.items():
        where = f"{path}: tasks.{task}"
        if not isinstance(body, dict) or not isinstance(body.get("metrics"), dict):
            raise RunError(f"{where}: field 'metrics' must be an object")
        for name, metric in body["metrics"].items():
            if not isinstance(metric, dict) or "value" not in metric:
                raise RunError(f"{where}.metrics.{name}: field 'value' is missing")


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise RunError(f"{path}: missing (run `vl4gaze score {path.parent}` first?)")
    table = pq.read_table(path)
    missing = [c for c in ("item_id", "task", "raw", "parsed", "correct") if c not in
               table.column_names]
    if missing:
        raise RunError(f"{path}: missing column(s) {', '.join(missing)}")
    rows = table.to_pylist()
    known = set(registry.task_names())
    for i, row in enumerate(rows):
        for column in ITEM_COLUMNS:
            row.setdefault(column, None)
        text = row["parsed"]
        try:
            value = json.loads(text) if isinstance(text, str) and text else None
        except json.JSONDecodeError as exc:
            raise RunError(f"{path}: row {i}: field 'parsed' is not JSON: {exc.msg}") from exc
        try:  # a task this install does not know keeps the plain JSON value
            row["parsed"] = registry.parsed_of(row["task"], value) if row["task"] in known \
                else value
        except ValueError as exc:
            why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise RunError(f"{path}: row {i}: field 'parsed' {text!r} is not a "
                           f"{row['task']} answer: {why}") from exc
    return rows


def short_model_name(spec: str) -> str:
    """``hf:/long/path/to/ckpt`` -> ``hf:ckpt``: paths make unreadable plot labels."""
    kind, sep, rest = spec.partition(":")
    if sep and ("/" in rest or "\\" in rest) and Path(rest).name:
        return f"{kind}:{Path(rest).name}"
    return spec


def load_run(path: Path) -> Run:
    """Read one RUN directory; raise RunError naming the file and field that is wrong."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: not a run directory")
    config_path = path / "config.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    scores = _read_json(path / "scores.json")
    _check_scores(path / "scores.json", scores)
    rows = _read_rows(path / "items.parquet")
    run = Run(path=path, label="", config=config, scores=scores, rows=rows)
    shots = int(config.get("shots") or 0)
    run.label = short_model_name(run.model) + (f" {shots}-shot" if shots else "")
    return run


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """Read several runs and make their labels unique (the run directory breaks ties)."""
    if not paths:
        raise RunError("no run directories given")
    runs = [load_run(Path(p)) for p in paths]
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.label] = counts.get(run.label, 0) + 1
    for run in runs:
        if counts[run.label] > 1:
            run.label = f"{run.label} ({run.path.name})"
    return runs


def load_bench_items(bench: Path) -> dict[str, QAItem]:
    """All items of a benchmark by id (the report needs targets and images)."""
    from vl4gaze.build import load_benchmark

    return {item.id: item for item in load_benchmark(Path(bench))}


def tasks_present(runs: Sequence[Run]) -> list[str]:
    """Tasks any run scored, in the paper's order (unknown tasks go last, sorted)."""
    seen = {task for run in runs for task in run.scores.get("tasks", {})}
    order = registry.task_names()
    return [t for t in order if t in seen] + sorted(seen - set(order))


def item_ids(run: Run) -> dict[str, set[str]]:
    """The item ids a run answered, per task (from its items.parquet)."""
    ids: dict[str, set[str]] = {}
    for row in run.rows:
        ids.setdefault(str(row["task"]), set()).add(str(row["item_id"]))
    return ids


def coverage_warnings(runs: Sequence[Run]) -> list[str]:
    """One line per task whose runs answered different item sets.

    Numbers over different items do not compare (157 items against 20 is another test),
    so the report says so wherever it shows the table. A run without a task is left out
    of that task's comparison: the table shows it as n/a.
    """
    per_run = [item_ids(run) for run in runs]
    tasks = [t for t in registry.task_names() if any(t in ids for ids in per_run)]
    tasks += sorted({t for ids in per_run for t in ids} - set(tasks))
    lines = []
    for task in tasks:
        sets = [(run, ids[task]) for run, ids in zip(runs, per_run, strict=True) if task in ids]
        if len(sets) < 2 or all(s == sets[0][1] for _, s in sets):
            continue
        common = set.intersection(*(s for _, s in sets))
        counts = ", ".join(f"{run.label} {len(s)}" for run, s in sets)
        lines.append(f"{task}: the runs answered different items ({counts}; "
                     f"{len(common)} in common); their numbers do not compare directly")
    return lines
