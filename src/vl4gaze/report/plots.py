"""Figures for the report (matplotlib, Agg backend, each saved as PNG and SVG).

- ``tasks``: the headline metric of each task, one bar per model, 95% CI error bars.
- ``point_l2_cdf``: share of point answers within a given L2 distance (unparsed answers
  never arrive, so a model that often fails to answer stays low).
- ``direction_confusion``: true vs predicted direction class, one panel per model.
- ``ambiguity_by_reason``: accuracy on ambiguity items by reason (and on answerable ones).

A model keeps its colour in every figure and in the gallery (``run_colors``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here, and no GUI toolkit to import
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex

from vl4gaze.geometry import DIRECTIONS
from vl4gaze.report.runs import Run, parsed_direction
from vl4gaze.report.tables import METRIC_TITLES, main_columns
from vl4gaze.schema import QAItem

FORMATS = ("png", "svg")
ANSWERABLE = "answerable"

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
        fig.savefig(path, format=fmt, metadata=metadata)  # layout done by tight_layout
        paths.append(path)
    plt.close(fig)
    return paths


def plot_tasks(runs: Sequence[Run], out: Path) -> list[Path]:
    """Headline metric per task, a bar per model with its confidence interval."""
    columns = main_columns(runs)
    if not columns:
        return []
    colors = run_colors(runs)
    fig, axes = plt.subplots(1, len(columns), figsize=(3.0 * len(columns) + 1.5, 3.4),
                             squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        xs, values, errs, cols = [], [], [[], []], []
        for i, run in enumerate(runs):
            metric = run.metric(column.task, column.metric)
            if metric is None or metric.get("value") is None:
                continue
            value = float(metric["value"])
            low = metric.get("ci_low")
            high = metric.get("ci_high")
            xs.append(i)
            values.append(value)
            errs[0].append(max(0.0, value - float(low)) if low is not None else 0.0)
            errs[1].append(max(0.0, float(high) - value) if high is not None else 0.0)
            cols.append(colors[i])
        ax.bar(xs, values, color=cols, yerr=errs, capsize=3, ecolor="#333333")
        ax.set_xticks(range(len(runs)), [r.label for r in runs], rotation=40, ha="right")
        name = METRIC_TITLES.get(column.metric, column.metric)
        ax.set_title(f"{column.task}: {name} {'↑' if column.higher_is_better else '↓'}")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out, "tasks")


def _point_l2(run: Run) -> list[float]:
    """Per-item L2 of a run's point answers; unparsed or failed answers are infinite."""
    values = []
    for row in run.rows:
        if row["task"] != "point":
            continue
        score = row.get("score")
        ok = score is not None and not math.isnan(float(score)) and row.get("parsed") is not None
        values.append(float(score) if ok else math.inf)
    return values


def plot_point_cdf(runs: Sequence[Run], out: Path) -> list[Path]:
    """Cumulative share of point answers within each L2 distance of the annotators' mean."""
    series = [(i, run, _point_l2(run)) for i, run in enumerate(runs)]
    series = [s for s in series if s[2]]
    if not series:
        return []
    colors = run_colors(runs)
    grid = np.linspace(0.0, 1.0, 201)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for i, run, values in series:
        arr = np.sort(np.asarray(values))
        share = np.searchsorted(arr, grid, side="right") / len(arr)
        ax.plot(grid, share, color=colors[i], label=run.label, linewidth=1.6)
    for threshold in (0.1, 0.2):
        ax.axvline(threshold, color="#999999", linestyle=":", linewidth=1)
    ax.set_xlabel("L2 distance to the annotators' mean gaze point (normalized)")
    ax.set_ylabel("share of point items")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title("Point task: cumulative distribution of L2")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, out, "point_l2_cdf")


def direction_confusion(run: Run, items: dict[str, QAItem]) -> np.ndarray:
    """Counts, rows = true class (DIRECTIONS order), columns = predicted class + 'none'."""
    matrix = np.zeros((len(DIRECTIONS), len(DIRECTIONS) + 1), dtype=int)
    for row in run.rows:
        item = items.get(row["item_id"])
        if row["task"] != "direction" or item is None:
            continue
        truth = item.target.get("direction")
        if truth not in DIRECTIONS:
            continue
        pred = parsed_direction(row.get("parsed"))
        col = DIRECTIONS.index(pred) if pred is not None else len(DIRECTIONS)
        matrix[DIRECTIONS.index(truth), col] += 1
    return matrix


