"""The ``vl4gaze`` command line: it only parses options and wires the stages together.

Each command imports its stage lazily, so ``vl4gaze --help`` stays fast and a command
never pays for another's dependencies (torch, transformers, ray...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="vl4gaze",
    help="Gaze-following data as a vision-language benchmark: build, ask any VLM, score, "
    "fine-tune, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)

SourceArg = Annotated[list[str], typer.Argument(help="Sources as KIND:PATH (gazefollow:ROOT, "
                                                "vat:ROOT, childplay:ROOT, goo:PICKLE:IMAGES, "
                                                "gazeworld:DIR, images:DIR).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same output.")]


def _not_yet(command: str) -> None:
    console.print(f"[red]vl4gaze {command} is not available yet in this version.[/red]")
    raise typer.Exit(2)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


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
    test_fraction: Annotated[float, typer.Option(help="Share of scenes in the test split.")] = 0.2,
) -> None:
    """Render GazeWorld scenes with exact gaze ground truth (source gazeworld:OUT)."""
    from vl4gaze.sources.gazeworld import synthesize

    try:
        synthesize(out, scenes, seed, size, p_multi_person=p_multi_person,
                   p_eyes_closed=p_eyes_closed, p_eyes_hidden=p_eyes_hidden,
                   p_out_of_frame=p_out_of_frame, p_look_at_person=p_look_at_person,
                   p_empty_space=p_empty_space, test_fraction=test_fraction)
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"wrote {scenes} GazeWorld scenes to [bold]{out}[/bold] "
                  f"(read them as gazeworld:{out})")


@app.command()
def inspect(
    source: Annotated[str, typer.Argument(help="A source as KIND:PATH.")],
    strict: Annotated[bool, typer.Option(help="Fail on the first problem.")] = False,
    examples: Annotated[int, typer.Option(help="How many examples to print.")] = 3,
) -> None:
    """Count a source's images and people, list validation problems, show examples."""
    _not_yet("inspect")


@app.command()
def annotate(
    sources: SourceArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
    annotator: Annotated[str, typer.Option(help="boxes | vlm:SPEC")] = "boxes",
) -> None:
    """Label gazed objects and describe people (from object boxes or with a VLM)."""
    _not_yet("annotate")


@app.command()
def build(
    sources: SourceArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Benchmark directory.")],
    seed: SeedOpt = 0,
    person_ref: Annotated[str, typer.Option(help="box | coords | text")] = "box",
    point_format: Annotated[str, typer.Option(help="norm | norm1000 | pixel")] = "norm",
) -> None:
    """Turn gaze samples into the four tasks' question-answer items (Parquet + card)."""
    _not_yet("build")


@app.command()
def export(
    bench: Annotated[Path, typer.Argument(help="Benchmark directory.")],
    to: Annotated[str, typer.Option("--to", help="lmms-eval | vlmevalkit | sharegpt | trl")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
) -> None:
    """Export a benchmark for lmms-eval, VLMEvalKit, ShareGPT/LLaVA or TRL."""
    _not_yet("export")


@app.command("eval")
def eval_(
    bench: Annotated[Path, typer.Argument(help="Benchmark directory.")],
    model: Annotated[str, typer.Option(help="hf:NAME | openai:MODEL | vllm:NAME | "
                                            "baseline:NAME | tiny")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run directory.")],
    shots: Annotated[int, typer.Option(help="In-context examples per question.")] = 0,
    tasks: Annotated[list[str] | None, typer.Option(help="Tasks to run (default: all).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most N items per task.")] = None,
) -> None:
    """Ask a model every question (resumable), then score the answers."""
    _not_yet("eval")


@app.command()
def score(run: Annotated[Path, typer.Argument(help="Run directory.")]) -> None:
    """Parse a run's answers and compute every task's metrics with confidence intervals."""
    _not_yet("score")


@app.command()
def train(
    bench: Annotated[Path, typer.Argument(help="Benchmark directory.")],
    model: Annotated[str, typer.Option(help="hf:NAME_OR_PATH | tiny")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Checkpoint directory.")],
    lora: Annotated[bool, typer.Option(help="LoRA (default) or full fine-tuning.")] = True,
) -> None:
    """Fine-tune a VLM on the benchmark's training split (TRL + PEFT)."""
    _not_yet("train")


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Run directories.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Report directory.")],
) -> None:
    """Tables, plots and an HTML gallery of one or more runs."""
    _not_yet("report")


@app.command()
def review(bench: Annotated[Path, typer.Argument(help="Benchmark directory.")]) -> None:
    """A local web tool to accept, fix or reject generated items."""
    _not_yet("review")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")] = Path(
        "demo-out"
    ),
) -> None:
    """The whole flow on GazeWorld, offline: synth, build, eval, train, report."""
    _not_yet("demo")


if __name__ == "__main__":
    app()
