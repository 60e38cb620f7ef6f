"""The ``vl4gaze`` command line: it only parses options and wires the stages together.

Each command imports its stage lazily, so ``vl4gaze --help`` stays fast and a command
never pays for another's dependencies (torch, transformers, ray...).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

import vl4gaze
from vl4gaze.report.config import report_help
from vl4gaze.run_config import run_help
from vl4gaze.train.config import train_help

app = typer.Typer(
    name="vl4gaze",
    help="Gaze-following data as a vision-language benchmark: build, ask any VLM, score, "
    "fine-tune, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Messages carry paths, file contents and model names: never read them as rich markup.
console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
_state = {"debug": False}

SourceArg = Annotated[list[str], typer.Argument(help="Sources as KIND:PATH (gazefollow:ROOT, "
                                                "vat:ROOT, childplay:ROOT, goo:PICKLE:IMAGES, "
                                                "gazeworld:DIR, images:DIR, annotated:DIR).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same output.")]
Executor = Literal["local", "ray"]
#: vl4gaze.parse.conventions.CONVENTIONS (a test keeps the two equal).
Convention = Literal["auto", "norm", "norm1000", "pixel", "percent", "qwen2-vl", "qwen2.5-vl",
                     "qwen3-vl", "glm-v", "internvl", "molmo", "paligemma", "llava-pad",
                     "llava-crop"]


def _fail(message: str) -> None:
    console.print(f"error: {message}", style="red")
    raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        print(f"vl4gaze {vl4gaze.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks of errors.")
                     ] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Gaze-following data as a vision-language benchmark: build, ask any VLM, score,
    fine-tune, report."""
    _state["debug"] = debug
    from vl4gaze.progress import quiet_library_bars

    quiet_library_bars()


def main() -> None:
    """The console entry point: user errors and unexpected failures end in one line
    (``--debug`` shows the traceback)."""
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted", style="red")
        sys.exit(130)
    except Exception as exc:
        if _state["debug"] or "--debug" in sys.argv:
            raise
        console.print(f"error: {type(exc).__name__}: {exc} (rerun with --debug for the "
                      "traceback)", style="red")
        sys.exit(1)


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Directory to write the GazeWorld scenes to.")],
    scenes: Annotated[int, typer.Option(help="Number of scenes.")] = 200,
    seed: SeedOpt = 0,
    size: Annotated[int, typer.Option(help="Image side in pixels.")] = 448,
    p_multi_person: Annotated[float, typer.Option(help="Share of scenes with 2-4 people.")] = 0.5,
    p_eyes_closed: Annotated[float, typer.Option(help="Share of people with closed eyes.")] = 0.08,
    p_eyes_hidden: Annotated[float, typer.Option(help="Share of people facing away.")] = 0.08,
    p_out_of_frame: Annotated[float, typer.Option(help="Share of people looking out of the "
                                                       "frame.")] = 0.1,
    p_look_at_person: Annotated[float, typer.Option(help="Share of people (in scenes with "
                                                         "several) looking at a person.")] = 0.2,
    p_empty_space: Annotated[float, typer.Option(help="Share of people looking at empty "
                                                      "space.")] = 0.05,
    p_shared_target: Annotated[float, typer.Option(help="Share of people looking at an object "
                                                        "someone else looks at.")] = 0.15,
    p_mutual: Annotated[float, typer.Option(help="Share of multi-person scenes in which two "
                                                 "people look at each other.")] = 0.0,
    test_fraction: Annotated[float, typer.Option(help="Share of scenes in the test split.")] = 0.2,
    head_scale: Annotated[float, typer.Option(help="Head size factor (bigger: easier for "
                                                   "tiny models).")] = 1.0,
    max_objects: Annotated[int, typer.Option(help="Most objects per scene (3-8).")] = 8,
) -> None:
    """Render GazeWorld scenes with exact gaze ground truth (source gazeworld:OUT)."""
    from vl4gaze.sources.gazeworld import WorldConfig, synthesize

    try:
        config = WorldConfig(
            size=size, p_multi_person=p_multi_person, p_eyes_closed=p_eyes_closed,
            p_eyes_hidden=p_eyes_hidden, p_out_of_frame=p_out_of_frame,
            p_look_at_person=p_look_at_person, p_empty_space=p_empty_space,
            p_shared_target=p_shared_target, p_mutual=p_mutual, test_fraction=test_fraction,
            head_scale=head_scale, max_objects=max_objects)
        synthesize(out, scenes, seed, config=config)
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"wrote {scenes} GazeWorld scenes to {out} (read them as gazeworld:{out})")


