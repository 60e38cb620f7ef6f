"""``vl4gaze demo``: the paper's whole flow on GazeWorld, offline, in minutes on a CPU.

synthesize GazeWorld -> build the benchmark (the paper's four tasks and the three
social ones) -> evaluate the baselines (oracle, random,
centre, head, text-only) and the tiny VLM zero-shot and 2-shot -> fine-tune the tiny
VLM -> evaluate it again -> write the report. Every stage is the library's own
function, called exactly as the CLI calls it; this module only chooses sizes and wires.

The sizes (``DemoSize``) keep the default run within about 15 minutes on 2 CPU cores;
``quick=True`` is a smoke version of the same flow for tests. Rerunning into the same
directory resumes: inference skips answered items and a finished checkpoint is reused,
unless the sizes or seed changed, in which case the demo's own folders are rebuilt.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

BASELINES = ("oracle", "random", "center", "head", "text-only")
STAGE_DIRS = ("gazeworld", "bench", "runs", "tiny-sft", "report")
T = TypeVar("T")


@dataclass(frozen=True)
class DemoSize:
    """How much the demo does; the defaults fit ~15 minutes on 2 CPU cores."""

    scenes: int = 1000
    image_size: int = 448
    head_scale: float = 2.0  # GazeWorld heads 2x: cues a tiny model can see at 128 px
    max_objects: int = 3
    p_mutual: float = 0.3  # scenes with two people looking at each other (social tasks)
    p_shared_target: float = 0.4  # people looking at what someone else looks at
    eval_limit: int | None = 40  # test items per task for every run (same items for all)
    max_new_tokens: int = 48
    model: str = "tiny-gaze"  # vision tower pretrained on GazeWorld (docs/learnability.md)
    train_steps: int = 1500  # full fine-tuning, vision tower frozen
    lr: float = 3e-4  # 1e-3 and more collapse onto the most common answer
    tasks: str = "paper,social"  # the VL4Gaze four and the social three (mutual, shared, whom)
    task_mix: str = "direction=3,ambiguity=4,point=1,object=1,mutual=1,shared=1,whom=1"
    loss_per: str = "example"  # short direction answers weigh as much as long ones
    batch_size: int = 8
    shots: int = 2
    gallery_items: int = 24


FULL = DemoSize()
QUICK = DemoSize(scenes=16, image_size=160, eval_limit=1, max_new_tokens=8, model="tiny",
                 train_steps=2, batch_size=2, gallery_items=2)


@dataclass
class DemoResult:
    """Where everything went, and how long each stage took (seconds)."""

    out: Path
    bench: Path
    runs: list[Path]
    checkpoint: Path
    report: Path
    seconds: dict[str, float]


class _Stages:
    """Numbered stage headers with timings; each stage shows its own rich progress bar."""

    def __init__(self, console: Console, total: int) -> None:
        self.console, self.total, self.done = console, total, 0
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], T]) -> T:
        self.done += 1
        self.console.rule(f"[bold]{self.done}/{self.total}[/bold] {name}", align="left")
        start = time.perf_counter()
        result = fn()
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.console.print(f"[green]done[/green] in {self.seconds[name]:.1f} s")
        return result


def _prepare(out: Path, params: dict[str, Any], console: Console) -> None:
    """Start over (only the demo's own folders) when sizes or seed differ from last time."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / "demo.json"
    if marker.is_file() and json.loads(marker.read_text()) != params:
        console.print("[yellow]demo settings changed: rebuilding the demo folders[/yellow]")
        for name in STAGE_DIRS:
            shutil.rmtree(out / name, ignore_errors=True)
    marker.write_text(json.dumps(params, indent=2) + "\n")


def _evaluate(bench: Path, spec: str, run: Path, size: DemoSize, seed: int, shots: int,
              console: Console) -> Path:
    """Infer (resumable) and score one model: the same two calls as `vl4gaze eval`."""
    from vl4gaze.infer import RunConfig, run_inference
    from vl4gaze.score import score_run

    run_inference(bench, run, RunConfig(spec, shots=shots, limit=size.eval_limit, seed=seed,
                                        max_new_tokens=size.max_new_tokens), console=console)
    score_run(run)
    return run


def _train(bench: Path, ckpt: Path, size: DemoSize, seed: int) -> Path:
    """Fine-tune the tiny VLM (full; docs/learnability.md), unless a finished checkpoint is
    already there."""
    from vl4gaze.train.config import TrainConfig
    from vl4gaze.train.data import parse_task_mix
    from vl4gaze.train.sft import train

    if (ckpt / "model.safetensors").is_file() and (ckpt / "config.json").is_file():
        return ckpt
    # The mix names only tasks with train items (a small world may have no shared pair).
    counts = json.loads((bench / "manifest.json").read_text())["counts"]["split_task"]
    mix = {t: w for t, w in (parse_task_mix(size.task_mix) or {}).items()
           if counts.get(f"train/{t}")} or None
    return train(bench, ckpt, TrainConfig(
        f"{size.model}:{seed}", max_steps=size.train_steps, lora=False, lr=size.lr,
        batch_size=size.batch_size, seed=seed, group_by_length=True, task_mix=mix,
        loss_per=size.loss_per, logging_steps=max(1, size.train_steps // 10)))


def run_demo(out: Path, *, scenes: int | None = None, seed: int = 0, quick: bool = False,
             size: DemoSize | None = None, console: Console | None = None) -> DemoResult:
    """Run the whole offline flow into ``out`` and return where its parts are.

    ``scenes`` overrides the number of GazeWorld scenes of the chosen size (``FULL`` or,
    with ``quick``, ``QUICK``); ``size`` replaces the preset entirely.
    """
    from vl4gaze.build import build_benchmark
    from vl4gaze.report import ReportConfig, load_runs, write_report
    from vl4gaze.report.tables import rich_table
    from vl4gaze.sources.gazeworld import synthesize

    console = console or Console(stderr=True)
    size = size or (QUICK if quick else FULL)
    if scenes is not None:
        size = replace(size, scenes=scenes)
    out = Path(out).resolve()
    _prepare(out, {"seed": seed, **asdict(size)}, console)
    world, bench, runs_dir, ckpt = out / "gazeworld", out / "bench", out / "runs", out / "tiny-sft"
    models: list[tuple[str, str, int]] = [(f"baseline:{b}", b, 0) for b in BASELINES]
    models += [(size.model, "tiny-0shot", 0), (size.model, f"tiny-{size.shots}shot", size.shots)]
    stages = _Stages(console, total=3 + len(models) + 3)

    stages.run(f"Synthesize GazeWorld ({size.scenes} scenes, {size.image_size} px)",
               lambda: synthesize(world, size.scenes, seed=seed, size=size.image_size,
                                  head_scale=size.head_scale, max_objects=size.max_objects,
                                  p_mutual=size.p_mutual,
                                  p_shared_target=size.p_shared_target))
    manifest = stages.run(f"Build the benchmark (tasks: {size.tasks})",
                          lambda: build_benchmark([f"gazeworld:{world}"], bench, seed=seed,
                                                  tasks=size.tasks))
    counts = manifest.get("counts", {})
    console.print(f"items per split: {counts.get('split')}, per task: {counts.get('task')}")
    stages.run(f"Prepare the tiny VLM ({size.model}; built once, then cached)",
               lambda: _tiny_ready(size.model, seed))

    runs: list[Path] = []
    for spec, name, shots in models:
        runs.append(stages.run(
            f"Evaluate {spec}" + (f" {shots}-shot" if shots else " zero-shot"),
            lambda spec=spec, name=name, shots=shots: _evaluate(
                bench, spec, runs_dir / name, size, seed, shots, console)))
    stages.run(f"Fine-tune the tiny VLM ({size.train_steps} steps)",
               lambda: _train(bench, ckpt, size, seed))
    runs.append(stages.run("Evaluate the fine-tuned tiny VLM zero-shot", lambda: _evaluate(
        bench, f"hf:{ckpt}", runs_dir / "tiny-sft", size, seed, 0, console)))
    report = stages.run("Write the report", lambda: write_report(
        runs, out / "report", ReportConfig(max_items_per_task=size.gallery_items,
                                           title="vl4gaze demo on GazeWorld"),
        console=console))

    (out / "timings.json").write_text(json.dumps(stages.seconds, indent=2) + "\n")
    Console().print(rich_table(load_runs(runs), title="vl4gaze demo: main results (95% CI)"))
    total = sum(stages.seconds.values())
    console.print(f"[bold green]Demo finished[/bold green] in {total / 60:.1f} min. "
                  f"Report: [bold]{report}[/bold] (open it in a browser); "
                  f"tables: {report.parent / 'table.md'}")
    return DemoResult(out=out, bench=bench, runs=runs, checkpoint=ckpt, report=report,
                      seconds=stages.seconds)


def _tiny_ready(model: str, seed: int) -> Path:
    """Build (once, cached) the tiny VLM so that its cost is not billed to an eval."""
    from vl4gaze.models.tiny import tiny_spec_path

    return tiny_spec_path(f"{model}:{seed}")
