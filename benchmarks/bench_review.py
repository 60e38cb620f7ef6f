"""How the review tool scales: store writes, page and API latency, export, by item count.

A small GazeWorld benchmark's rows are replicated (fresh ids, same images) to N items,
10% of them get a decision, then the app and the export are timed.

    .venv/bin/python benchmarks/bench_review.py --sizes 1000 10000 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from vl4gaze.build import SCHEMA, build_benchmark
from vl4gaze.review.app import create_app
from vl4gaze.review.apply import export_reviewed
from vl4gaze.review.store import ReviewStore
from vl4gaze.sources.gazeworld import synthesize


def replicate(small: Path, out: Path, n: int) -> list[str]:
    """A benchmark of ``n`` test items made of ``small``'s rows with new ids."""
    rows = pq.read_table(small / "data" / "test.parquet").to_pylist()
    many = [{**rows[i % len(rows)], "id": f"{i:016x}"} for i in range(n)]
    (out / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(many, schema=SCHEMA), out / "data" / "test.parquet")
    (out / "images").symlink_to((small / "images").resolve())
    return [r["id"] for r in many]


def timed(fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synthesize(root / "scenes", 20, seed=0, size=224, progress=False)
        build_benchmark([f"gazeworld:{root / 'scenes'}"], root / "small", progress=False)
        print("| items | app start s | record ms/decision | GET / ms | GET /api/summary ms "
              "| GET /api/items (100) ms | export s |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.sizes:
            bench = root / f"b{n}"
            ids = replicate(root / "small", bench, n)
            start = time.perf_counter()
            client = TestClient(create_app(bench))
            t_start = time.perf_counter() - start
            store = ReviewStore.for_bench(bench)
            reviewed = ids[:: 10]
            t0 = time.perf_counter()
            for k, item_id in enumerate(reviewed):
                store.record(item_id, ("accept", "reject")[k % 2])
            t_record = (time.perf_counter() - t0) / len(reviewed) * 1000
            t_page = timed(lambda c=client: c.get("/", params={"status": "unreviewed"}), 3)
            t_summary = timed(lambda c=client: c.get("/api/summary"), 3)
            t_items = timed(lambda c=client: c.get("/api/items"), 3)
            t_export = timed(lambda b=bench, o=root / f"out{n}": export_reviewed(b, o))
            print(f"| {n:,} | {t_start:.2f} | {t_record:.2f} | {t_page * 1000:.0f} | "
                  f"{t_summary * 1000:.0f} | {t_items * 1000:.0f} | {t_export:.2f} |")


if __name__ == "__main__":
    main()
