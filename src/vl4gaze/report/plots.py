"""Figures for the report (matplotlib, Agg backend, each saved as PNG and SVG).

- ``tasks``: the headline metric of each task, one bar per model, 95% CI error bars.
- then each task's own figures (``TaskSpec.figures``, a ``registry.Figure`` each), drawn
  here by kind: ``score_cdf`` (share of items within each per-item score; unparsed
  answers never arrive, so a model that often fails to answer stays low), ``confusion``
  (true vs parsed class, one panel per model), ``accuracy_by`` (accuracy per value of a
  target field). The paper's are point_l2_cdf, direction_confusion, ambiguity_by_reason.

A model keeps its colour in every figure and in the gallery (``run_colors``). A run with
no value for a task or reason gets a hatched grey "n/a" bar, never an empty slot that
reads like a score of 0; a real 0 is drawn as a bar outline on the baseline.

Every figure uses matplotlib's constrained layout, with legends outside the axes and
long model names wrapped, so that nothing overlaps or is cut off for 1 to 8 runs
(tests/test_report_layout.py checks each text's extent with the Agg renderer).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here, and no GUI toolkit to import
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex

from vl4gaze.report.runs import Run
from vl4gaze.report.tables import METRIC_TITLES, has_value, main_columns, metric_n
from vl4gaze.schema import QAItem
from vl4gaze.tasks import registry
from vl4gaze.tasks.registry import Figure

FORMATS = ("png", "svg")
NA_STYLE = {"color": "none", "hatch": "////", "edgecolor": "#b0b0b0", "linewidth": 0.0}
EDGE = {"edgecolor": "#333333", "linewidth": 0.6}  # a zero-height bar still shows a line

plt.rcParams.update({"svg.hashsalt": "vl4gaze", "figure.dpi": 110, "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})


def run_colors(runs: Sequence[Run]) -> list[str]:
    """One colour per run (tab10, then tab20), as hex, shared by plots and gallery."""
    cmap = plt.get_cmap("tab10" if len(runs) <= 10 else "tab20")
    return [to_hex(cmap(i % cmap.N)) for i in range(len(runs))]


def _save(fig: plt.Figure, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = out / f"{stem}.{fmt}"
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(path, format=fmt, metadata=metadata)  # layout: constrained, per figure
        paths.append(path)
    plt.close(fig)
    return paths


def _wrap(label: str, width: int) -> str:
    """Model names run long (``hf:llava-onevision-qwen2-7b-ov``): wrap, breaking words."""
    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label


def plot_tasks(runs: Sequence[Run], out: Path) -> list[Path]:
    """Headline metric per task: a horizontal bar per model with its 95% CI and value.

    Horizontal bars keep the model names level and readable for any number of runs; a
    run without a value gets a hatched "n/a" bar; when the runs' n differ within a task
    each value says its n.
    """
    columns = main_columns(runs)
    if not columns:
        return []
    colors = run_colors(runs)
    n_runs = len(runs)
    fig, axes = plt.subplots(1, len(columns), sharey=True, squeeze=False, layout="constrained",
                             figsize=(2.5 * len(columns) + 2.2, 0.34 * n_runs + 1.2))
    ys = np.arange(n_runs)
    for ax, column in zip(axes[0], columns, strict=True):
        metrics = [run.metric(column.task, column.metric) for run in runs]
        values = [float(m["value"]) for m in metrics if has_value(m)]  # type: ignore[index]
        unit = all(0.0 <= v <= 1.0 for v in values)
        top = 1.0 if unit else max([abs(v) for v in values] + [1e-9])
        ns = {metric_n(run, column.task, column.metric) for run, m in zip(runs, metrics,
                                                                         strict=True)
              if has_value(m)}
        for i, (run, metric) in enumerate(zip(runs, metrics, strict=True)):
            if not has_value(metric):
                ax.barh(i, top, height=0.7, **NA_STYLE)
                ax.text(top / 2, i, "n/a", ha="center", va="center", fontsize=7,
                        color="#555555", bbox={"facecolor": "white", "edgecolor": "none",
                                               "pad": 1.0})
                continue
            assert metric is not None
            value = float(metric["value"])
            low, high = metric.get("ci_low"), metric.get("ci_high")
            err = [[max(0.0, value - float(low)) if low is not None else 0.0],
                   [max(0.0, float(high) - value) if high is not None else 0.0]]
            ax.barh(i, value, height=0.7, color=colors[i], xerr=err, capsize=2,
                    error_kw={"ecolor": "#333333", "elinewidth": 0.8}, **EDGE)
            text = _fmt_value(value)
            if len(ns) > 1:
                text += f" (n={metric_n(run, column.task, column.metric)})"
            ax.text(max(value, value + err[1][0]) + 0.03 * top, i, text, va="center",
                    fontsize=7)
        ax.set_xlim(0, top * (1.75 if len(ns) > 1 else 1.4))
        if unit:
            ax.set_xticks([0, 0.5, 1.0])
        ax.set_yticks(ys, [_wrap(r.label, 28) for r in runs], fontsize=8)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(n_runs - 0.5, -0.5)  # first run on top, as in the table
        name = METRIC_TITLES.get(column.metric, column.metric)
        ax.set_title(f"{column.task}: {name} {'↑' if column.higher_is_better else '↓'}",
                     fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    return _save(fig, out, "tasks")


def _fmt_value(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def _rows(run: Run, task: str) -> list[dict]:
    return [row for row in run.rows if row["task"] == task]


def cdf_values(run: Run, task: str) -> list[float]:
    """Per-item scores of a run's ``task`` answers; unparsed or failed answers are infinite."""
    values = []
    for row in _rows(run, task):
        score = row.get("score")
        ok = score is not None and not math.isnan(float(score)) and row.get("parsed") is not None
        values.append(float(score) if ok else math.inf)
    return values


