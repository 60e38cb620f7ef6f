"""Ray Data execution of build, annotate and eval, with the same outputs as the local executor.

Why each stage is split the way it is:

- eval: the driver computes the run's items exactly as :func:`vl4gaze.infer.run_inference`
  does (same ``config.json``, same resume skip), a Ray Dataset of item JSON goes through an
  actor pool of model replicas (each loads the model once and calls
  :func:`vl4gaze.infer.predict_batch`), and the driver appends every result batch to the same
  ``predictions.jsonl`` with flush + fsync. A killed Ray job therefore resumes like a local
  one: nothing answered is lost (it is on disk), nothing is asked twice (the resume skip,
  and a per-run id set on the driver). ``vllm:`` specs go through Ray Data LLM
  (``ray.data.llm``) when it imports, else through the same actor pool.
- build: item generation is a cheap single pass on the driver (seconds for GazeFollow), and
  it must stay one ordered pass for the Parquet to be byte-identical. The costly part is
  I/O: reading several sources (one Ray task per source, consumed in order) and rendering
  the image plan (Ray Data tasks over ``image_plan.parquet``).
- annotate: each sample is annotated on its own, so batches of samples map through workers
  (tasks for the box rule, actors holding the VLM for ``vlm:SPEC``); the driver keeps the
  order, re-derives the report and writes the same files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vl4gaze.schema import Box, GazeSample, Prediction, QAItem

EXECUTORS = ("local", "ray")
INSTALL_HINT = "Ray is not installed: pip install 'vl4gaze[scale]' (ray[data] >= 2.40)"
#: ``Dataset`` blocks per replica: enough to keep every replica busy and the driver's
#: writes steady, few enough that scheduling stays cheap.
_BLOCKS_PER_REPLICA = 8


# -- Ray itself -------------------------------------------------------------------------

def _ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    return ray


def init_ray(address: str | None = None, **options: Any) -> Any:
    """Connect to Ray once (``address``, else ``RAY_ADDRESS``, else a local instance).

    ``options`` go to ``ray.init`` (``num_cpus``, ``object_store_memory``...). Ray Data's
    own progress bars are turned off: the driver shows one rich bar per stage.
    """
    ray = _ray()
    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        options.setdefault("include_dashboard", False)
        options.setdefault("log_to_driver", False)
        ray.init(address=address or os.environ.get("RAY_ADDRESS"), **options)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def check_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise ValueError(f"executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    return executor


def annotate_with(executor: str, *, replicas: int = 1) -> Any:
    """The ``annotate_fn`` for :func:`vl4gaze.annotate.run_annotate` (None: local)."""
    if check_executor(executor) == "local":
        return None
    _ray()  # a clear message now rather than after reading every source
    return partial(annotate_samples_ray, replicas=replicas)


def _gpus_per_replica(ray: Any, requested: float | None, per_model: int = 1) -> float:
    """``per_model`` GPUs per replica (tensor parallel) when the cluster has GPUs."""
    if requested is not None:
        return requested
    return float(per_model) if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


def _blocks(n: int, replicas: int, batch_size: int) -> int:
    return max(1, min(-(-n // batch_size), replicas * _BLOCKS_PER_REPLICA))


def _bar(enabled: bool, label: str, total: int, console: Console | None = None) -> Progress:
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console or Console(stderr=True),
                    disable=not enabled, transient=True)


# -- eval -------------------------------------------------------------------------------

class _Predictor:
    """One model replica: loads the model once, answers batches of item JSON."""

    def __init__(self, bench: str, model_spec: str, options: dict[str, Any], seed: int,
                 shots: int, train_items: list[str] | None, prompt_hash: str,
                 max_new_tokens: int | None) -> None:
        from vl4gaze.models import load_model
        from vl4gaze.prompting import ShotSampler

        self.bench = Path(bench)
        self.spec = model_spec
        self.prompt_hash = prompt_hash
        self.max_new_tokens = max_new_tokens
        self.model = load_model(model_spec, bench=self.bench, seed=seed, **options)
        self.sampler = None
        if shots:
            if train_items is None:
                from vl4gaze.build import load_benchmark

                pool = load_benchmark(self.bench, "train")
            else:
                pool = [QAItem.from_json(t) for t in train_items]
            self.sampler = ShotSampler(pool, shots, seed)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        from vl4gaze.infer import predict_batch
        from vl4gaze.models.base import FatalBackendError

        items = [QAItem.from_json(t) for t in batch["item"]]
        try:
            preds = predict_batch(self.model, self.spec, items, self.bench,
                                  prompt_hash=self.prompt_hash, sampler=self.sampler,
                                  max_new_tokens=self.max_new_tokens)
        except FatalBackendError as err:  # the driver stops the run with this message
            return {"prediction": [""], "fatal": [str(err)]}
        return {"prediction": [p.to_json() for p in preds], "fatal": [""] * len(preds)}


def run_inference_ray(
    bench: Path,
    model_spec: str,
    run: Path,
    *,
    model_options: dict[str, Any] | None = None,
    shots: int = 0,
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 8,
    max_new_tokens: int | None = None,
    shard: tuple[int, int] = (0, 1),
    point_convention: str = "auto",
    replicas: int = 1,
    gpus_per_replica: float | None = None,
    cpus_per_replica: float = 1.0,
    use_ray_llm: bool = True,
    items: Sequence[QAItem] | None = None,
    train_items: Sequence[QAItem] | None = None,
    progress: bool = True,
    console: Console | None = None,
    retry_errors: bool = False,
) -> Any:
    """:func:`vl4gaze.infer.run_inference` on Ray: same arguments, same run directory.

    ``replicas`` model copies answer in parallel (one GPU each when the cluster has GPUs,
    or ``gpus_per_replica``). BENCH must be on a path every Ray node can read.
    """
    from vl4gaze.infer import RunResult, prepare_run
    from vl4gaze.models import FatalBackendError

    if replicas < 1:
        raise ValueError(f"replicas must be >= 1, got {replicas}")
    # The same set-up as the local executor: a run may switch executors and resume.
    plan = prepare_run(bench, model_spec, run, model_options=model_options, shots=shots,
                       tasks=tasks, limit=limit, seed=seed, batch_size=batch_size,
                       max_new_tokens=max_new_tokens, shard=shard,
                       point_convention=point_convention, items=items,
                       retry_errors=retry_errors)
    bench, run, options, prompt_hash = plan.bench, plan.run, plan.options, plan.prompt_hash
    todo_all, todo, out_path = plan.todo_all, plan.todo, plan.out_path
    skipped = len(todo_all) - len(todo)
    answered = errors = 0
    if not todo:
        return RunResult(run, out_path, len(todo_all), skipped, 0, 0)

    ray = init_ray()
    ds = ray.data.from_items([{"item": item.to_json()} for item in todo],
                             override_num_blocks=_blocks(len(todo), replicas, batch_size))
    if model_spec.startswith("vllm:") and use_ray_llm and _ray_llm_available():
        results = _vllm_processor(ds, bench, model_spec, options, seed=seed, shots=shots,
                                  train_items=train_items, prompt_hash=prompt_hash,
                                  max_new_tokens=max_new_tokens, batch_size=batch_size,
                                  replicas=replicas)
    else:
        results = ds.map_batches(
            _Predictor, batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=replicas),
            num_gpus=_gpus_per_replica(ray, gpus_per_replica,
                                       int(options.get("tensor_parallel_size", 1))),
            num_cpus=cpus_per_replica,
            fn_constructor_kwargs={
                "bench": str(bench), "model_spec": model_spec, "options": options,
                "seed": seed, "shots": shots, "prompt_hash": prompt_hash,
                "max_new_tokens": max_new_tokens,
                "train_items": None if train_items is None
                else [t.to_json() for t in train_items]})
    wanted = {item.id for item in todo}
    written: set[str] = set()
    with _bar(progress, model_spec, len(todo), console) as bar, out_path.open("ab") as log:
        task_id = bar.add_task(model_spec, total=len(todo))
        for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
            fatal = [f for f in batch.get("fatal", ()) if f]
            preds = [Prediction.from_json(p) for p in batch["prediction"] if p]
            # A retried Ray task must not log an item twice.
            preds = [dataclasses.replace(p, attempt=plan.attempts.get(p.item_id, 1))
                     for p in preds if p.item_id in wanted and p.item_id not in written]
            if preds:
                log.write("".join(p.to_json() + "\n" for p in preds).encode())
                log.flush()
                os.fsync(log.fileno())
            written.update(p.item_id for p in preds)
            answered += len(preds)
            errors += sum(p.error is not None for p in preds)
            bar.advance(task_id, len(preds))
            if fatal:
                raise FatalBackendError(fatal[0])
    return RunResult(run, out_path, len(todo_all), skipped, answered, errors)


def _ray_llm_available() -> bool:
    try:
        import ray.data.llm  # noqa: F401
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


def _vllm_processor(ds: Any, bench: Path, model_spec: str, options: dict[str, Any], *,
                    seed: int, shots: int, train_items: Sequence[QAItem] | None,
                    prompt_hash: str, max_new_tokens: int | None, batch_size: int,
                    replicas: int) -> Any:
    """Ray Data LLM: a vLLM engine per replica (tensor parallel inside it), prompts built
    by CPU workers, results as Prediction JSON. Needs GPUs and vLLM (not run in CI)."""
    import ray.data.llm as llm

    from vl4gaze.models.vllm import to_vllm_messages
    from vl4gaze.prompting import ShotSampler, build_messages
    from vl4gaze.tasks.registry import token_limit

    sampler = None
    if shots:
        from vl4gaze.build import load_benchmark

        sampler = ShotSampler(train_items if train_items is not None
                              else load_benchmark(bench, "train"), shots, seed)
    name = model_spec.removeprefix("vllm:")
    engine = {"tensor_parallel_size": int(options.get("tensor_parallel_size", 1)),
              "dtype": options.get("dtype", "auto"), "seed": seed,
              "limit_mm_per_prompt": {"image": int(options.get("max_images", 8))},
              "trust_remote_code": bool(options.get("trust_remote_code", False))}
    for key in ("max_model_len", "gpu_memory_utilization"):
        if options.get(key):
            engine[key] = options[key]
    common = {"model_source": name, "engine_kwargs": engine, "batch_size": batch_size,
              "concurrency": replicas}
    try:  # Ray >= 2.5x: per-stage configs and row-level errors
        config = llm.vLLMEngineProcessorConfig(**common, should_continue_on_error=True,
                                               prepare_multimodal_stage=True)
    except (TypeError, ValueError):  # Ray 2.4x: the older spelling
        config = llm.vLLMEngineProcessorConfig(**common, has_image=True)
    build = getattr(llm, "build_processor", None) or llm.build_llm_processor

    def preprocess(row: dict[str, Any]) -> dict[str, Any]:
        item = QAItem.from_json(row["item"])
        try:
            shots_for = sampler.shots_for(item) if sampler else []
            messages = to_vllm_messages(build_messages(item, bench, shots=shots_for),
                                        image_parts="data_url")
            prompt_error = ""
        except Exception as err:  # logged as the item's error, like the local path
            messages = [{"role": "user", "content": "."}]
            prompt_error = f"prompt: {type(err).__name__}: {err}"
        return {"item_id": item.id, "prompt_error": prompt_error, "messages": messages,
                "sampling_params": {"temperature": 0.0,
                                    "max_tokens": token_limit(item.task, max_new_tokens)}}

    def postprocess(row: dict[str, Any]) -> dict[str, Any]:
        error = row.get("prompt_error") or row.get("__inference_error__") or None
        raw = "" if error else str(row.get("generated_text", "")).strip()
        pred = Prediction(row["item_id"], model_spec, prompt_hash, raw, error=error)
        return {"prediction": pred.to_json(), "fatal": ""}

    processor = build(config, preprocess=preprocess, postprocess=postprocess)
    return processor(ds)


# -- build ------------------------------------------------------------------------------

def build_benchmark_ray(sources: list[str], out: Path, config: Any = None, *,
                        progress: bool = True, allow_empty: bool = False,
                        **options: Any) -> dict[str, Any]:
    """:func:`vl4gaze.build.build_benchmark` with sources read and images rendered on Ray.

    Items are generated on the driver in source order, so the Parquet files, the image plan
    and the manifest are byte-identical to a local build.
    """
    from dataclasses import replace

    from vl4gaze.build import BuildConfig, build_from_samples, dataset_card

    config = config if config is not None else BuildConfig(**options)
    images = config.images
    ray = init_ray()
    problems: list = []
    manifest = build_from_samples(_read_sources_ray(ray, sources, problems), out,
                                  replace(config, images="none"), progress=progress,
                                  sources=sources, problems=problems,
                                  allow_empty=allow_empty)
    rendered = render_images_ray(out, link=images == "link", progress=progress) \
        if images != "none" else 0
    # What build_from_samples would have recorded had it rendered the images itself.
    manifest["options"]["images"] = images
    manifest["images"]["rendered_at_build"] = rendered
    out = Path(out)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (out / "README.md").write_text(dataset_card(manifest))
    return manifest


def _read_one_source(spec: str) -> tuple[list[tuple[GazeSample, str]], list]:
    from vl4gaze.build import read_sources

    problems: list = []
    return list(read_sources([spec], problems)), problems


def _read_sources_ray(ray: Any, sources: list[str], problems: list
                      ) -> Iterator[tuple[GazeSample, str]]:
    """(sample, image key) of every source, in source order; several sources are read at
    once by Ray tasks (one source alone is read here: shipping it would only cost)."""
    from vl4gaze.build import read_sources

    if len(sources) < 2:
        yield from read_sources(sources, problems)
        return
    remote = ray.remote(_read_one_source)
    refs = [remote.remote(spec) for spec in sources]
    for ref in refs:
        samples, found = ray.get(ref)
        problems.extend(found)
        yield from samples


def _render_batch(batch: pa.Table, bench: str, link: bool) -> dict[str, list[int]]:
    """Write one batch of planned images (the same bytes as ``build.render_images``)."""
    from PIL import Image

    from vl4gaze.tasks.refs import draw_marker

    root = Path(bench)
    for entry in batch.to_pylist():
        dest = root / entry["dest"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry["box"] is None:
            if link:
                os.symlink(os.path.abspath(entry["src"]), dest)
                continue
            try:
                os.link(entry["src"], dest)
            except OSError:
                shutil.copyfile(entry["src"], dest)
            continue
        with Image.open(entry["src"]) as image:
            marked = draw_marker(image, Box(**entry["box"]))
        marked.save(dest, **({"quality": 95} if dest.suffix in (".jpg", ".jpeg") else {}))
    return {"written": [batch.num_rows]}


def render_images_ray(bench: Path, *, link: bool = False, batch_size: int = 64,
                      progress: bool = True) -> int:
    """:func:`vl4gaze.build.render_images` as Ray Data tasks; returns how many were written."""
    from vl4gaze.build import PLAN_FILE

    ray = init_ray()
    bench = Path(bench).resolve()
    plan = pq.read_table(bench / PLAN_FILE)
    missing = [not (bench / d).exists() for d in plan["dest"].to_pylist()]
    todo = plan.filter(pa.array(missing, type=pa.bool_()))
    if todo.num_rows == 0:
        return 0
    workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    step = -(-todo.num_rows // _blocks(todo.num_rows, workers, batch_size))
    ds = ray.data.from_arrow([todo.slice(i, step) for i in range(0, todo.num_rows, step)])
    done = ds.map_batches(_render_batch, batch_format="pyarrow", batch_size=batch_size,
                          fn_kwargs={"bench": str(bench), "link": link})
    written = 0
    with _bar(progress, "writing images", todo.num_rows) as bar:
        task_id = bar.add_task("images", total=todo.num_rows)
        for batch in done.iter_batches(batch_size=None, batch_format="numpy"):
            n = int(np.sum(batch["written"]))
            written += n
            bar.advance(task_id, n)
    return written


# -- annotate ---------------------------------------------------------------------------

#: Annotator figures (outside what ``annotate.annotation_report`` derives from the records) that
#: are summed over chunks; the others are the same in every chunk.
_SUMMED = {"model_calls", "cache_hits"}


def _annotate_chunk(batch: dict[str, np.ndarray], options: dict[str, Any],
                    model: Any = None) -> dict[str, list[str]]:
    from vl4gaze.annotate import annotate_samples

    samples = [GazeSample.from_json(s) for s in batch["sample"]]
    result = annotate_samples(samples, model=model, **options)
    return {"sample": [s.to_json() for s in result.samples],
            "record": [json.dumps(r, sort_keys=True) for r in result.records],
            "index": list(batch["index"]),
            # The chunk's report once (first row): its counts are summed on the driver.
            "report": [json.dumps(result.report)] + [""] * (len(samples) - 1)}


class _VLMAnnotatorActor:
    """Holds one VLM; annotates batches of samples with it."""

    def __init__(self, spec: str, options: dict[str, Any]) -> None:
        from vl4gaze.models import load_model

        self.model = load_model(spec)
        self.options = options

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        return _annotate_chunk(batch, self.options, self.model)


def annotate_samples_ray(samples: Iterable[GazeSample], *, annotator: str = "boxes",
                         replicas: int = 1, batch_size: int = 64,
                         gpus_per_replica: float | None = None, progress: bool = False,
                         model: Any = None, **options: Any) -> Any:
    """:func:`vl4gaze.annotate.annotate_samples` on Ray; the same samples, records and report.

    The box rule runs as Ray tasks; ``vlm:SPEC`` runs ``replicas`` actors, each holding the
    model (one GPU each when the cluster has GPUs). ``model`` (a ready Model) is not
    shipped: give ``vlm:SPEC`` instead so each replica loads its own.
    """
    from vl4gaze.annotate import AnnotationResult, annotation_report

    if model is not None:
        raise ValueError("annotate on Ray loads the model in each replica: pass "
                         "annotator='vlm:SPEC' instead of a model object")
    if annotator != "boxes" and not annotator.startswith("vlm:"):
        raise ValueError(f"unknown annotator {annotator!r} (use boxes or vlm:SPEC)")
    samples = list(samples)
    options = {**options, "annotator": annotator}
    if annotator.startswith("vlm:"):
        options["batch_size"] = options.get("vlm_batch_size", 8)
    options.pop("vlm_batch_size", None)
    if not samples:
        from vl4gaze.annotate import annotate_samples

        return annotate_samples([], **options)
    ray = init_ray()
    rows = [{"index": i, "sample": s.to_json()} for i, s in enumerate(samples)]
    ds = ray.data.from_items(rows, override_num_blocks=_blocks(len(rows), replicas,
                                                               batch_size))
    if annotator.startswith("vlm:"):
        done = ds.map_batches(
            _VLMAnnotatorActor, batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=replicas),
            num_gpus=_gpus_per_replica(ray, gpus_per_replica),
            fn_constructor_kwargs={"spec": annotator.removeprefix("vlm:"), "options": options})
    else:
        done = ds.map_batches(_annotate_chunk, batch_size=batch_size,
                              fn_kwargs={"options": options})
    labelled: list[GazeSample | None] = [None] * len(samples)
    records: list[dict[str, Any] | None] = [None] * len(samples)
    extra: dict[str, Any] = {}
    derived = {*annotation_report(annotator, [], {}), "person"}
    with _bar(progress, "annotating", len(samples)) as bar:
        task_id = bar.add_task("annotate", total=len(samples))
        for batch in done.iter_batches(batch_size=None, batch_format="numpy"):
            for index, sample, record in zip(batch["index"], batch["sample"], batch["record"],
                                             strict=True):
                labelled[int(index)] = GazeSample.from_json(sample)
                records[int(index)] = json.loads(record)
            for chunk in (r for r in batch["report"] if r):
                for key, value in json.loads(chunk).items():
                    if key in _SUMMED:
                        extra[key] = extra.get(key, 0) + value
                    elif key not in derived:
                        extra.setdefault(key, value)
            bar.advance(task_id, len(batch["index"]))
    if any(r is None for r in records):
        raise RuntimeError("annotate on Ray lost samples: some batches returned nothing")
    report = annotation_report(annotator, records, extra)  # type: ignore[arg-type]
    return AnnotationResult(labelled, records, report)  # type: ignore[arg-type]
