"""How fast the GazeFollow reader parses a release-sized pair of annotation files.

Writes ~120K train rows (1-3 people per image) and 4.8K test people x 10 annotators into a
temporary folder, then reads them with a fixed image size (no image files are opened, as
with warm header caches) and prints rows per second, samples per second and peak memory.

    .venv/bin/python benchmarks/bench_read_gazefollow.py [--train-rows N] [--test-images N]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from vl4gaze.sources.gazefollow import TEST_FILE, TRAIN_FILE, read_gazefollow


def write_release(root: Path, train_rows: int, test_images: int, annotators: int, seed: int) -> int:
    """Write both annotation files in the release format; return the number of rows."""
    rng = random.Random(seed)
    lines = []
    image = 0
    while len(lines) < train_rows:
        image += 1
        for person in range(rng.choice((1, 1, 1, 2, 3))):
            ex, ey = rng.random(), rng.random()
            hx, hy = ex * 640, ey * 480
            inout = rng.choice(("1", "1", "1", "0", "-1"))
            lines.append(
                f"train/{image // 1000:08d}/{image:08d}.jpg,{person},0.1,0.2,0.5,0.7,"
                f"{ex:.5f},{ey:.5f},{rng.random():.5f},{rng.random():.5f},"
                f"{hx - 20:.1f},{hy - 25:.1f},{hx + 20:.1f},{hy + 25:.1f},{inout},"
                f"places_top,x/y/gsun_{image:x}.jpg"
            )
    (root / TRAIN_FILE).write_text("\n".join(lines[:train_rows]) + "\n")
    test_lines = []
    for image in range(test_images):
        ex, ey = rng.random(), rng.random()
        hx, hy = ex * 640, ey * 480
        for annotator in range(annotators):
            test_lines.append(
                f"test2/{image // 1000:08d}/{image:08d}.jpg,{annotator},0.1,0.2,0.5,0.7,"
                f"{ex:.6f},{ey:.6f},{rng.random():.6f},{rng.random():.6f},"
                f"{int(hx) - 20},{int(hy) - 25},{int(hx) + 20},{int(hy) + 25},pascal,x.jpg"
            )
    (root / TEST_FILE).write_text("\n".join(test_lines) + "\n")
    return train_rows + len(test_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=120_000)
    parser.add_argument("--test-images", type=int, default=4_800)
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rows = write_release(root, args.train_rows, args.test_images, args.annotators, args.seed)
        size_mb = sum(f.stat().st_size for f in root.iterdir()) / 1e6

        def read() -> tuple[int, int]:
            problems: list = []
            n = sum(1 for _ in read_gazefollow(str(root), problems=problems,
                                                image_size_fn=lambda path: (640, 480)))
            return n, len(problems)

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start, cpu_start = time.perf_counter(), time.process_time()
        samples, problems = read()
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        tracemalloc.start()
        read()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    print(f"annotation rows      {rows:,} ({size_mb:.1f} MB of text)")
    print(f"samples              {samples:,} (problems recorded: {problems:,})")
    print(f"time                 {seconds:.2f} s wall, {cpu:.2f} s CPU (shared machines: "
          "CPU time is the steadier figure)")
    print(f"rows per CPU second  {rows / cpu:,.0f}")
    print(f"rows per second      {rows / seconds:,.0f}")
    print(f"samples per second   {samples / seconds:,.0f}")
    print(f"peak traced memory   {peak / 1e6:.0f} MB (tracemalloc, second pass)")
    print(f"max RSS growth       {(rss_after - rss_before) / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