@app.command()
def inspect(
    source: Annotated[str, typer.Argument(help="A source as KIND:PATH.")],
    strict: Annotated[bool, typer.Option(help="Fail on the first problem.")] = False,
    examples: Annotated[int, typer.Option(help="How many examples to print.")] = 3,
    show_problems: Annotated[int, typer.Option(help="How many problem lines to list.")] = 20,
    allow_outside_root: Annotated[bool, typer.Option(
        help="Follow image paths in annotation files that leave the dataset root.")] = False,
) -> None:
    """Count a source's images and people, list validation problems, show examples."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from vl4gaze.sources.inspection import inspect_source, render_report

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console,
                  transient=True) as progress:
        task = progress.add_task(f"reading {source}", total=None)
        try:
            extra = {"allow_outside_root": True} if allow_outside_root else {}
            report = inspect_source(source, strict=strict, examples=examples, on_sample=lambda n:
                                    n % 1000 or progress.update(task, description=f"{n:,} people"),
                                    **extra)
        except ValueError as error:  # unknown kind, malformed spec
            _fail(str(error))
    render_report(report, Console(markup=False, highlight=False), max_problems=show_problems)
    if not report.ok:  # error-level problems (rows the source marks invalid do not count)
        console.print(f"error: {report.spec}: {len(report.errors):,} problems", style="red")
        raise typer.Exit(1)


@app.command()
def annotate(
    sources: SourceArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
    annotator: Annotated[str, typer.Option(help="boxes | vlm:SPEC")] = "boxes",
    coco: Annotated[Path | None, typer.Option(
        help="COCO instances JSON giving object boxes (matched by image file name).")] = None,
    tolerance: Annotated[float, typer.Option(
        help="Box rule: how far (normalized) the gaze point may lie from the nearest box.")
    ] = 0.05,
    threshold: Annotated[float, typer.Option(
        help="VLM rule: embedding cosine above which the two answers agree.")] = 0.6,
    cache: Annotated[Path | None, typer.Option(
        help="VLM answer cache (default OUT/cache.sqlite).")] = None,
    keep_source_targets: Annotated[bool, typer.Option(
        help="Keep targets the source already gives (still measured against).")] = False,
    executor: Annotated[Executor, typer.Option(
        help="Ray Data workers with ray (RAY_ADDRESS names the cluster).")] = "local",
    replicas: Annotated[int, typer.Option(
        help="Ray: VLM replicas (one GPU each when the cluster has GPUs).")] = 1,
) -> None:
    """Label gazed objects and describe people (from object boxes or with a VLM).

    Writes OUT/samples.jsonl (read it with `vl4gaze build annotated:OUT`), the side table
    OUT/annotations.jsonl and OUT/annotation_report.json (counts per rule, uncertain, and
    the error rate against the truth where the source knows it).
    """
    import json

    from vl4gaze.annotate import run_annotate

    try:
        from vl4gaze.executor import get_executor

        report = run_annotate(
            sources, out, annotator=annotator, coco=coco, tolerance=tolerance,
            threshold=threshold, cache_path=cache, keep_source_targets=keep_source_targets,
            progress=True, executor=get_executor(executor, replicas=replicas),
        )
    except (ValueError, OSError, ImportError) as error:
        _fail(str(error))
    summary = {k: report.get(k) for k in ("n_samples", "rules", "uncertain", "failures")}
    summary["truth"] = {k: report["truth"][k] for k in ("n_judged", "agreement_rate")}
    console.print(json.dumps(summary))
    console.print(f"wrote {out / 'samples.jsonl'}; build with `vl4gaze build annotated:{out}`")


@app.command()
def build(
    sources: SourceArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Benchmark directory.")],
    seed: SeedOpt = 0,
    person_ref: Annotated[Literal["box", "coords", "text"], typer.Option(
        help="How the question singles the person out.")] = "box",
    point_format: Annotated[Literal["norm", "norm1000", "pixel"], typer.Option(
        help="The coordinates point questions ask for.")] = "norm",
    ambiguity_ratio: Annotated[float, typer.Option(
        help="Share of ambiguous items in the ambiguity task (the rest: answerable "
             "look-alikes).")] = 0.5,
    cap: Annotated[list[str] | None, typer.Option(
        help="TASK=N: at most N items of a task per split (repeatable).")] = None,
    balance_directions: Annotated[bool, typer.Option(
        help="Keep equally many direction items of every class.")] = False,
    absent_rate: Annotated[float, typer.Option(
        help="Share of images that get a question about a person who is not there.")] = 0.25,
    images: Annotated[Literal["write", "link", "none"], typer.Option(
        help="write (copy + draw markers) | link (symlink clean images) | none (plan only; "
             "render later with --render-only)")] = "write",
    render_only: Annotated[bool, typer.Option(
        help="Only write the missing images of an existing benchmark (after --images none).")
    ] = False,
    executor: Annotated[Executor, typer.Option(
        help="ray: sources and images on Ray Data (the same Parquet).")] = "local",
    allow_empty: Annotated[bool, typer.Option(
        help="Write the benchmark even when the sources give no item.")] = False,
    allow_outside_root: Annotated[bool, typer.Option(
        help="Follow image paths in annotation files that leave the dataset root.")] = False,
    tasks: Annotated[str, typer.Option(
        help="Tasks and groups, comma-separated: paper (the VL4Gaze four), social (mutual, "
             "shared, whom), all, or task names.")] = "paper",
    workers: Annotated[int | None, typer.Option(
        min=1, help="Processes making the items of a large build (default: the CPUs, at "
                    "most 2); any number gives the same bytes.")] = None,
) -> None:
    """Turn gaze samples into the tasks' question-answer items (Parquet + card)."""
    from vl4gaze.build import RENDER_THREADS, BuildConfig, build_benchmark, render_images
    from vl4gaze.executor import get_executor

    try:  # ``workers`` here: the local executor's image threads (not --workers' processes)
        runner = get_executor(executor, workers=RENDER_THREADS)
    except (ValueError, ImportError) as err:
        _fail(str(err))
    if render_only:
        n = render_images(out, link=images == "link", executor=runner)
        console.print(f"wrote {n} images under {out / 'images'}")
        return
    caps: dict[str, int] = {}
    for entry in cap or []:
        task, sep, n = entry.partition("=")
        if not sep or not n.strip().isdigit():
            _fail(f"--cap {entry!r} is not TASK=N")
        caps[task.strip()] = int(n)
    try:
        config = BuildConfig(
            seed=seed, person_ref=person_ref, point_format=point_format,
            ambiguity_ratio=ambiguity_ratio, caps=caps or None,
            balance_directions=balance_directions, absent_rate=absent_rate, images=images,
            tasks=tasks)
        manifest = build_benchmark(
            sources, out, config, allow_empty=allow_empty, allow_outside_root=allow_outside_root,
            workers=workers, executor=runner)
    except (ValueError, OSError) as err:
        _fail(str(err))
    counts = manifest["counts"]
    tasks = ", ".join(f"{k} {v}" for k, v in counts["task"].items()) or "none"
    console.print(f"{counts['total']} items ({tasks}) from {manifest['samples']} samples "
                  f"-> {out}", style="green")
    if manifest["source_problems"]:
        console.print(f"{manifest['source_problems']:,} source problems were skipped: "
                      f"`vl4gaze inspect SOURCE` lists them", style="yellow")


