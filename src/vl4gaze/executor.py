"""Where a stage's batches run: in this process (``local``) or on a Ray cluster (``ray``).

Eval, annotate and build each need one operation from an executor: map a function over
batches of items and hand the results back to the driver, with a progress log. The
driver keeps everything that must happen once and in order (config.json, the append-only
prediction log, the Parquet files), so a stage gives the same output on either executor
and a run may switch executors and resume.

The function is given as a factory, ``make_fn() -> fn``, so that each Ray replica builds
its own (a model is loaded once per replica, never shipped). :class:`LocalExecutor` is
here; :class:`vl4gaze.scale.RayExecutor` imports Ray only when it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.console import Console

from vl4gaze.progress import ProgressLog
from vl4gaze.run_config import EXECUTORS

BatchFn = Callable[[list[Any]], Any]


class Executor(Protocol):
    """What a stage asks of an executor."""

    name: str

    def map_batches(self, make_fn: Callable[[], BatchFn], items: Sequence[Any], *,
                    batch_size: int, label: str, unit: str = "items", progress: bool = True,
                    console: Console | None = None, per_replica: bool = False,
                    gpus_per_model: int = 1) -> Iterator[Any]:
        """``fn(batch)`` for every batch of ``batch_size`` items, as each finishes.

        ``per_replica=True``: ``make_fn`` is costly (a model): it runs once per replica, and
        each replica gets ``gpus_per_model`` GPUs when the cluster has GPUs. The progress
        log counts input items. A result may come in any order (Ray); an exception
        raised by ``fn`` is raised here, on the driver."""
        ...


@dataclass(frozen=True)
class LocalExecutor:
    """Batches in this process, in order; ``workers`` threads for I/O-bound work (image
    rendering), one for a model."""

    workers: int = 1
    name: ClassVar[str] = "local"

    def map_batches(self, make_fn: Callable[[], BatchFn], items: Sequence[Any], *,
                    batch_size: int, label: str, unit: str = "items", progress: bool = True,
                    console: Console | None = None, per_replica: bool = False,
                    gpus_per_model: int = 1) -> Iterator[Any]:
        if not items:
            return
        fn = make_fn()
        batches = [list(items[i:i + batch_size]) for i in range(0, len(items), batch_size)]
        with ProgressLog(label, len(items), enabled=progress, console=console,
                         unit=unit) as bar:
            if self.workers <= 1:
                for batch in batches:
                    yield fn(batch)
                    bar.advance(len(batch))
                return
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for batch, result in zip(batches, pool.map(fn, batches), strict=True):
                    yield result
                    bar.advance(len(batch))


def check_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise ValueError(f"executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    return executor


def get_executor(name: str = "local", *, replicas: int = 1, gpus_per_replica: float | None = None,
                 cpus_per_replica: float = 1.0, workers: int = 1) -> Executor:
    """The executor called ``name``; the Ray options apply to ``ray`` only, ``workers``
    (threads) to ``local``. Ray is imported here, so a missing Ray fails before any work."""
    if check_executor(name) == "local":
        return LocalExecutor(workers=workers)
    from vl4gaze.scale import RayExecutor, ray_module

    ray_module()  # a clear message now rather than after reading every source
    return RayExecutor(replicas=replicas, gpus_per_replica=gpus_per_replica,
                       cpus_per_replica=cpus_per_replica)
