"""How long `write_report` takes: tables, plots and gallery for K runs over N items per task.

    .venv/bin/python benchmarks/bench_report.py [--runs 8] [--items 250] [--gallery 40]

Builds synthetic runs (random answers, real Parquet / JSON files per docs/CONTRACTS.md)
over one small image set, then times each part of the report in CPU and wall seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from vl4gaze.geometry import DIRECTIONS
from vl4gaze.report.gallery import build_cards, write_gallery
from vl4gaze.report.plots import run_colors, write_plots
from vl4gaze.report.runs import load_runs
from vl4gaze.report.tables import main_table_cells, write_tables
from vl4gaze.schema import Box, QAItem


def _items(n: int, rng: random.Random) -> list[QAItem]:
    items = []
    for task in ("object", "direction", "point", "ambiguity"):
        for i in range(n):
            eye = [rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.5)]
            gaze = [rng.uniform(0, 1), rng.uniform(0.3, 1)]
            target = {
                "object": {"label": "mug", "description": "a red mug",
                           "box": [0.4, 0.5, 0.5, 0.6], "synonyms": []},
                "direction": {"direction": rng.choice(DIRECTIONS), "angle_deg": 10.0,
                              "eye": eye, "gaze": gaze},
                "point": {"points": [gaze], "mean": gaze, "eye": eye, "format": "norm"},
                "ambiguity": {"ambiguous": i % 2 == 0,
                              "reason": "gaze_out_of_frame" if i % 2 == 0 else None},
            }[task]
            items.append(QAItem(
                id=f"{task}-{i:05d}", task=task, image=f"images/{i % 20}.png", width=448,
                height=448, source="gazeworld", split="test", question="q?", answer="a",
                target=target, person_ref="box", template_id="t", sample_id=str(i),
                person_head=Box(eye[0] - 0.04, eye[1] - 0.04, eye[0] + 0.04, eye[1] + 0.04)))
    return items


def _run(root: Path, k: int, bench: Path, items: list[QAItem], rng: random.Random) -> Path:
    run = root / f"run{k}"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"bench": str(bench), "model": f"m{k}"}))
    metric = {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "higher_is_better": True}
    (run / "scores.json").write_text(json.dumps({"model": f"m{k}", "tasks": {
        t: {"n": 1, "parse_rate": 1.0, "metrics": {"accuracy": metric, "avg_l2": metric}}
        for t in ("object", "direction", "point", "ambiguity")}}))
    rows = []
    for it in items:
        parsed = {"point": [rng.random(), rng.random()], "direction": rng.choice(DIRECTIONS),
                  "ambiguity": {"declines": False, "reason": None}}.get(str(it.task), "text")
        rows.append({"item_id": it.id, "task": str(it.task), "raw": "answer <b>x</b>",
                     "parsed": json.dumps(parsed), "rule": "r", "correct": rng.random() < 0.5,
                     "score": rng.random(), "error": None})
    pq.write_table(pa.Table.from_pylist(rows), run / "items.parquet")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--items", type=int, default=250, help="items per task")
    parser.add_argument("--gallery", type=int, default=40, help="gallery items per task")
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = root / "bench"
        (bench / "images").mkdir(parents=True)
        for i in range(20):
            Image.new("RGB", (448, 448), (i * 10, 120, 200)).save(bench / f"images/{i}.png")
        items = _items(args.items, rng)
        by_id = {it.id: it for it in items}
        paths = [_run(root, k, bench, items, rng) for k in range(args.runs)]
        out = root / "report"
        timings = {}

        def timed(name, fn):
            cpu, wall = time.process_time(), time.perf_counter()
            result = fn()
            timings[name] = (time.process_time() - cpu, time.perf_counter() - wall)
            return result

        runs = timed("load runs", lambda: load_runs(paths))
        timed("tables", lambda: write_tables(runs, out))
        plots = timed("plots (png+svg)", lambda: write_plots(runs, by_id, out / "plots"))
        colors = run_colors(runs)
        cards = timed("gallery cards + thumbnails", lambda: build_cards(
            runs, by_id, {i: bench for i in by_id}, colors, out, args.gallery))
        timed("gallery html", lambda: write_gallery(
            out, runs=runs, cards=cards, colors=colors, table=main_table_cells(runs),
            plots=plots))
        size = (out / "index.html").stat().st_size
    print(f"{args.runs} runs x {4 * args.items} items, gallery {len(cards)} cards "
          f"(index.html {size / 1024:.0f} KiB)")
    for name, (cpu, wall) in timings.items():
        print(f"  {name:28s} cpu {cpu:6.2f} s   wall {wall:6.2f} s")
    total = sum(c for c, _ in timings.values())
    print(f"  {'total':28s} cpu {total:6.2f} s")


if __name__ == "__main__":
    main()