@app.command()
def export(
    bench: Annotated[Path, typer.Argument(help="Benchmark directory.")],
    to: Annotated[Literal["lmms-eval", "vlmevalkit", "sharegpt", "trl", "hf"], typer.Option(
        "--to", help="The tool to export for.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
) -> None:
    """Export a benchmark for lmms-eval, VLMEvalKit, ShareGPT/LLaVA or TRL."""
    from vl4gaze.export import export_benchmark

    try:
        written = export_benchmark(bench, to, out)
    except (ValueError, OSError) as err:
        _fail(str(err))
    console.print(f"exported {bench} for {to} -> {written}", style="green")


@app.command("eval")
def eval_(
    bench: Annotated[Path, typer.Argument(help="Benchmark directory.")],
    model: Annotated[str, typer.Option(help=run_help("model"))],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run directory.")],
    shots: Annotated[int, typer.Option(help=run_help("shots"))] = 0,
    tasks: Annotated[list[str] | None, typer.Option(
        help=run_help("tasks") + " Repeat or comma-separate.")] = None,
    limit: Annotated[int | None, typer.Option(help=run_help("limit"))] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. "
                                                      "http://localhost:8000/v1.")] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API "
                                                  "key (never written).")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="Requests in flight (API models).")] = 8,
    request_timeout: Annotated[float, typer.Option(
        min=0.001, help="API models: seconds one HTTP request may take, connect to last "
                        "byte.")] = 120.0,
    item_timeout: Annotated[float, typer.Option(
        min=0.001, help="API models: seconds an item may take, retries and waits "
                        "included; then it is recorded as an error.")] = 600.0,
    batch_size: Annotated[int, typer.Option(help=run_help("batch_size"))] = 8,
    max_new_tokens: Annotated[int | None, typer.Option(
        min=1, help=run_help("max_new_tokens"))] = None,
    shard: Annotated[str, typer.Option(help=run_help("shard"))] = "0/1",
    point_convention: Annotated[Convention, typer.Option(
        help=run_help("point_convention"))] = "auto",
    seed: SeedOpt = 0,
    device: Annotated[str | None, typer.Option(help="cpu | cuda | cuda:1 | mps "
                                                    "(default: best available).")] = None,
    dtype: Annotated[Literal["auto", "float32", "float16", "bfloat16"], typer.Option(
        help="Model weights' dtype.")] = "auto",
    progress: Annotated[bool, typer.Option(help=run_help("progress"))] = True,
    score: Annotated[bool, typer.Option(help="Score the run when inference is done.")] = True,
    retry_errors: Annotated[bool, typer.Option(help=run_help("retry_errors"))] = False,
    executor: Annotated[Executor, typer.Option(help=run_help("executor"))] = "local",
    replicas: Annotated[int, typer.Option(help=run_help("replicas"))] = 1,
    tensor_parallel: Annotated[int, typer.Option(
        help="vllm: GPUs per model replica (tensor parallel).")] = 1,
) -> None:
    """Ask a model every question (resumable), then score the answers."""
    from vl4gaze.infer import run_inference
    from vl4gaze.models import FatalBackendError
    from vl4gaze.run_config import RunConfig

    kind = model.partition(":")[0]
    options: dict = {"device": device, "dtype": dtype} if kind != "vllm" else {"dtype": dtype}
    if kind == "openai":
        options = {"base_url": base_url, "api_key_env": api_key_env, "concurrency": concurrency,
                   "request_timeout": request_timeout, "item_timeout": item_timeout}
    elif kind.startswith("baseline"):
        options = {}
    if kind == "vllm" and tensor_parallel > 1:
        options["tensor_parallel_size"] = tensor_parallel
    try:
        config = RunConfig(
            model, model_options=options, shots=shots,
            tasks=tuple(t for arg in tasks or [] for t in arg.split(",")), limit=limit,
            seed=seed, batch_size=batch_size, max_new_tokens=max_new_tokens, shard=shard,
            point_convention=point_convention, progress=progress, retry_errors=retry_errors,
            executor=executor, replicas=replicas)
        result = run_inference(bench, out, config)
    except (ValueError, ImportError, OSError, FatalBackendError) as exc:
        _fail(str(exc))
    console.print(f"{result.answered} answered now, {result.skipped} already done, "
                  f"{result.errors} errors -> {result.predictions}")
    if result.errors:
        console.print(f"{result.errors} items ended in an error: rerun with --retry-errors "
                      "to ask them again", style="yellow")
    if config.shard[1] > 1:
        console.print(f"shard {shard}: run `vl4gaze score {out}` once every shard is done")
        return
    if not score:
        return
    from vl4gaze.score import score_run

    try:
        scores = score_run(out, progress=progress)
    except (ValueError, OSError) as err:
        _fail(f"scoring: {err}")
    _print_scores(scores)
    console.print(f"scores -> {out / 'scores.json'}")