def plot_score_cdf(runs: Sequence[Run], items: dict[str, QAItem], task: str,
                   figure: Figure, out: Path) -> list[Path]:
    """Cumulative share of the task's answers within each score (a ``score_cdf`` figure)."""
    series = [(i, run, cdf_values(run, task)) for i, run in enumerate(runs)]
    series = [s for s in series if s[2]]
    if not series:
        return []
    colors = run_colors(runs)
    grid = np.linspace(0.0, figure.xmax, 201)
    longest = max(len(_wrap(run.label, 30).split("\n")[0]) for _, run, _ in series)
    fig, ax = plt.subplots(figsize=(4.6 + 0.065 * longest, 3.4), layout="constrained")
    for i, run, values in series:
        arr = np.sort(np.asarray(values))
        share = np.searchsorted(arr, grid, side="right") / len(arr)
        ax.plot(grid, share, color=colors[i], label=f"{_wrap(run.label, 30)} (n={len(arr)})",
                linewidth=1.6)
    for threshold in figure.marks:
        ax.axvline(threshold, color="#999999", linestyle=":", linewidth=1)
    ax.set_xlabel(figure.xlabel)
    ax.set_ylabel(figure.ylabel)
    ax.set_xlim(0, figure.xmax)
    ax.set_ylim(0, 1.01)
    ax.set_title(figure.title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return _save(fig, out, figure.name)


def confusion(run: Run, items: dict[str, QAItem], task: str, figure: Figure) -> np.ndarray:
    """Counts, rows = true class (``figure.classes`` order), columns = predicted class +
    'none' (unparsed, or a value that is no class)."""
    classes = list(figure.classes)
    matrix = np.zeros((len(classes), len(classes) + 1), dtype=int)
    for row in _rows(run, task):
        item = items.get(row["item_id"])
        truth = None if item is None else item.target.get(figure.key)
        if truth not in classes:
            continue
        parsed = row.get("parsed")
        pred = parsed if figure.predicted is None or parsed is None else getattr(
            parsed, figure.predicted)
        col = classes.index(pred) if pred in classes else len(classes)
        matrix[classes.index(truth), col] += 1
    return matrix


def plot_confusion(runs: Sequence[Run], items: dict[str, QAItem], task: str,
                   figure: Figure, out: Path) -> list[Path]:
    """Row-normalized confusion matrices (a ``confusion`` figure), one panel per model."""
    panels = [(run, confusion(run, items, task, figure)) for run in runs]
    panels = [(run, m) for run, m in panels if m.sum() > 0]
    if not panels:
        return []
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(4.6, 2.6 * ncols + 0.6), 2.9 * nrows + 0.6),
                             squeeze=False, layout="constrained")
    classes = list(figure.classes)
    labels = [*classes, "none"]
    for k, (ax, (run, matrix)) in enumerate(zip(axes.flat, panels, strict=False)):
        totals = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
        # aspect "auto": a fixed aspect shrinks the panel after the layout placed its labels
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for r in range(matrix.shape[0]):
            for c in range(matrix.shape[1]):
                if matrix[r, c]:
                    ax.text(c, r, str(matrix[r, c]), ha="center", va="center", fontsize=6,
                            color="white" if share[r, c] > 0.6 else "black")
        # tick labels on the outer panels only: text layout is most of the drawing time
        bottom = k + ncols >= len(panels)  # no panel below this one
        ax.set_xticks(range(len(labels)), labels if bottom else [], rotation=90, fontsize=7)
        ax.set_yticks(range(len(classes)), classes if k % ncols == 0 else [], fontsize=7)
        if bottom:
            ax.set_xlabel("predicted")
        if k % ncols == 0:
            ax.set_ylabel("true")
        ax.set_title(_wrap(f"{run.label} (n={int(matrix.sum())})", 26), fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.remove()  # an empty panel would still hold the space of its tick labels
    fig.suptitle(_wrap(f"{figure.title} (colour: row share; numbers: counts)",
                       max(48, 34 * ncols)))
    return _save(fig, out, figure.name)


def accuracy_by(run: Run, items: dict[str, QAItem], task: str,
                figure: Figure) -> dict[str, tuple[float, int]]:
    """Accuracy and item count per value of the target field ``figure.key`` (a missing
    or null value counts as ``figure.default``)."""
    hits: dict[str, list[bool]] = {}
    for row in _rows(run, task):
        item = items.get(row["item_id"])
        if item is None or row.get("correct") is None:
            continue
        group = str(item.target.get(figure.key) or figure.default)
        hits.setdefault(group, []).append(bool(row["correct"]))
    return {group: (sum(v) / len(v), len(v)) for group, v in hits.items()}


def plot_accuracy_by(runs: Sequence[Run], items: dict[str, QAItem], task: str,
                     figure: Figure, out: Path) -> list[Path]:
    """Grouped bars (an ``accuracy_by`` figure): accuracy per group, per model."""
    stats = [accuracy_by(run, items, task, figure) for run in runs]
    groups = sorted({g for s in stats for g in s if g != figure.default})
    if any(figure.default in s for s in stats):
        groups.append(figure.default)
    if not groups:
        return []
    colors = run_colors(runs)
    width = 0.8 / len(runs)
    longest = max(len(_wrap(run.label, 30).split("\n")[0]) for run in runs)
    group = max(1.1, 0.16 * len(runs) + 0.3)
    fig, ax = plt.subplots(figsize=(group * len(groups) + 1.6 + 0.065 * longest, 3.4),
                           layout="constrained")
    for i, (run, stat) in enumerate(zip(runs, stats, strict=True)):
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(groups))]
        have = [(x, stat[g][0]) for x, g in zip(xs, groups, strict=True) if g in stat]
        if have:
            ax.bar([x for x, _ in have], [y for _, y in have], width=width, color=colors[i],
                   label=_wrap(run.label, 30), **EDGE)
        missing = [x for x, g in zip(xs, groups, strict=True) if g not in stat]
        if missing:  # no such item for this run: hatched, so it cannot pass for 0
            ax.bar(missing, [1.0] * len(missing), width=width, **NA_STYLE,
                   label=None if have else f"{_wrap(run.label, 30)} (n/a)")
    counts = [max((s[g][1] for s in stats if g in s), default=0) for g in groups]
    ax.set_xticks(range(len(groups)),
                  [f"{_wrap(g.replace('_', ' '), 11)}\n(n={n})" for g, n in zip(groups, counts,
                                                                             strict=True)],
                  fontsize=7)
    ax.set_ylim(-0.03, 1.05)  # a bar of 0 shows as a line just above the axis
    ax.set_ylabel("accuracy")
    ax.set_title(figure.title)
    ax.legend(fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out, figure.name)


#: How each ``Figure.kind`` is drawn.
DRAW = {"score_cdf": plot_score_cdf, "confusion": plot_confusion,
        "accuracy_by": plot_accuracy_by}


def write_plots(runs: Sequence[Run], items: dict[str, QAItem], out: Path) -> dict[str, list[Path]]:
    """Every figure that has data, as {name: [png, svg]}: the headline bars, then each
    task's declared figures in registry order."""
    made = {"tasks": plot_tasks(runs, out)}
    for spec in registry.specs():
        for figure in spec.figures:
            made[figure.name] = DRAW[figure.kind](runs, items, spec.name, figure, out)
    return {name: paths for name, paths in made.items() if paths}
