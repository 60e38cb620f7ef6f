"""GazeWorld speed on one core: scenes per second for the whole of ``synthesize`` and its parts.

Usage: python benchmarks/bench_synth.py [--scenes 300] [--size 448]
The target is at least 50 scenes per second at 448 px (sampling + drawing + PNG + JSON).
The per-CPU-second figure is the one-core speed; the wall clock also counts time lost to
other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from vl4gaze.sources.gazeworld import PNG_OPTIONS, WorldConfig, scene_annotation, synthesize
from vl4gaze.sources.gazeworld_draw import render_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--size", type=int, default=448)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n, config = args.scenes, WorldConfig(size=args.size)

    t0 = time.perf_counter()
    records = [scene_annotation(i, config, args.seed) for i in range(n)]
    t1 = time.perf_counter()
    images = [render_record(r) for r in records]
    t2 = time.perf_counter()
    png_bytes = 0
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", **PNG_OPTIONS)
        png_bytes += buffer.tell()
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        synthesize(Path(tmp) / "w", n, args.seed, args.size, progress=False)
        total, cpu = time.perf_counter() - start, time.process_time() - cpu

    print(f"GazeWorld {n} scenes at {args.size}px, one process")
    print(f"  sample scenes : {n / (t1 - t0):8.0f} scenes/s")
    print(f"  draw pictures : {n / (t2 - t1):8.0f} scenes/s")
    print(f"  encode PNG    : {n / (t3 - t2):8.0f} scenes/s  ({png_bytes / n / 1024:.1f} KiB each)")
    print(f"  synthesize    : {n / total:8.0f} scenes/s  (end to end, files written, wall clock)")
    print(f"  synthesize    : {n / cpu:8.0f} scenes/s  (end to end, per CPU second of this run)")


if __name__ == "__main__":
    main()