def _print_scores(scores: dict) -> None:
    """The results table on stdout: every task's metrics with n, CI and parse rate."""
    from rich.table import Table

    table = Table(title=f"{scores['model']}: {scores['n_items']} items")
    for col in ("task", "n", "parse rate", "metric", "value", "95% CI"):
        table.add_column(col)
    for task, block in scores["tasks"].items():
        for name, m in block["metrics"].items():
            value = "-" if m["value"] is None else f"{m['value']:.3f}"
            ci = "-" if m["ci_low"] is None else f"[{m['ci_low']:.3f}, {m['ci_high']:.3f}]"
            table.add_row(task, str(block["n"]), f"{block['parse_rate']:.1%}", name, value, ci)
    Console(markup=False, highlight=False).print(table)


@app.command()
def score(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    convention: Annotated[Convention | None, typer.Option(
        help="Point convention; default: the run's.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% CIs.")] = 1000,
    workers: Annotated[int | None, typer.Option(
        help="Processes for a large run (from 50,000 answers; default: the CPUs, at most "
             "2); the same numbers for any.")] = None,
) -> None:
    """Parse a run's answers and compute every task's metrics with confidence intervals."""
    from vl4gaze.score import score_run

    try:
        scores = score_run(run, n_boot=n_boot, convention=convention, progress=True,
                           workers=workers)
    except (ValueError, OSError) as err:
        _fail(str(err))
    _print_scores(scores)
    console.print(f"wrote {run / 'scores.json'} and {run / 'items.parquet'}")


