"""Ray Data execution of build, annotate and eval, with the same outputs as the local executor.

:class:`RayExecutor` is the Ray side of the one seam (:mod:`vl4gaze.executor`): each stage
maps its own local function through it, and the driver writes the stage's files as the
local executor does. Why each stage is split the way it is:

- eval: the driver computes the run's items exactly as :func:`vl4gaze.infer.run_inference`
  does (same ``config.json``, same resume skip), batches of items go through an actor pool
  of model replicas (each builds :func:`vl4gaze.infer.make_answerer` once), and the driver
  appends every result batch to the same ``predictions.jsonl`` with
  :class:`vl4gaze.infer.PredictionLog`. A killed Ray job therefore resumes like a local
  one: nothing answered is lost (it is on disk), nothing is asked twice (the resume skip,
  and a per-run id set on the driver). ``vllm:`` specs go through Ray Data LLM
  (``ray.data.llm``, :func:`vllm_answers`, the one Ray-only path) when it imports, else
  through the same actor pool.
- build: item generation is a cheap single pass on the driver (seconds for GazeFollow), and
  it must stay one ordered pass for the Parquet to be byte-identical. The costly part is
  I/O: reading several sources (one task per source, handed on in source order) and
  rendering the image plan (``build.write_image`` in tasks of plan entries).
- annotate: each sample is annotated on its own, so batches of samples map through workers
  (tasks for the box rule, actors holding the VLM for ``vlm:SPEC``); the driver keeps the
  order, re-derives the report and writes the same files.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from rich.console import Console

from vl4gaze.executor import EXECUTORS, BatchFn, check_executor
from vl4gaze.progress import ProgressLog
from vl4gaze.schema import Prediction, QAItem

if TYPE_CHECKING:
    from vl4gaze.infer import RunPlan, RunResult
    from vl4gaze.run_config import RunConfig

__all__ = ["EXECUTORS", "RayExecutor", "check_executor", "init_ray", "run_inference_ray"]
INSTALL_HINT = "Ray is not installed: pip install 'vl4gaze[scale]' (ray[data] >= 2.40)"
#: ``Dataset`` blocks per replica: enough to keep every replica busy and the driver's
#: writes steady, few enough that scheduling stays cheap.
_BLOCKS_PER_REPLICA = 8


# -- Ray itself -------------------------------------------------------------------------

def ray_module() -> Any:
    """``ray``, or ImportError with the install line."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    return ray


def init_ray(address: str | None = None, **options: Any) -> Any:
    """Connect to Ray once (``address``, else ``RAY_ADDRESS``, else a local instance).

    ``options`` go to ``ray.init`` (``num_cpus``, ``object_store_memory``...). Ray Data's
    own progress bars are turned off: the driver shows one progress log per stage.
    """
    ray = ray_module()
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


def _gpus_per_replica(ray: Any, requested: float | None, per_model: int = 1) -> float:
    """``per_model`` GPUs per replica (tensor parallel) when the cluster has GPUs."""
    if requested is not None:
        return requested
    return float(per_model) if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


