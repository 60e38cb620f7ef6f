"""The report's figures are laid out for 1 to 8 runs: no title, label, tick label or
legend text overlaps another, and none sticks out of the figure (issue 17: the direction
confusion's title ran into a panel title, its "predicted" label was cut off).

Every figure is drawn with matplotlib's own Agg renderer and each text's window extent
is compared with the others' and with the figure's.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text
from test_report import _item, _row, make_bench, write_run

from vl4gaze.report import load_runs, plots

LABELS = ["baseline:oracle", "baseline:random", "hf:Qwen2.5-VL-7B-Instruct 2-shot",
          "hf:llava-onevision-qwen2-7b-ov", "openai:gpt-4o-2024-08-06",
          "vllm:InternVL2_5-8B-MPO 4-shot", "tiny", "hf:tiny-sft-long-checkpoint-name"]


def make_many_runs(root: Path, k: int) -> tuple[list[Path], dict]:
    """``k`` runs over the fixture bench, each with its own mix of right, wrong and
    unparsed answers and a realistic (long) model name."""
    items = make_bench(root)
    bench = root / "bench"
    paths = []
    for m in range(k):
        rows = []
        for j, it in enumerate(items):
            t = it.target
            fail = (j + m) % 3 == 0
            if it.task == "point":
                p = (0.2 + 0.1 * m, 0.5)
                rows.append(_row(it, str(p), None if fail else list(p),
                                 None if fail else False,
                                 None if fail else math.dist(p, t["mean"])))
            elif it.task == "direction":
                d = ["down", "left", "lower right", "up"][(j + m) % 4]
                rows.append(_row(it, d, d, d == t["direction"], 0.0))
            elif it.task == "object" and m == k - 1 and k > 1:
                continue  # the last of several runs did not do the object task: n/a
            elif it.task == "ambiguity":
                rows.append(_row(it, it.answer, {"declines": fail, "reason": None}, not fail,
                                 float(not fail)))
            else:
                rows.append(_row(it, it.answer, it.answer, not fail, float(not fail)))
        spec, _, shots = LABELS[m].partition(" ")
        paths.append(write_run(root / "runs", f"r{m}", spec, int(shots[:1] or 0), bench, rows,
                               quality=(m + 1) / (k + 1)))
    return paths, {it.id: it for it in items}


def _drawn_texts(fig: plt.Figure) -> list[Text]:
    """Every text the figure draws: tick labels only for ticks inside the view limits
    (matplotlib keeps, but does not draw, the labels of ticks beyond them)."""
    ticks: set[int] = set()
    drawn: list[Text] = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = (hi - lo) * 1e-9
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                labels = (tick.label1, tick.label2)
                ticks.update(id(t) for t in labels)
                if lo - eps <= tick.get_loc() <= hi + eps:
                    drawn += [t for t in labels if t.get_visible()]
    drawn += [t for t in fig.findobj(Text) if id(t) not in ticks and t.get_visible()]
    return drawn


def _texts(fig: plt.Figure) -> list[tuple[Text, object]]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []
    for text in _drawn_texts(fig):
        if not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            found.append((text, box))
    return found


def layout_problems(fig: plt.Figure) -> list[str]:
    """Texts that overlap each other or leave the figure, as readable lines."""
    problems = []
    frame = fig.bbox
    texts = _texts(fig)
    for text, box in texts:
        if (box.x0 < frame.x0 - 0.5 or box.y0 < frame.y0 - 0.5 or box.x1 > frame.x1 + 0.5
                or box.y1 > frame.y1 + 0.5):
            problems.append(f"outside the figure: {text.get_text()!r} {box.bounds}")
    for i, (a, abox) in enumerate(texts):
        for b, bbox in texts[i + 1:]:
            inner = abox.shrunk(0.98, 0.9).anchored("C", abox)  # a pixel of antialiasing
            if inner.overlaps(bbox.shrunk(0.98, 0.9).anchored("C", bbox)):
                problems.append(f"overlap: {a.get_text()!r} and {b.get_text()!r}")
    return problems


@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_figures_have_no_overlapping_or_clipped_text(tmp_path, monkeypatch, k):
    figures: dict[str, plt.Figure] = {}
    monkeypatch.setattr(plots, "_save", lambda fig, out, stem: figures.setdefault(stem, fig)
                        and [out / f"{stem}.png"])
    paths, items = make_many_runs(tmp_path, k)
    plots.write_plots(load_runs(paths), items, tmp_path / "plots")
    assert set(figures) == {"tasks", "point_l2_cdf", "direction_confusion",
                            "ambiguity_by_reason"}
    problems = {name: layout_problems(fig) for name, fig in figures.items()}
    na = [t.get_text() for t in figures["tasks"].axes[0].texts if t.get_text() == "n/a"]
    assert len(na) == (1 if k > 1 else 0)  # the missing task is marked, not left empty
    for fig in figures.values():
        plt.close(fig)
    assert {name: p for name, p in problems.items() if p} == {}


@pytest.mark.parametrize("k", [1, 8])
def test_a_social_confusion_has_no_overlapping_or_clipped_text(tmp_path, monkeypatch, k):
    """The social tasks' two-class confusions (declared in tasks/social.py) fit too."""
    figures: dict[str, plt.Figure] = {}
    monkeypatch.setattr(plots, "_save", lambda fig, out, stem: figures.setdefault(stem, fig)
                        and [out / f"{stem}.png"])
    items = [_item(i, "shared", {"label": label, "rule": "object"}, label)
             for i, label in enumerate(["yes", "no", "no"])]
    paths = []
    for m in range(k):
        rows = [_row(it, "x", None if (j + m) % 3 == 0 else
                     {"choice": ("yes", "no")[(j + m) % 2], "declines": False}, False, 0.0)
                for j, it in enumerate(items)]
        spec, _, shots = LABELS[m].partition(" ")
        paths.append(write_run(tmp_path / "runs", f"r{m}", spec, int(shots[:1] or 0),
                               tmp_path / "bench", rows, quality=0.5))
    plots.write_plots(load_runs(paths), {it.id: it for it in items}, tmp_path / "plots")
    fig = figures["shared_confusion"]
    problems = layout_problems(fig)
    for f in figures.values():
        plt.close(f)
    assert problems == []


def test_the_checker_sees_an_overlap():
    """The checker itself: two titles drawn on top of each other, a label off the edge."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("a title")
    fig.suptitle("a suptitle", y=0.93)
    ax.set_xlabel("x" * 200)
    problems = layout_problems(fig)
    plt.close(fig)
    assert any(p.startswith("overlap") for p in problems)
    assert any(p.startswith("outside") for p in problems)
