"""The model x task table of the paper (Markdown, LaTeX, CSV), with CIs, n and parse rates.

One headline metric per task (``TaskSpec.headline``, ``vl4gaze.tasks.registry``) makes
the main table readable; every metric of every task goes to ``metrics.csv`` and to
per-task tables in ``table.md``.
Each cell carries the number of items it was computed over, because runs may cover
different items (``coverage_warnings``), and a run without a value reads ``n/a``, never a
number. The best model per column is in bold (the oracle excluded: it answers with the
ground truth).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vl4gaze.report.runs import Run, coverage_warnings, tasks_present
from vl4gaze.tasks import registry  # one headline per task, declared by the task

METRIC_TITLES: dict[str, str] = {
    "avg_l2": "avg L2",
    "min_l2": "min L2",
    "acc@0.1": "acc@0.1",
    "acc@0.2": "acc@0.2",
    "angular_error": "ang. err (deg)",
    "accuracy": "acc",
    "balanced_accuracy": "bal. acc",
    "adjacent_accuracy": "adj. acc",
    "label_match": "label match",
    "embedding_similarity": "sim",
    "rouge_l": "ROUGE-L",
    "cider": "CIDEr",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
}

#: What a cell shows when a run has no value for it (a dash reads like a zero in a table).
NA = "n/a"

LONG_COLUMNS = ("model", "run", "task", "metric", "value", "ci_low", "ci_high",
                "higher_is_better", "n", "parse_rate")


@dataclass(frozen=True)
class Column:
    """One numeric column of a table: a task's metric (or a task's parse rate)."""

    task: str
    metric: str
    title: str
    higher_is_better: bool


def headline_metric(runs: Sequence[Run], task: str) -> str | None:
    """The task's headline metric, or the first metric any run reports for it."""
    names: list[str] = []
    for run in runs:
        for name in (run.task_scores(task) or {}).get("metrics", {}):
            if name not in names:
                names.append(name)
    preferred = registry.headlines().get(task)
    if preferred in names:
        return preferred
    return names[0] if names else None


def _higher(runs: Sequence[Run], task: str, metric: str) -> bool:
    for run in runs:
        found = run.metric(task, metric)
        if found is not None and "higher_is_better" in found:
            return bool(found["higher_is_better"])
    return not (metric.endswith("l2") or metric.endswith("error"))


def _arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


def has_value(metric: dict[str, Any] | None) -> bool:
    """Whether a metric holds a number (a missing task or a null value does not)."""
    if metric is None or metric.get("value") is None:
        return False
    try:
        return not math.isnan(float(metric["value"]))
    except (TypeError, ValueError):
        return False


def metric_n(run: Run, task: str, metric: str) -> int | None:
    """Items behind a metric: its own ``n`` when the scorer gives one, else the task's."""
    found = run.metric(task, metric) or {}
    n = found.get("n", (run.task_scores(task) or {}).get("n"))
    return None if n is None else int(n)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    value = float(value)
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def _fmt_ci(metric: dict[str, Any] | None, n: int | None = None) -> str:
    """``value [low, high]``, then `` (n=N)`` when ``n`` is given; ``n/a`` without a value."""
    if not has_value(metric):
        return NA
    assert metric is not None
    text = _fmt(metric.get("value"))
    low, high = metric.get("ci_low"), metric.get("ci_high")
    if low is not None and high is not None:
        text += f" [{_fmt(low)}, {_fmt(high)}]"
    if n is not None:
        text += f" (n={n})"
    return text


def _best(runs: Sequence[Run], column: Column) -> set[int]:
    """Indices of the runs that are best in a column (ties all win; oracle excluded)."""
    values: dict[int, float] = {}
    for i, run in enumerate(runs):
        metric = run.metric(column.task, column.metric)
        if run.is_oracle or not has_value(metric):
            continue
        value = float(metric["value"])  # type: ignore[index]
        values[i] = value if column.higher_is_better else -value
    if len(values) < 2:
        return set()
    top = max(values.values())
    if all(math.isclose(v, top, rel_tol=1e-9, abs_tol=1e-12) for v in values.values()):
        return set()  # everybody ties: nobody stands out
    return {i for i, v in values.items() if math.isclose(v, top, rel_tol=1e-9, abs_tol=1e-12)}