def plot_direction_confusion(runs: Sequence[Run], items: dict[str, QAItem],
                             out: Path) -> list[Path]:
    """Row-normalized confusion matrices of the direction task, one panel per model."""
    panels = [(run, direction_confusion(run, items)) for run in runs]
    panels = [(run, m) for run, m in panels if m.sum() > 0]
    if not panels:
        return []
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 4.0 * nrows), squeeze=False)
    labels = [*DIRECTIONS, "none"]
    for k, (ax, (run, matrix)) in enumerate(zip(axes.flat, panels, strict=False)):
        totals = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for r in range(matrix.shape[0]):
            for c in range(matrix.shape[1]):
                if matrix[r, c]:
                    ax.text(c, r, str(matrix[r, c]), ha="center", va="center", fontsize=6,
                            color="white" if share[r, c] > 0.6 else "black")
        # tick labels on the outer panels only: text layout is most of the drawing time
        bottom = k + ncols >= len(panels)
        ax.set_xticks(range(len(labels)), labels if bottom else [], rotation=60, ha="right",
                      fontsize=7)
        ax.set_yticks(range(len(DIRECTIONS)), DIRECTIONS if k % ncols == 0 else [], fontsize=7)
        if bottom:
            ax.set_xlabel("predicted")
        if k % ncols == 0:
            ax.set_ylabel("true")
        ax.set_title(run.label, fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("Direction task: confusion (row-normalized colour, counts)")
    fig.tight_layout()
    return _save(fig, out, "direction_confusion")


def accuracy_by_reason(run: Run, items: dict[str, QAItem]) -> dict[str, tuple[float, int]]:
    """Accuracy and item count per ambiguity reason ('answerable' for look-alikes)."""
    hits: dict[str, list[bool]] = {}
    for row in run.rows:
        item = items.get(row["item_id"])
        if row["task"] != "ambiguity" or item is None or row.get("correct") is None:
            continue
        reason = item.target.get("reason") or ANSWERABLE
        hits.setdefault(reason, []).append(bool(row["correct"]))
    return {reason: (sum(v) / len(v), len(v)) for reason, v in hits.items()}


def plot_ambiguity_by_reason(runs: Sequence[Run], items: dict[str, QAItem],
                             out: Path) -> list[Path]:
    """Grouped bars: accuracy on each kind of unanswerable question, per model."""
    stats = [accuracy_by_reason(run, items) for run in runs]
    reasons = sorted({r for s in stats for r in s if r != ANSWERABLE})
    if any(ANSWERABLE in s for s in stats):
        reasons.append(ANSWERABLE)
    if not reasons:
        return []
    colors = run_colors(runs)
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(1.6 * len(reasons) + 2.5, 3.6))
    for i, (run, stat) in enumerate(zip(runs, stats, strict=True)):
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(reasons))]
        ys = [stat.get(r, (0.0, 0))[0] for r in reasons]
        ax.bar(xs, ys, width=width, color=colors[i], label=run.label)
    counts = [max((s.get(r, (0.0, 0))[1] for s in stats), default=0) for r in reasons]
    ax.set_xticks(range(len(reasons)),
                  [f"{r.replace('_', ' ')}\n(n={n})" for r, n in zip(reasons, counts,
                                                                    strict=True)],
                  fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.set_title("Ambiguity task: accuracy by reason")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out, "ambiguity_by_reason")


def write_plots(runs: Sequence[Run], items: dict[str, QAItem], out: Path) -> dict[str, list[Path]]:
    """Every figure that has data, as {name: [png, svg]}."""
    made = {
        "tasks": plot_tasks(runs, out),
        "point_l2_cdf": plot_point_cdf(runs, out),
        "direction_confusion": plot_direction_confusion(runs, items, out),
        "ambiguity_by_reason": plot_ambiguity_by_reason(runs, items, out),
    }
    return {name: paths for name, paths in made.items() if paths}
