"""Ask a model every question of a benchmark, resumably: the prediction log of a run.

A run directory holds ``config.json`` and an append-only ``predictions.jsonl`` (one
``Prediction`` per line; ``predictions.shard-<i>-of-<n>.jsonl`` when sharded). Each batch
is written with one ``write`` then flushed, so a process killed at any point (kill -9
included) loses at most the batch in flight; the log is fsynced at most once a second and
after the last batch (an fsync per batch cost 2.7 ms an item at batch 1, issue 20), so a
machine crash loses at most the last second's answers. Rerunning the same command reads
every prediction file of the run, drops a torn last line, and asks only the items not
yet answered. An item whose prompt or generation fails is logged with its ``error`` and
the run goes on; a batch that raises is retried item by item to find the culprit.

A run is bound to the benchmark content it answers (the manifest's ``content_hash``,
kept as ``bench_hash`` in config.json): a rebuilt benchmark is refused instead of being
mixed into the old answers. Another ``--tasks`` / ``--limit`` extends the run: config.json
keeps every selection made (``selections``) and the run holds the items of all of them.
``retry_errors`` asks errored items again; the log stays append-only, the newer line
of an item wins (its ``attempt`` counts the tries).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from vl4gaze.models.base import (
    FatalBackendError,
    HeatmapModel,
    Model,
    PartialBatchError,
    Request,
)
from vl4gaze.prompting import ShotSampler, build_messages, prompt_config, read_manifest
from vl4gaze.run_config import RunConfig, parse_shard  # noqa: F401 (parse_shard: re-export)
from vl4gaze.schema import Prediction, QAItem

PREDICTIONS = "predictions.jsonl"
_SHARD_FILE = re.compile(r"^predictions\.shard-(\d+)-of-(\d+)\.jsonl$")
#: Longest time between two fsyncs of the prediction log while a run goes on.
FSYNC_EVERY_S = 1.0
#: config.json fields that must match when a run is resumed (they shape each prediction);
#: ``tasks`` and ``limit`` may change, which extends (or narrows) the run.
IDENTITY_FIELDS = ("bench", "bench_hash", "model", "shots", "prompt_config", "seed",
                   "max_new_tokens")


@dataclass(frozen=True)
class RunResult:
    """What one call of :func:`run_inference` did."""

    run: Path
    predictions: Path
    total: int  # items in this shard
    skipped: int  # already answered before this call
    answered: int  # answered by this call
    errors: int  # of those, how many carry an error


def predictions_path(run: Path, shard: tuple[int, int] = (0, 1)) -> Path:
    index, count = shard
    name = PREDICTIONS if count == 1 else f"predictions.shard-{index}-of-{count}.jsonl"
    return Path(run) / name


def prediction_files(run: Path) -> list[Path]:
    """Every prediction file of a run: the unsharded log and all shard logs."""
    run = Path(run)
    files = [run / PREDICTIONS] if (run / PREDICTIONS).exists() else []
    if run.is_dir():
        files += sorted(p for p in run.iterdir() if _SHARD_FILE.match(p.name))
    return files


def read_prediction_file(path: Path) -> list[Prediction]:
    """The predictions of one log; a torn (unterminated, unparsable) last line is ignored."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(Prediction.from_json(line))
        except ValueError as err:
            if number == len(lines):  # no newline after it: a write cut short
                continue
            raise ValueError(f"{path}: line {number}: not a Prediction ({err})") from err
    return out


def read_predictions(run: Path) -> dict[str, Prediction]:
    """All predictions of a run by item id, across shard files; an item answered more
    than once (``--retry-errors``) keeps its last line."""
    seen: dict[str, Prediction] = {}
    for path in prediction_files(run):
        for pred in read_prediction_file(path):
            seen[pred.item_id] = pred
    return seen


def repair_tail(path: Path) -> None:
    """Make a log end at a line boundary: drop a torn last line, or close a whole one."""
    if not path.exists():
        return
    with path.open("r+b") as f:
        size = f.seek(0, os.SEEK_END)
        back = 0
        tail = b""
        while back < size:  # read backwards until the last newline
            step = min(1 << 16, size - back)
            back += step
            f.seek(size - back)
            tail = f.read(step) + tail
            if b"\n" in tail:
                break
        if not tail or tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n") + 1
        try:
            Prediction.from_json(tail[cut:])
        except ValueError:
            f.truncate(size - len(tail) + cut)
        else:
            f.seek(0, os.SEEK_END)
            f.write(b"\n")
        f.flush()
        os.fsync(f.fileno())