def main_columns(runs: Sequence[Run]) -> list[Column]:
    columns = []
    for task in tasks_present(runs):
        metric = headline_metric(runs, task)
        if metric is None:
            continue
        higher = _higher(runs, task, metric)
        title = f"{task.capitalize()} {METRIC_TITLES.get(metric, metric)} {_arrow(higher)}"
        columns.append(Column(task, metric, title, higher))
    return columns


def overall_parse_rate(run: Run) -> float | None:
    """Parse rate over all items of a run, each task weighted by its item count."""
    total = parsed = 0.0
    for body in run.scores.get("tasks", {}).values():
        n, rate = body.get("n"), body.get("parse_rate")
        if n and rate is not None:
            total += n
            parsed += n * rate
    return parsed / total if total else None


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = [_md_row(header), _md_row(["---"] + ["---:"] * (len(header) - 1))]
    lines += [_md_row(row) for row in body]
    return "\n".join(lines)


def main_table_cells(runs: Sequence[Run]) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and rows of the main table; each cell is (text, is_best) (HTML and Markdown)."""
    columns = main_columns(runs)
    best = {c: _best(runs, c) for c in columns}
    header = ["Model", *[c.title for c in columns], "Parsed"]
    body = []
    for i, run in enumerate(runs):
        cells = [(run.label, False)]
        for column in columns:
            metric = run.metric(column.task, column.metric)
            cells.append((_fmt_ci(metric, metric_n(run, column.task, column.metric)),
                          i in best[column]))
        rate = overall_parse_rate(run)
        cells.append((NA if rate is None else f"{rate:.0%}", False))
        body.append(cells)
    return header, body


def main_table_markdown(runs: Sequence[Run]) -> str:
    """The paper's main table: one headline metric per task with 95% CI and n, parse rate."""
    header, body = main_table_cells(runs)
    return _md_table(header, [[f"**{t}**" if b else t for t, b in row] for row in body])


def task_table_markdown(runs: Sequence[Run], task: str) -> str:
    """Every metric of one task, with n and parse rate, one row per model."""
    names: list[str] = []
    for run in runs:
        for name in (run.task_scores(task) or {}).get("metrics", {}):
            if name not in names:
                names.append(name)
    columns = [Column(task, m, f"{METRIC_TITLES.get(m, m)} {_arrow(_higher(runs, task, m))}",
                      _higher(runs, task, m)) for m in names]
    best = {c: _best(runs, c) for c in columns}
    header = ["Model", "n", "Parsed", *[c.title for c in columns]]
    body = []
    for i, run in enumerate(runs):
        scores = run.task_scores(task)
        if scores is None:
            continue
        rate = scores.get("parse_rate")
        cells = [run.label, str(scores.get("n", NA)), NA if rate is None else f"{rate:.0%}"]
        for column in columns:
            text = _fmt_ci(run.metric(task, column.metric))
            cells.append(f"**{text}**" if i in best[column] else text)
        body.append(cells)
    return _md_table(header, body)


MAIN_NOTE = ("Headline metric per task (docs/scoring.md, 'The headline') with its 95% "
             "bootstrap confidence interval and n, the items it is computed over; "
             "best non-oracle model in bold; n/a: the run has no value for the task.")


