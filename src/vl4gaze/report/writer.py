"""``write_report``: tables, plots and the HTML gallery of one or more runs, in one folder.

REPORT/
  index.html          main table, plots, filterable gallery (open it in a browser)
  table.md table.tex table.csv metrics.csv
  plots/*.png *.svg
  images/*.jpg        thumbnails of the items shown (the folder is self-contained)
  assets/gallery.css gallery.js
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from vl4gaze.report.config import ReportConfig
from vl4gaze.report.gallery import build_cards, write_gallery
from vl4gaze.report.plots import run_colors, write_plots
from vl4gaze.report.runs import Run, RunError, coverage_warnings, load_bench_items, load_runs
from vl4gaze.report.tables import MAIN_NOTE, main_table_cells, write_tables
from vl4gaze.schema import QAItem

ItemLoader = Callable[[Path], dict[str, QAItem]]


def collect_items(runs: Sequence[Run], load_items: ItemLoader | None = None,
                  ) -> tuple[dict[str, QAItem], dict[str, Path]]:
    """Items of every benchmark the runs used, and for each item id its benchmark dir."""
    load_items = load_items or load_bench_items
    items: dict[str, QAItem] = {}
    benches: dict[str, Path] = {}
    loaded: set[Path] = set()
    for run in runs:
        bench = run.bench
        if bench is None:
            raise RunError(f"{run.path / 'config.json'}: field 'bench' is missing")
        bench = bench if bench.is_absolute() else (run.path / bench)
        if bench in loaded:
            continue
        if not bench.is_dir():
            raise RunError(f"{run.path / 'config.json'}: field 'bench' = {bench}: "
                           "no such benchmark directory")
        loaded.add(bench)
        for item_id, item in load_items(bench).items():
            items[item_id] = item
            benches[item_id] = bench
    return items, benches


def write_report(runs: Sequence[Path], out: Path, config: ReportConfig | None = None, *,
                 load_items: ItemLoader | None = None, console: Console | None = None
                 ) -> Path:
    """Write the whole report for ``runs`` into ``out``; return the path of index.html.

    ``config.max_items_per_task`` bounds the gallery (None shows every item);
    ``load_items`` reads a benchmark's items by id (the default reads the BENCH directory
    on disk).
    """
    config = config or ReportConfig()
    console = console or Console(stderr=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_runs([Path(r) for r in runs])
    items, benches = collect_items(loaded, load_items)
    warnings = coverage_warnings(loaded)
    for line in warnings:  # the table below would otherwise compare unlike with unlike
        console.print(f"warning: {line}", style="yellow", markup=False, highlight=False)
    write_tables(loaded, out)
    plots = write_plots(loaded, items, out / "plots")
    colors = run_colors(loaded)
    cards = build_cards(loaded, items, benches, colors, out, config.max_items_per_task)
    index = write_gallery(out, runs=loaded, cards=cards, colors=colors,
                          table=main_table_cells(loaded), plots=plots, title=config.title,
                          warnings=warnings, note=MAIN_NOTE)
    console.print(f"report: {len(loaded)} run(s), {len(cards)} gallery item(s), "
                  f"{sum(len(p) for p in plots.values())} plot file(s) -> {index}")
    return index