def select_items(
    items: Iterable[QAItem],
    *,
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    shard: tuple[int, int] = (0, 1),
) -> list[QAItem]:
    """The run's items in benchmark order: chosen tasks, at most ``limit`` per task, one shard."""
    wanted = {str(t) for t in tasks} if tasks else None
    per_task: dict[str, int] = defaultdict(int)
    chosen = []
    for item in items:
        task = str(item.task)
        if wanted is not None and task not in wanted:
            continue
        if limit is not None and per_task[task] >= limit:
            continue
        per_task[task] += 1
        chosen.append(item)
    index, count = shard
    return chosen[index::count]


def run_selections(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (tasks, limit) selection a run was asked with, oldest first."""
    return config.get("selections") or [{"tasks": config.get("tasks"),
                                          "limit": config.get("limit")}]


def run_items(items: Sequence[QAItem], config: dict[str, Any]) -> list[QAItem]:
    """The items a run holds: those of any of its selections, in benchmark order."""
    wanted: set[str] = set()
    for sel in run_selections(config):
        wanted.update(it.id for it in select_items(items, tasks=sel["tasks"],
                                                   limit=sel["limit"]))
    return [it for it in items if it.id in wanted]


def write_config(run: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Write config.json atomically; refuse to mix a different run into an existing dir.

    A run that already has answers keeps its earlier selections: a new ``tasks`` /
    ``limit`` is added to ``selections`` (the run grows), never replaces them. Returns
    the config as written.
    """
    path = Path(run) / "config.json"
    config = dict(config)
    selection = {"tasks": config.get("tasks"), "limit": config.get("limit")}
    selections = [selection]
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError as err:
            raise ValueError(f"{path}: not valid JSON ({err}); is {run} a run directory?"
                             ) from err
        has_answers = bool(prediction_files(run))
        diff = [k for k in IDENTITY_FIELDS if k in old and old.get(k) != config.get(k)]
        if diff and has_answers:
            field = diff[0]
            if field == "bench_hash":
                raise ValueError(
                    f"{path}: the benchmark {config.get('bench')} changed since this run "
                    f"started (content hash {str(old.get(field))[:12]}... now "
                    f"{str(config.get(field))[:12]}...); its answers belong to the old "
                    "items: use another -o directory")
            raise ValueError(
                f"{path}: field {field!r} is {old.get(field)!r} but this run has "
                f"{config.get(field)!r}; use another -o directory to start a new run"
            )
        if has_answers:
            selections = run_selections(old)
            if selection not in selections:
                selections = [*selections, selection]
    config["selections"] = selections
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return config


def bench_hash(bench: Path) -> str | None:
    """The benchmark's content hash from its manifest (None for a folder without one)."""
    return read_manifest(Path(bench)).get("content_hash")


def _generate(model: Model, requests: list[Request], max_new_tokens: int
              ) -> list[tuple[str, str | None]]:
    """(answer, error) per request; a failing batch is split to blame single items."""
    try:
        answers = model.generate(requests, max_new_tokens)
        if len(answers) != len(requests):
            raise RuntimeError(f"{model.name} returned {len(answers)} answers "
                               f"for {len(requests)} requests")
        return [(str(a), None) for a in answers]
    except FatalBackendError:
        raise
    except PartialBatchError as err:
        if len(err.results) == len(requests):
            return [(r, None) if isinstance(r, str) else ("", _describe(r)) for r in err.results]
        return [r for req in requests for r in _generate(model, [req], max_new_tokens)]
    except Exception as err:
        if len(requests) == 1:
            return [("", _describe(err))]
        return [r for req in requests for r in _generate(model, [req], max_new_tokens)]


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _heatmaps(model: Model, requests: list[Request]) -> list[list[list[float]] | None]:
    if not isinstance(model, HeatmapModel):
        return [None] * len(requests)
    try:
        return [h.tolist() for h in model.heatmaps(requests)]
    except Exception:  # heatmaps are extra: the text answers still count
        return [None] * len(requests)


def item_messages(item: QAItem, bench: Path, sampler: ShotSampler | None) -> list[dict[str, Any]]:
    """The chat messages of one item, with its in-context examples (every executor)."""
    return build_messages(item, bench, shots=sampler.shots_for(item) if sampler else [])


def prompt_error(err: BaseException) -> str:
    """The ``error`` of an item whose prompt could not be built."""
    return f"prompt: {type(err).__name__}: {err}"


def predict_batch(
    model: Model,
    model_spec: str,
    batch: Sequence[QAItem],
    bench: Path,
    *,
    prompt_hash: str,
    sampler: ShotSampler | None = None,
    max_new_tokens: int | None = None,
    attempts: dict[str, int] | None = None,
) -> list[Prediction]:
    """Predictions for one batch: prompt failures and generation failures become errors.

    ``max_new_tokens``: every item's answer budget; None gives each item its task's own
    (``TaskSpec.max_new_tokens``), the batch then goes to the model in one call per
    budget, so an answer never depends on which other tasks share its batch.
    ``attempts`` numbers the tries of items asked again (``--retry-errors``)."""
    from vl4gaze.tasks.registry import token_limit

    requests: list[Request] = []
    slots: list[int] = []
    results: list[Prediction | None] = [None] * len(batch)
    attempts = attempts or {}
    for i, item in enumerate(batch):
        try:
            requests.append(Request(item_messages(item, bench, sampler), item))
            slots.append(i)
        except Exception as err:
            results[i] = Prediction(item.id, model_spec, prompt_hash, "",
                                    error=prompt_error(err), attempt=attempts.get(item.id, 1))
    groups: dict[int, list[int]] = {}  # budget -> positions in requests, in batch order
    for n, slot in enumerate(slots):
        groups.setdefault(token_limit(batch[slot].task, max_new_tokens), []).append(n)
    for limit, members in groups.items():
        part = [requests[n] for n in members]
        start = time.perf_counter()
        answers = _generate(model, part, limit)
        heatmaps = _heatmaps(model, part)
        latency = (time.perf_counter() - start) / len(part)
        for slot, (raw, error), heatmap in zip([slots[n] for n in members], answers, heatmaps,
                                               strict=True):
            results[slot] = Prediction(batch[slot].id, model_spec, prompt_hash, raw,
                                       latency_s=round(latency, 6), error=error,
                                       heatmap=heatmap,
                                       attempt=attempts.get(batch[slot].id, 1))
    return [r for r in results if r is not None]


def _load_split(bench: Path, split: str) -> list[QAItem]:
    from vl4gaze.build import load_benchmark

    return load_benchmark(bench, split)


@dataclass(frozen=True)
class RunPlan:
    """A run directory made ready: config written, the items still to answer chosen."""

    bench: Path
    run: Path
    config: RunConfig
    prompt_hash: str
    todo_all: list[QAItem]  # this shard's items
    todo: list[QAItem]  # of those, the ones not answered yet (or errored, when retrying)
    out_path: Path  # the prediction log this shard appends to
    attempts: dict[str, int]  # item id -> the try number its next answer gets (retries)


def prepare_run(bench: Path, run: Path, config: RunConfig, *,
                items: Sequence[QAItem] | None = None) -> RunPlan:
    """Write (or check) ``config.json`` and find what is left to answer.

    Shared by every executor (local, Ray), so that a run may switch executors and resume.
    Everything that can be refused (the record's fields, a changed benchmark) is checked
    before anything is written.
    """
    bench, run = Path(bench).resolve(), Path(run)
    if items is None and not (bench / "data").is_dir():
        raise FileNotFoundError(f"{bench}: not a benchmark directory (no data/ folder)")
    from vl4gaze.tasks.registry import token_limits

    run.mkdir(parents=True, exist_ok=True)
    prompt_hash = prompt_config(bench, shots=config.shots, seed=config.seed)
    test_items = items if items is not None else _load_split(bench, "test")
    # The budget of the tasks this benchmark holds (one number for the paper's four).
    budget = token_limits(config.max_new_tokens, {it.task for it in test_items})
    write_config(run, config.record(bench=bench, bench_hash=bench_hash(bench),
                                    prompt_config=prompt_hash, max_new_tokens=budget))
    todo_all = select_items(test_items, tasks=config.tasks, limit=config.limit,
                            shard=config.shard)
    out_path = predictions_path(run, config.shard)
    repair_tail(out_path)
    done = read_predictions(run)
    todo = [item for item in todo_all if item.id not in done
            or (config.retry_errors and done[item.id].error is not None)]
    attempts = {item.id: done[item.id].attempt + 1 for item in todo if item.id in done}
    return RunPlan(bench, run, config, prompt_hash, todo_all, todo, out_path, attempts)


@dataclass
class Answerer:
    """One model ready to answer batches of items (built once per executor replica)."""

    model: Model
    model_spec: str
    bench: Path
    prompt_hash: str
    sampler: ShotSampler | None
    max_new_tokens: int | None  # None: each task's own

    def __call__(self, batch: list[QAItem]) -> list[Prediction]:
        return predict_batch(self.model, self.model_spec, batch, self.bench,
                             prompt_hash=self.prompt_hash, sampler=self.sampler,
                             max_new_tokens=self.max_new_tokens)


def make_answerer(bench: Path, config: RunConfig, prompt_hash: str, model: Model | None = None,
                  train_items: Sequence[QAItem] | None = None) -> Answerer:
    """Load the model (unless given) and the shot pool: what answering needs."""
    if model is None:
        from vl4gaze.models import load_model

        model = load_model(config.model, bench=bench, seed=config.seed, **config.model_options)
    return Answerer(model, config.model, bench, prompt_hash,
                    shot_sampler(bench, config, train_items), config.max_new_tokens)


def shot_sampler(bench: Path, config: RunConfig, train_items: Sequence[QAItem] | None = None
                 ) -> ShotSampler | None:
    """The in-context examples of a k-shot run (every executor): drawn from
    ``train_items``, else the benchmark's train split; None for zero-shot."""
    if not config.shots:
        return None
    pool = train_items if train_items is not None else _load_split(bench, "train")
    return ShotSampler(list(pool), config.shots, config.seed)


class PredictionLog:
    """The append-only log of one shard, written by the driver whatever the executor.

    Each batch is one ``write``, flushed at once (a killed process keeps every batch
    written) and fsynced at most every ``FSYNC_EVERY_S`` and on close (a machine crash
    loses at most the last second). An item this call did not ask for, or already wrote
    (a Ray task retried), is not written again; ``attempt`` is set here from the plan
    (``--retry-errors``)."""

    def __init__(self, plan: RunPlan) -> None:
        self.path = plan.out_path
        self.attempts = plan.attempts
        self.wanted = {item.id for item in plan.todo}
        self.written: set[str] = set()
        self.answered = self.errors = 0

    def __enter__(self) -> PredictionLog:
        self._file = self.path.open("ab")
        self._synced = time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def write(self, preds: Iterable[Prediction]) -> None:
        new = []
        for pred in preds:
            if pred.item_id in self.wanted and pred.item_id not in self.written:
                self.written.add(pred.item_id)
                attempt = self.attempts.get(pred.item_id, 1)
                new.append(pred if pred.attempt == attempt
                           else dataclasses.replace(pred, attempt=attempt))
        if not new:
            return
        self._file.write("".join(p.to_json() + "\n" for p in new).encode())
        self._file.flush()
        if time.monotonic() - self._synced >= FSYNC_EVERY_S:
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()
        self.answered += len(new)
        self.errors += sum(p.error is not None for p in new)


def run_inference(
    bench: Path,
    run: Path,
    config: RunConfig,
    *,
    model: Model | None = None,
    items: Sequence[QAItem] | None = None,
    train_items: Sequence[QAItem] | None = None,
    console: Console | None = None,
) -> RunResult:
    """Answer the benchmark's test items into ``run`` (resuming what is there).

    ``config.model_options`` go to :func:`vl4gaze.models.load_model` and are recorded in
    config.json: pass secrets only by environment-variable NAME (``api_key_env``).
    ``model`` is a ready Model (local executor only); ``items`` / ``train_items`` replace
    reading the benchmark (tests, notebooks). ``config.executor`` says where the batches
    run (:mod:`vl4gaze.executor`); the log is written here either way.
    ``config.max_new_tokens`` None: each task's own answer budget (64 for the built-in
    tasks).
    """
    if model is not None and config.executor != "local":
        raise ValueError(f"executor {config.executor!r} loads the model in each replica: "
                         "pass the model spec, not a model object")
    plan = prepare_run(bench, run, config, items=items)
    skipped = len(plan.todo_all) - len(plan.todo)
    with PredictionLog(plan) as log:
        for preds in _answers(plan, model, train_items, console):
            log.write(preds)
    return RunResult(plan.run, plan.out_path, len(plan.todo_all), skipped, log.answered,
                     log.errors)


def _answers(plan: RunPlan, model: Model | None, train_items: Sequence[QAItem] | None,
             console: Console | None) -> Iterator[list[Prediction]]:
    """Batches of predictions for ``plan.todo`` from the config's executor."""
    config = plan.config
    if not plan.todo:
        return iter(())
    from vl4gaze.executor import get_executor

    executor = get_executor(config.executor, replicas=config.replicas,
                            gpus_per_replica=config.gpus_per_replica,
                            cpus_per_replica=config.cpus_per_replica)
    if executor.name == "ray" and config.model.startswith("vllm:") and config.use_ray_llm:
        from vl4gaze.scale import ray_llm_available, vllm_answers

        if ray_llm_available():
            return vllm_answers(plan, train_items, console)
    make_fn = partial(make_answerer, plan.bench, config, plan.prompt_hash, model,
                      None if train_items is None else list(train_items))
    return executor.map_batches(
        make_fn, plan.todo, batch_size=config.batch_size, label=f"eval {config.model}",
        progress=config.progress, console=console, per_replica=True,
        gpus_per_model=int(config.model_options.get("tensor_parallel_size", 1)))