def report_markdown(runs: Sequence[Run]) -> str:
    """table.md: a warning when runs cover different items, the main table, then one
    detailed table per task."""
    parts = ["## Main results", ""]
    warnings = coverage_warnings(runs)
    if warnings:
        parts += ["> **Warning: the runs were scored on different items.**", ">"]
        parts += [f"> - {line}" for line in warnings]
        parts.append("")
    parts += [MAIN_NOTE, "", main_table_markdown(runs), ""]
    for task in tasks_present(runs):
        parts += [f"### {task.capitalize()}", "", task_table_markdown(runs, task), ""]
    return "\n".join(parts)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters (model names carry underscores and paths)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def main_table_latex(runs: Sequence[Run]) -> str:
    """The main table as a booktabs tabular: value with CI as subscript-sized text."""
    columns = main_columns(runs)
    best = {c: _best(runs, c) for c in columns}
    arrows = {True: r"$\uparrow$", False: r"$\downarrow$"}
    head = ["Model"] + [
        latex_escape(f"{c.task.capitalize()} {METRIC_TITLES.get(c.metric, c.metric)} ")
        + arrows[c.higher_is_better] for c in columns] + ["Parsed"]
    lines = [r"\begin{tabular}{l" + "r" * (len(columns) + 1) + "}", r"\toprule",
             " & ".join(head) + r" \\", r"\midrule"]
    for i, run in enumerate(runs):
        cells = [latex_escape(run.label)]
        for column in columns:
            metric = run.metric(column.task, column.metric)
            if not has_value(metric):
                cells.append(r"n/a")
                continue
            assert metric is not None
            value = _fmt(metric.get("value"))
            if i in best[column]:
                value = rf"\textbf{{{value}}}"
            if metric.get("ci_low") is not None and metric.get("ci_high") is not None:
                value += rf" {{\scriptsize[{_fmt(metric['ci_low'])}, {_fmt(metric['ci_high'])}]}}"
            n = metric_n(run, column.task, column.metric)
            if n is not None:
                value += rf" {{\scriptsize $n$={n}}}"
            cells.append(value)
        rate = overall_parse_rate(run)
        cells.append("--" if rate is None else rf"{rate * 100:.0f}\%")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def long_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Every metric of every task of every run, one row each (metrics.csv)."""
    rows = []
    for run in runs:
        for task in tasks_present([run]):
            body = run.task_scores(task) or {}
            for name, metric in body.get("metrics", {}).items():
                rows.append({
                    "model": run.label, "run": str(run.path), "task": task, "metric": name,
                    "value": metric.get("value"), "ci_low": metric.get("ci_low"),
                    "ci_high": metric.get("ci_high"),
                    "higher_is_better": metric.get("higher_is_better"),
                    "n": body.get("n"), "parse_rate": body.get("parse_rate"),
                })
    return rows


def _write_main_csv(runs: Sequence[Run], path: Path) -> None:
    columns = main_columns(runs)
    header = ["model"]
    for c in columns:
        header += [f"{c.task}_{c.metric}", f"{c.task}_{c.metric}_ci_low",
                   f"{c.task}_{c.metric}_ci_high", f"{c.task}_n", f"{c.task}_parse_rate"]
    header.append("parse_rate")
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for run in runs:
            row: list[Any] = [run.label]
            for c in columns:
                metric = run.metric(c.task, c.metric) or {}
                body = run.task_scores(c.task) or {}
                row += [metric.get("value"), metric.get("ci_low"), metric.get("ci_high"),
                        body.get("n"), body.get("parse_rate")]
            row.append(overall_parse_rate(run))
            writer.writerow(["" if v is None else v for v in row])


def write_tables(runs: Sequence[Run], out: Path) -> dict[str, Path]:
    """Write table.md, table.tex, table.csv (main table) and metrics.csv (everything)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "table.md", "latex": out / "table.tex",
             "csv": out / "table.csv", "metrics_csv": out / "metrics.csv"}
    paths["markdown"].write_text(report_markdown(runs))
    paths["latex"].write_text(main_table_latex(runs))
    _write_main_csv(runs, paths["csv"])
    with paths["metrics_csv"].open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LONG_COLUMNS)
        writer.writeheader()
        for row in long_rows(runs):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return paths


def rich_table(runs: Sequence[Run], title: str = "Main results (95% CI)"):
    """The main table for the terminal (rich), best cells in bold."""
    from rich.table import Table
    from rich.text import Text

    header, body = main_table_cells(runs)
    warnings = coverage_warnings(runs)
    caption = ("warning: the runs answered different items (see the report)" if warnings
               else "n: items per task")
    table = Table(title=title, header_style="bold", caption=caption)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in body:
        table.add_row(*[Text(t, style="bold" if b else "") for t, b in row])  # no markup
    return table
