"""Figures for the report (matplotlib, Agg backend, each saved as PNG and SVG).

- ``tasks``: the headline metric of each task, one bar per model, 95% CI error bars.
- ``point_l2_cdf``: share of point answers within a given L2 distance (unparsed answers
  never arrive, so a model that often fails to answer stays low).
- ``direction_confusion``: true vs predicted direction class, one panel per model.
- ``ambiguity_by_reason``: accuracy on ambiguity items by reason (and on answerable ones).

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

from vl4gaze.geometry import DIRECTIONS
from vl4gaze.report.runs import Run, parsed_direction
from vl4gaze.report.tables import METRIC_TITLES, has_value, main_columns, metric_n
from vl4gaze.schema import QAItem

FORMATS = ("png", "svg")
ANSWERABLE = "answerable"
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
    longest = max(len(_wrap(run.label, 30).split("\n")[0]) for _, run, _ in series)
    fig, ax = plt.subplots(figsize=(4.6 + 0.065 * longest, 3.4), layout="constrained")
    for i, run, values in series:
        arr = np.sort(np.asarray(values))
        share = np.searchsorted(arr, grid, side="right") / len(arr)
        ax.plot(grid, share, color=colors[i], label=f"{_wrap(run.label, 30)} (n={len(arr)})",
                linewidth=1.6)
    for threshold in (0.1, 0.2):
        ax.axvline(threshold, color="#999999", linestyle=":", linewidth=1)
    ax.set_xlabel("L2 to the annotators' mean point (normalized)")
    ax.set_ylabel("share of point items")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title("Point task: cumulative distribution of L2")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.grid(alpha=0.3)
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
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(4.6, 2.6 * ncols + 0.6), 2.9 * nrows + 0.6),
                             squeeze=False, layout="constrained")
    labels = [*DIRECTIONS, "none"]
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
        ax.set_yticks(range(len(DIRECTIONS)), DIRECTIONS if k % ncols == 0 else [], fontsize=7)
        if bottom:
            ax.set_xlabel("predicted")
        if k % ncols == 0:
            ax.set_ylabel("true")
        ax.set_title(_wrap(f"{run.label} (n={int(matrix.sum())})", 26), fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.remove()  # an empty panel would still hold the space of its tick labels
    fig.suptitle(_wrap("Direction task: confusion (colour: row share; numbers: counts)",
                       max(48, 34 * ncols)))
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
    longest = max(len(_wrap(run.label, 30).split("\n")[0]) for run in runs)
    group = max(1.1, 0.16 * len(runs) + 0.3)
    fig, ax = plt.subplots(figsize=(group * len(reasons) + 1.6 + 0.065 * longest, 3.4),
                           layout="constrained")
    for i, (run, stat) in enumerate(zip(runs, stats, strict=True)):
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(reasons))]
        have = [(x, stat[r][0]) for x, r in zip(xs, reasons, strict=True) if r in stat]
        if have:
            ax.bar([x for x, _ in have], [y for _, y in have], width=width, color=colors[i],
                   label=_wrap(run.label, 30), **EDGE)
        missing = [x for x, r in zip(xs, reasons, strict=True) if r not in stat]
        if missing:  # no such item for this run: hatched, so it cannot pass for 0
            ax.bar(missing, [1.0] * len(missing), width=width, **NA_STYLE,
                   label=None if have else f"{_wrap(run.label, 30)} (n/a)")
    counts = [max((s[r][1] for s in stats if r in s), default=0) for r in reasons]
    ax.set_xticks(range(len(reasons)),
                  [f"{_wrap(r.replace('_', ' '), 11)}\n(n={n})" for r, n in zip(reasons, counts,
                                                                             strict=True)],
                  fontsize=7)
    ax.set_ylim(-0.03, 1.05)  # a bar of 0 shows as a line just above the axis
    ax.set_ylabel("accuracy")
    ax.set_title("Ambiguity task: accuracy by reason")
    ax.legend(fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
    ax.grid(axis="y", alpha=0.3)
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
