"""``vl4gaze inspect``: what a source holds and what is wrong with it, without building.

Counts images, people, annotators per person, in/out, flags and splits, collects every
validation problem (errors, rows the source marks invalid, warnings about lines that are
kept) with its file, line and field, and keeps a few example samples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vl4gaze.schema import GazeSample
from vl4gaze.sources import parse_spec, read_source
from vl4gaze.sources.problems import ERROR, WARNING, SourceError, SourceProblem, printable


@dataclass
class InspectReport:
    """Everything ``inspect`` found in one source."""

    spec: str
    kind: str
    people: int = 0
    images: int = 0
    splits: Counter = field(default_factory=Counter)
    inout: Counter = field(default_factory=Counter)
    flags: Counter = field(default_factory=Counter)
    #: annotators (gaze points) per person -> number of people
    annotators: Counter = field(default_factory=Counter)
    #: people in the image -> number of images
    people_per_image: Counter = field(default_factory=Counter)
    with_target: int = 0
    problems: list[SourceProblem] = field(default_factory=list)
    examples: list[GazeSample] = field(default_factory=list)
    #: Set when strict mode stopped at the first problem.
    stopped: str | None = None

    @property
    def errors(self) -> list[SourceProblem]:
        """Problems that are faults (not rows the source itself marks invalid)."""
        return [p for p in self.problems if p.kind == ERROR]

    @property
    def warnings(self) -> list[SourceProblem]:
        """Lines read and kept that look wrong (e.g. rows a finer grouping would split)."""
        return [p for p in self.problems if p.kind == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors and self.stopped is None

    def problem_counts(self) -> Counter:
        """(kind, field) -> how many problems."""
        return Counter((p.kind, p.field or "-") for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "kind": self.kind, "people": self.people, "images": self.images,
            "splits": dict(self.splits), "inout": dict(self.inout), "flags": dict(self.flags),
            "annotators": {str(k): v for k, v in sorted(self.annotators.items())},
            "people_per_image": {str(k): v for k, v in sorted(self.people_per_image.items())},
            "with_target": self.with_target,
            "problems": [vars(p) for p in self.problems],
            "examples": [s.to_dict() for s in self.examples],
            "stopped": self.stopped,
        }


def inspect_source(
    spec: str,
    *,
    strict: bool = False,
    examples: int = 3,
    on_sample: Callable[[int], None] | None = None,
    **options: Any,
) -> InspectReport:
    """Read a whole source (``KIND:PATH``) and summarize it.

    In strict mode the reader stops at the first problem; the report then holds that
    problem and ``stopped`` says so, instead of raising. ``on_sample(n)`` is called after
    every sample (progress display).
    """
    kind, _ = parse_spec(spec)
    report = InspectReport(spec=spec, kind=kind)
    images: dict[str, int] = {}
    try:
        for sample in read_source(spec, strict=strict, problems=report.problems, **options):
            report.people += 1
            report.splits[sample.split] += 1
            report.inout[str(sample.inout)] += 1
            report.annotators[len(sample.gaze)] += 1
            report.flags.update(str(f) for f in sample.flags)
            report.with_target += sample.target.label is not None or sample.target.box is not None
            images.setdefault(sample.image, len(sample.others) + 1)
            if len(report.examples) < examples:
                report.examples.append(sample)
            if on_sample is not None:
                on_sample(report.people)
    except SourceError as error:
        report.problems.append(error.problem)
        report.stopped = str(error)
    report.images = len(images)
    report.people_per_image = Counter(images.values())
    return report


def _safe_table() -> type:
    from rich.table import Table

    class SafeTable(Table):
        """A table whose cells (text from annotation files) cannot drive the terminal."""

        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            super().add_row(*(printable(c) if isinstance(c, str) else c for c in cells),
                            **kwargs)

    return SafeTable


def render_report(report: InspectReport, console: Any, *, max_problems: int = 20) -> None:
    """Print an InspectReport as rich tables on ``console`` (a rich Console); every text
    cell goes through ``printable`` (no escape codes from a file reach the terminal)."""
    from rich.table import Table

    SafeTable = _safe_table()

    def spread(counter: Counter) -> str:
        return ", ".join(f"{k}: {v:,}" for k, v in sorted(counter.items(), key=lambda kv:
                                                          str(kv[0]))) or "-"

    counts = SafeTable(title=printable(report.spec), show_header=False, title_justify="left")
    counts.add_column("what", style="bold")
    counts.add_column("value")
    counts.add_row("images", f"{report.images:,}")
    counts.add_row("people (samples)", f"{report.people:,}")
    counts.add_row("splits (people)", spread(report.splits))
    counts.add_row("in / out", spread(report.inout))
    counts.add_row("annotators per person", spread(report.annotators))
    counts.add_row("people per image", spread(report.people_per_image))
    counts.add_row("flags", spread(report.flags))
    counts.add_row("with a gazed-object target", f"{report.with_target:,}")
    console.print(counts)

    if report.problems:
        summary = Table(title=f"Problems: {len(report.problems):,} "
                              f"({len(report.errors):,} errors, {len(report.warnings):,} "
                              "warnings)", title_justify="left")
        for column in ("kind", "field", "count"):
            summary.add_column(column)
        for (kind, name), n in sorted(report.problem_counts().items()):
            summary.add_row(kind, name, f"{n:,}")
        console.print(summary)
        lines = SafeTable(title=f"First {min(max_problems, len(report.problems))} problems",
                      title_justify="left")
        for column in ("file", "line", "field", "message"):
            lines.add_column(column, overflow="fold")
        for p in report.problems[:max_problems]:
            lines.add_row(p.file, "-" if p.line is None else str(p.line), p.field or "-",
                          p.message)
        console.print(lines)
    else:
        console.print("No problems found.", style="green")

    for number, s in enumerate(report.examples, start=1):
        table = SafeTable(title=f"Example {number}: {printable(s.source_id)}",
                           show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        mean = s.gaze_mean
        eye = s.person.eye
        table.add_row("image", f"{s.image} ({s.width}x{s.height}, {s.split})")
        table.add_row("head box", "({:.3f}, {:.3f}, {:.3f}, {:.3f})".format(
            *s.person.head.as_tuple()))
        table.add_row("eye", "-" if eye is None else f"({eye.x:.3f}, {eye.y:.3f})")
        table.add_row("gaze", "-" if mean is None else
                      f"mean ({mean.x:.3f}, {mean.y:.3f}) of {len(s.gaze)} annotator(s)")
        table.add_row("in/out, others", f"{s.inout}, {len(s.others)} other people")
        if s.target.label or s.target.box:
            table.add_row("target", f"{s.target.label} ({s.target.kind}, {s.target.rule})")
        if s.objects:
            table.add_row("objects", ", ".join(o.label for o in s.objects))
        if s.flags:
            table.add_row("flags", ", ".join(s.flags))
        console.print(table)
    if report.stopped:
        console.print(f"strict mode stopped at the first problem: {report.stopped}", style="red")