@app.command()
def train(
    bench: Annotated[Path, typer.Argument(help="Benchmark directory.")],
    model: Annotated[str, typer.Option(help=train_help("model"))],
    out: Annotated[Path, typer.Option("-o", "--out", help="Checkpoint directory.")],
    lora: Annotated[bool, typer.Option(help=train_help("lora"))] = True,
    epochs: Annotated[float, typer.Option(help=train_help("epochs"))] = 1.0,
    max_steps: Annotated[int | None, typer.Option(help=train_help("max_steps"))] = None,
    lr: Annotated[float | None, typer.Option(help=train_help("lr"))] = None,
    batch_size: Annotated[int, typer.Option(help=train_help("batch_size"))] = 8,
    grad_accum: Annotated[int, typer.Option(help=train_help("grad_accum"))] = 1,
    max_length: Annotated[int | None, typer.Option(help=train_help("max_length"))] = None,
    seed: SeedOpt = 0,
    task_mix: Annotated[str | None, typer.Option(help=train_help("task_mix"))] = None,
    merge: Annotated[bool, typer.Option(help=train_help("merge"))] = True,
    unfreeze_vision: Annotated[bool, typer.Option(help=train_help("unfreeze_vision"))
                               ] = False,
    resume: Annotated[bool, typer.Option(help=train_help("resume"))] = False,
    group_by_length: Annotated[bool, typer.Option(help=train_help("group_by_length"))
                               ] = False,
    deepspeed: Annotated[str | None, typer.Option(help=train_help("deepspeed"))] = None,
    loss_per: Annotated[str, typer.Option(help=train_help("loss_per"))] = "token",
) -> None:
    """Fine-tune a VLM on the benchmark's training split (TRL + PEFT); eval it as hf:OUT."""
    from vl4gaze.train.config import TrainConfig

    try:
        config = TrainConfig(model, lora=lora, epochs=epochs, max_steps=max_steps, lr=lr,
                             batch_size=batch_size, grad_accum=grad_accum,
                             max_length=max_length, seed=seed, task_mix=task_mix,
                             merge=merge, unfreeze_vision=unfreeze_vision, resume=resume,
                             group_by_length=group_by_length, deepspeed=deepspeed,
                             loss_per=loss_per)
        from vl4gaze.train.sft import train as run_train

        done = run_train(bench, out, config)
    except (ValueError, OSError) as err:
        _fail(str(err))
    console.print(f"trained: evaluate with `vl4gaze eval {bench} --model hf:{done} "
                  f"-o runs/{Path(done).name}`")


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Run directories.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Report directory.")],
    max_items: Annotated[int, typer.Option(
        help=report_help("max_items_per_task").replace("the CLI's 0", "0"))] = 40,
    title: Annotated[str, typer.Option(help=report_help("title"))] = "vl4gaze report",
) -> None:
    """Tables, plots and an HTML gallery of one or more runs."""
    from vl4gaze.report import ReportConfig, RunError, load_runs, write_report
    from vl4gaze.report.tables import rich_table

    try:
        config = ReportConfig(max_items_per_task=max_items or None, title=title)
        index = write_report(runs, out, config, console=console)
    except (RunError, ValueError) as exc:
        _fail(str(exc))
    Console(markup=False, highlight=False).print(rich_table(load_runs(runs)))
    console.print(f"open {index} in a browser")