def _blocks(n: int, replicas: int, batch_size: int) -> int:
    return max(1, min(-(-n // batch_size), replicas * _BLOCKS_PER_REPLICA))


# -- the executor -----------------------------------------------------------------------

def _outcome(fn: BatchFn, rows: np.ndarray) -> dict[str, list[bytes]]:
    """Run ``fn`` on one batch of pickled items; its result (or its exception, raised
    again on the driver) and the batch's size, as one pickled row."""
    items = [pickle.loads(row) for row in rows]
    try:
        outcome: tuple[Any, BaseException | None] = (fn(items), None)
    except Exception as err:
        outcome = (None, err)
    try:
        blob = pickle.dumps((*outcome, len(items)))
    except Exception:  # an exception that does not pickle: its type and message
        blob = pickle.dumps((None, RuntimeError(f"{type(outcome[1]).__name__}: "
                                                f"{outcome[1]}"), len(items)))
    return {"outcome": [blob]}


def _task(batch: dict[str, np.ndarray], make_fn: Callable[[], BatchFn]
          ) -> dict[str, list[bytes]]:
    return _outcome(make_fn(), batch["row"])


class _Replica:
    """One actor of the pool: builds the stage's function (loads its model) once."""

    def __init__(self, make_fn: Callable[[], BatchFn]) -> None:
        self.fn = make_fn()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[bytes]]:
        return _outcome(self.fn, batch["row"])


@dataclass(frozen=True)
class RayExecutor:
    """Batches as Ray Data tasks, or on a pool of ``replicas`` actors (one model each).

    Items go to the workers pickled and results come back to the driver as each batch
    finishes, in any order. BENCH and source paths must be readable on every Ray node."""

    replicas: int = 1
    gpus_per_replica: float | None = None
    cpus_per_replica: float = 1.0
    name: ClassVar[str] = "ray"

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError(f"replicas must be >= 1, got {self.replicas}")

    def map_batches(self, make_fn: Callable[[], BatchFn], items: Sequence[Any], *,
                    batch_size: int, label: str, unit: str = "items", progress: bool = True,
                    console: Console | None = None, per_replica: bool = False,
                    gpus_per_model: int = 1) -> Iterator[Any]:
        if not items:
            return
        ray = init_ray()
        workers = self.replicas if per_replica else max(
            1, int(ray.cluster_resources().get("CPU", 1)))
        ds = ray.data.from_items([{"row": pickle.dumps(item)} for item in items],
                                 override_num_blocks=_blocks(len(items), workers, batch_size))
        if per_replica:
            done = ds.map_batches(
                _Replica, batch_size=batch_size,
                compute=ray.data.ActorPoolStrategy(size=self.replicas),
                num_gpus=_gpus_per_replica(ray, self.gpus_per_replica, gpus_per_model),
                num_cpus=self.cpus_per_replica, fn_constructor_kwargs={"make_fn": make_fn})
        else:
            done = ds.map_batches(_task, batch_size=batch_size, fn_kwargs={"make_fn": make_fn})
        with ProgressLog(label, len(items), enabled=progress, console=console,
                         unit=unit) as bar:
            for batch in done.iter_batches(batch_size=None, batch_format="numpy"):
                for blob in batch["outcome"]:
                    result, error, n = pickle.loads(blob)
                    if error is not None:
                        raise error
                    yield result
                    bar.advance(n)


# -- eval -------------------------------------------------------------------------------

def run_inference_ray(bench: Path, run: Path, config: RunConfig, **options: Any
                      ) -> RunResult:
    """:func:`vl4gaze.infer.run_inference` with ``config.executor`` set to ``ray``.

    ``config.replicas`` model copies answer in parallel (one GPU each when the cluster has
    GPUs, or ``config.gpus_per_replica``); the driver writes the same resumable log."""
    from vl4gaze.infer import run_inference

    return run_inference(bench, run, dataclasses.replace(config, executor="ray"), **options)


def ray_llm_available() -> bool:
    try:
        import ray.data.llm  # noqa: F401
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


def vllm_answers(plan: RunPlan, train_items: Sequence[QAItem] | None,
                 console: Console | None = None) -> Iterator[list[Prediction]]:
    """Ray Data LLM: a vLLM engine per replica (tensor parallel inside it, the engine
    arguments of ``models.vllm``), prompts built by CPU workers as the local path builds
    them, results as Predictions. Needs GPUs and vLLM (not run in CI)."""
    import ray.data.llm as llm

    from vl4gaze.infer import item_messages, prompt_error, shot_sampler
    from vl4gaze.models.vllm import engine_args, sampling_params, to_vllm_messages
    from vl4gaze.tasks.registry import token_limit

    config, bench, todo = plan.config, plan.bench, plan.todo
    ray = init_ray()
    ds = ray.data.from_items([{"item": item.to_json()} for item in todo],
                             override_num_blocks=_blocks(len(todo), config.replicas,
                                                         config.batch_size))
    sampler = shot_sampler(bench, config, train_items)
    engine = engine_args(**{**config.model_options, "seed": config.seed})
    common = {"model_source": config.model.removeprefix("vllm:"), "engine_kwargs": engine,
              "batch_size": config.batch_size, "concurrency": config.replicas}
    try:  # Ray >= 2.5x: per-stage configs and row-level errors
        processor_config = llm.vLLMEngineProcessorConfig(
            **common, should_continue_on_error=True, prepare_multimodal_stage=True)
    except (TypeError, ValueError):  # Ray 2.4x: the older spelling
        processor_config = llm.vLLMEngineProcessorConfig(**common, has_image=True)
    build = getattr(llm, "build_processor", None) or llm.build_llm_processor
    spec, prompt_hash, max_new_tokens = config.model, plan.prompt_hash, config.max_new_tokens

    def preprocess(row: dict[str, Any]) -> dict[str, Any]:
        item = QAItem.from_json(row["item"])
        try:
            messages = to_vllm_messages(item_messages(item, bench, sampler),
                                        image_parts="data_url")
            error = ""
        except Exception as err:  # logged as the item's error, like the local path
            messages, error = [{"role": "user", "content": "."}], prompt_error(err)
        return {"item_id": item.id, "prompt_error": error, "messages": messages,
                "sampling_params": sampling_params(token_limit(item.task, max_new_tokens))}

    def postprocess(row: dict[str, Any]) -> dict[str, Any]:
        error = row.get("prompt_error") or row.get("__inference_error__") or None
        raw = "" if error else str(row.get("generated_text", "")).strip()
        return {"prediction": Prediction(row["item_id"], spec, prompt_hash, raw,
                                         error=error).to_json()}

    results = build(processor_config, preprocess=preprocess, postprocess=postprocess)(ds)
    with ProgressLog(f"eval {spec}", len(todo), enabled=config.progress,
                     console=console) as bar:
        for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
            preds = [Prediction.from_json(p) for p in batch["prediction"] if p]
            yield preds
            bar.advance(len(preds))
