"""``RunConfig``: every option of an eval run as one frozen, validated record.

The CLI (``vl4gaze eval``) fills it from its options, library callers build it, and a run's
``config.json`` is its serialisation (:meth:`RunConfig.record`, read back with
:meth:`RunConfig.from_record`). Fields marked ``record=False`` choose how the run is carried
out (progress, shard, executor...), not what it answers, so they are not written down: a
run may resume on another executor or with another shard count.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vl4gaze.config_fields import help_of, option, recorded

MODEL_HELP = ("hf:NAME_OR_PATH | openai:MODEL | vllm:NAME_OR_PATH | baseline:NAME | "
              "tiny[:SEED] | tiny-gaze[:SEED] (see `vl4gaze list models`)")
EXECUTORS = ("local", "ray")
#: The config.json fields a run derives from its benchmark (max_new_tokens: resolved).
DERIVED = ("bench", "bench_hash", "prompt_config", "max_new_tokens")


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` -> (i, N) with 0 <= i < N; a clear error otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"shard {text!r} must look like i/N, e.g. 0/4")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {text!r}: need 0 <= i < N")
    return index, count


@dataclass(frozen=True)
class RunConfig:
    """How to ask one model a benchmark's test questions (``vl4gaze eval``)."""

    model: str = option(help=MODEL_HELP)
    model_options: Mapping[str, Any] = option(
        default_factory=dict,
        help="Keyword options for the model's loader (device, dtype, base_url...); written "
             "to config.json, so an API key goes by its variable's name (api_key_env).")
    shots: int = option(0, help="In-context examples per question.")
    tasks: tuple[str, ...] | None = option(
        None, help="Tasks to run: object, direction, point, ambiguity (default: all). "
                   "Another choice later extends the run.")
    limit: int | None = option(None, help="At most N items per task.")
    seed: int = option(0, help="Random seed: same seed, same output.")
    batch_size: int = option(8, help="Items per model call and per log flush.")
    max_new_tokens: int | None = option(
        None, help="Longest answer in tokens, for every task (default: each task's own "
                   "limit, 64 for the built-in tasks).")
    point_convention: str = option(
        "auto", help="How the scorer reads points: a scale (norm, norm1000, pixel, percent) "
                     "forces plain numbers; a family names its native forms (plain numbers "
                     "then follow the question's format); auto: the family from the model's "
                     "name.")
    shard: tuple[int, int] = option(
        (0, 1), record=False,
        help="This process's part i/N of the items (data-parallel runs).")
    retry_errors: bool = option(
        False, record=False,
        help="Ask again the items whose answer was an error (the newer answer wins).")
    progress: bool = option(
        True, record=False, help="Show progress (a bar on a terminal, plain lines in a log).")
    executor: str = option(
        "local", record=False,
        help="ray: model replicas on Ray Data (RAY_ADDRESS names the cluster; the same "
             "resumable log).")
    replicas: int = option(
        1, record=False, help="Ray: model replicas (one GPU each when the cluster has GPUs).")
    gpus_per_replica: float | None = option(
        None, record=False,
        help="Ray: GPUs per replica (default: tensor_parallel_size when the cluster has "
             "GPUs, else none).")
    cpus_per_replica: float = option(1.0, record=False, help="Ray: CPUs per replica.")
    use_ray_llm: bool = option(
        True, record=False,
        help="Ray: run vllm: models through Ray Data LLM when it imports.")

    def __post_init__(self) -> None:
        from vl4gaze.parse.conventions import CONVENTIONS
        from vl4gaze.tasks.registry import task_names

        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model={self.model!r}: give a model spec ({MODEL_HELP})")
        options = {k: v for k, v in dict(self.model_options or {}).items() if v is not None}
        if any("key" in k and k != "api_key_env" for k in options):
            raise ValueError("model_options: pass API keys by environment variable name "
                             "(api_key_env), never as a value: they would be written to "
                             "config.json")
        object.__setattr__(self, "model_options", options)
        tasks = self.tasks
        if isinstance(tasks, str):
            tasks = tasks.split(",")
        tasks = tuple(sorted({str(t).strip() for t in tasks or () if str(t).strip()}))
        known = task_names()
        unknown = sorted(set(tasks) - set(known))
        if unknown:
            raise ValueError(f"tasks: unknown task {unknown[0]!r}; tasks are "
                             f"{', '.join(known)}")
        object.__setattr__(self, "tasks", tasks or None)
        shard = self.shard
        if isinstance(shard, str):
            shard = parse_shard(shard)
        elif len(shard) != 2 or not 0 <= shard[0] < shard[1]:
            raise ValueError(f"shard={shard!r}: need (i, N) with 0 <= i < N")
        object.__setattr__(self, "shard", (int(shard[0]), int(shard[1])))
        for name, low in (("shots", 0), ("batch_size", 1), ("replicas", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name}={value!r} must be an integer >= {low}")
        budget = self.max_new_tokens
        if budget is not None and (not isinstance(budget, int) or budget < 1):
            raise ValueError(f"max_new_tokens={budget!r} must be an integer >= 1 (or None: "
                             "each task's own)")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 0):
            raise ValueError(f"limit={self.limit!r} must be an integer >= 0 (or None: all)")
        if self.point_convention not in CONVENTIONS:
            raise ValueError(f"point_convention={self.point_convention!r}: expected one of "
                             f"{', '.join(CONVENTIONS)}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor {self.executor!r}: expected one of "
                             f"{', '.join(EXECUTORS)}")
        if self.gpus_per_replica is not None and self.gpus_per_replica < 0:
            raise ValueError(f"gpus_per_replica={self.gpus_per_replica!r} must be >= 0")
        if self.cpus_per_replica <= 0:
            raise ValueError(f"cpus_per_replica={self.cpus_per_replica!r} must be > 0")

    def record(self, *, bench: Path, bench_hash: str | None, prompt_config: str,
               max_new_tokens: int | dict[str, int]) -> dict[str, Any]:
        """The run's config.json fields (``write_config`` adds ``selections``).

        ``max_new_tokens`` is the budget resolved for the benchmark's tasks
        (``tasks.registry.token_limits``): one number, or one per task."""
        fields = recorded(self)
        fields["max_new_tokens"] = max_new_tokens
        fields["tasks"] = list(self.tasks) if self.tasks else None
        fields["model_options"] = {k: (str(v) if isinstance(v, Path) else v)
                                   for k, v in self.model_options.items()}
        return {"bench": str(bench), "bench_hash": bench_hash,
                "prompt_config": prompt_config, **fields}

    @classmethod
    def from_record(cls, config: Mapping[str, Any], **overrides: Any) -> RunConfig:
        """The record of a run's config.json (the latest selection), e.g. to resume it;
        ``overrides`` set the fields config.json does not keep (executor, shard...)."""
        names = {f.name for f in dataclasses.fields(cls) if f.metadata.get("record", True)}
        fields = {k: v for k, v in config.items() if k in names}
        if isinstance(fields.get("max_new_tokens"), dict):  # each task's own budget
            fields["max_new_tokens"] = None
        return cls(**{**fields, **overrides})


def run_help(name: str) -> str:
    """A RunConfig field's help text (for the CLI's options)."""
    return help_of(RunConfig, name)


__all__ = ["DERIVED", "EXECUTORS", "MODEL_HELP", "RunConfig", "parse_shard", "run_help"]