@app.command()
def review(
    bench: Annotated[Path, typer.Argument(help="Benchmark directory.")],
    host: Annotated[str, typer.Option(help="Address to listen on (keep it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    split: Annotated[str, typer.Option(help="Split to review, or 'all'.")] = "test",
    reviewer: Annotated[str, typer.Option(help="Name recorded with each decision "
                                               "(default: your login).")] = "",
    export: Annotated[Path | None, typer.Option(help="Instead of serving: write a copy of "
                                                     "BENCH with the review applied here.")] = None,
    reviewed_only: Annotated[bool, typer.Option(help="With --export: drop unreviewed "
                                                     "items too.")] = False,
) -> None:
    """A local web tool to accept, fix or reject generated items (BENCH/review.sqlite)."""
    if not (bench / "data").is_dir():
        _fail(f"{bench}: not a benchmark directory (no data/ folder)")
    if export is not None:
        from vl4gaze.review.apply import export_reviewed

        try:
            manifest = export_reviewed(bench, export, reviewed_only=reviewed_only)
        except ValueError as exc:
            _fail(str(exc))
        review_info = manifest["review"]
        console.print(f"wrote {export}: {manifest['counts']['total']} items "
                      f"({review_info['removed']} removed); decisions "
                      + ", ".join(f"{k} {v}" for k, v in review_info["decisions"].items()))
        return
    import getpass

    import uvicorn

    from vl4gaze.review.app import create_app

    try:
        app_ = create_app(bench, split=None if split == "all" else split,
                          reviewer=reviewer or getpass.getuser())
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    console.print(f"reviewing {bench} at http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")] = Path(
        "demo-out"
    ),
    scenes: Annotated[int | None, typer.Option(help="GazeWorld scenes (default: the "
                                                    "preset's).")] = None,
    seed: SeedOpt = 0,
    quick: Annotated[bool, typer.Option(help="A tiny smoke run of the same flow.")] = False,
) -> None:
    """The whole flow on GazeWorld, offline: synth, build, eval, train, report."""
    from vl4gaze.demo import run_demo

    run_demo(out, scenes=scenes, seed=seed, quick=quick, console=Console(stderr=True))


@app.command("list")
def list_(
    what: Annotated[Literal["tasks", "sources", "models", "conventions"], typer.Argument(
        help="What to list.")] = "tasks",
) -> None:
    """List the tasks, source kinds, model kinds or point conventions."""
    if what == "tasks":
        from vl4gaze.tasks.registry import task_names

        lines = list(task_names())
    elif what == "sources":
        from vl4gaze.sources import READERS

        lines = [f"{kind}:{'PICKLE:IMAGES' if kind == 'goo' else 'PATH'}" for kind in READERS]
    elif what == "models":
        from vl4gaze.models.baselines import BASELINES

        lines = ["hf:NAME_OR_PATH", "openai:MODEL", "vllm:NAME_OR_PATH", "tiny[:SEED]",
                 "tiny-gaze[:SEED]", *(f"baseline:{name}" for name in BASELINES)]
    else:
        from vl4gaze.parse.conventions import CONVENTIONS

        lines = list(CONVENTIONS)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
