"""How fast `build` turns GazeFollow-sized annotations into benchmark items.

Generates GazeFollow-like GazeSamples in memory (122K train people on 1-3-person images,
a quarter looking out of frame, 4.8K test people with 10 annotators each; gazed-object
labels as the annotation stage would add them), streams them through
``build_from_samples(..., images="none")`` and prints items per second and peak memory.
A second, small run renders marked images to give the per-image cost of ``images="write"``.
``--from-files`` instead writes a release-format pair of annotation files (as
``bench_read_gazefollow.py`` does) and builds from them through the GazeFollow reader,
so reading is part of the figure (no object labels there: no object items).

    .venv/bin/python benchmarks/bench_build.py [--train N] [--test N] [--render N]
    .venv/bin/python benchmarks/bench_build.py --from-files [--train N] [--test N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from PIL import Image
from ratios import ratio_line

from vl4gaze.build import _image_key, build_from_samples, render_images
from vl4gaze.schema import Box, GazeSample, InOut, Person, Point, Target
from vl4gaze.sources.gazefollow import read_gazefollow

#: Issue #20's goal: GOAL_N items built in GOAL_S seconds of wall time on 2 cores, in at
#: most GOAL_MB of memory.
GOAL_N, GOAL_S, GOAL_MB = 489_000, 30.0, 1_500
LABELS = ("mug", "book", "phone", "ball", "laptop", "dog", "window", "plate", "kite", "tv")


def gazefollow_like(n_train: int, n_test: int, seed: int = 0,
                    image: str = "/data/gf/x.jpg") -> Iterator[GazeSample]:
    """GazeSamples shaped like GazeFollow's (one image path per picture, 640x480)."""
    rng = random.Random(seed)

    def picture(split: str, number: int, people: int, annotators: int) -> list[GazeSample]:
        persons = []
        for index in range(people):
            x, y = rng.uniform(0.05, 0.9), rng.uniform(0.05, 0.7)
            persons.append(Person(Box(x, y, x + 0.06, y + 0.08), Point(x + 0.03, y + 0.04),
                                  index=index))
        out = []
        for person in persons:
            inside = split == "test" or rng.random() < 0.75
            gaze = tuple(Point(rng.random(), rng.random()) for _ in range(annotators)) \
                if inside else ()
            label = rng.choice(LABELS)
            out.append(GazeSample(
                image=f"{image[:-4]}{split}{number}.jpg", width=640, height=480,
                source="gazefollow", source_id=f"{split}/{number}#{person.index}", split=split,
                person=person, gaze=gaze, inout=InOut.IN if inside else InOut.OUT,
                target=Target(label=label, description=f"a {label}") if inside else Target(),
                others=tuple(p for p in persons if p is not person)))
        return out

    made, number = 0, 0
    while made < n_train:
        number += 1
        batch = picture("train", number, rng.choice((1, 1, 1, 2, 3)), 1)[: n_train - made]
        made += len(batch)
        yield from batch
    for number in range(n_test):
        yield from picture("test", number, 1, 10)


def goal_line(seconds: float, items: int, what: str) -> str:
    """The RATIO line: wall seconds for the goal's item count (linear from ``items``) over
    the goal's seconds."""
    return ratio_line("build_vs_goal", seconds * GOAL_N / max(items, 1) / GOAL_S,
                      f"{what} wall s for {GOAL_N:,} items (linear from {items:,}) / "
                      f"{GOAL_S:g} s goal; below 1 meets it")


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the build's shares)."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class PssPeak:
    """The peak of the summed proportional set size (PSS, /proc/PID/smaps_rollup) of this
    process and its children, sampled every ``interval`` s while in use: the memory a
    forked build really takes (RSS counts the copy-on-write pages the share process still
    shares with the driver twice). None where /proc has no smaps_rollup (not Linux)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak_kb = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _pss_kb() -> int | None:
        me = os.getpid()
        try:
            children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
        except OSError:
            return None
        total = 0
        for pid in [me, *map(int, children)]:
            try:
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:  # a child that just ended
                continue
            total += sum(int(line.split()[1]) for line in text.splitlines()
                         if line.startswith("Pss:"))
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self._pss_kb() or 0)
            self._stop.wait(self.interval)

    def __enter__(self) -> PssPeak:
        if self._pss_kb() is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def lines(self) -> list[str]:
        """The figure and its RATIO line against the goal (nothing when not measured)."""
        if not self.peak_kb:
            return []
        mb = self.peak_kb / 1024
        return [f"peak PSS, all build processes (shared pages counted once): {mb:,.0f} MB",
                ratio_line("build_memory_vs_goal", mb / GOAL_MB,
                           f"peak PSS MB of the build's processes / {GOAL_MB:,} MB goal; "
                           "below 1 meets it")]


def _peak_mb() -> str:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kid = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return f"{me:,.0f} MB" + (f" (largest share process: {kid:,.0f} MB)" if kid else "")


def from_files(n_train: int, n_test: int, workers: int | None) -> None:
    """Write GazeFollow-format annotation files, then read + build them in one go."""
    from bench_read_gazefollow import write_release  # a sibling script

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "gazefollow"
        root.mkdir()
        rows = write_release(root, n_train, n_test, 10, 0)
        start, cpu = time.perf_counter(), _cpu()
        samples = read_gazefollow(str(root), image_size_fn=lambda path: (640, 480))
        keys = ((s, _image_key(s, [str(root)])) for s in samples)  # as build_benchmark does
        with PssPeak() as memory:
            manifest = build_from_samples(keys, Path(folder) / "b", images="none",
                                          progress=False, workers=workers)
        seconds, cpu_s = time.perf_counter() - start, _cpu() - cpu
    items = manifest["counts"]["total"]
    print(f"annotation rows: {rows:,}; items: {items:,} {manifest['counts']['task']}")
    print(f"read + build (images='none'): {seconds:.1f} s wall, {cpu_s:.1f} s CPU, "
          f"{items / cpu_s:,.0f} items per CPU second; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"peak RSS: {_peak_mb()}")
    print("\n".join(memory.lines()))
    print(goal_line(seconds, items, "read + build"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=120_000)
    parser.add_argument("--test", type=int, default=4_800)
    parser.add_argument("--render", type=int, default=300, help="marked images to time")
    parser.add_argument("--from-files", action="store_true",
                        help="build from release-format annotation files (reader included)")
    parser.add_argument("--workers", type=int, default=None,
                        help="build processes (default: the build's own, at most 2)")
    args = parser.parse_args()
    if args.from_files:
        from_files(args.train, args.test, args.workers)
        return

    start, cpu = time.perf_counter(), time.process_time()
    n_samples = sum(1 for _ in gazefollow_like(args.train, args.test))
    gen_s, gen_cpu = time.perf_counter() - start, time.process_time() - cpu

    with tempfile.TemporaryDirectory() as folder:
        start, cpu = time.perf_counter(), _cpu()
        with PssPeak() as memory:
            manifest = build_from_samples(gazefollow_like(args.train, args.test),
                                          Path(folder) / "b", images="none", progress=False,
                                          workers=args.workers)
        seconds, cpu_s = time.perf_counter() - start, _cpu() - cpu
        items = manifest["counts"]["total"]
        print(f"samples: {n_samples} (generating them alone: {gen_s:.1f} s wall, "
              f"{gen_cpu:.1f} s CPU)")
        print(f"items: {items} {manifest['counts']['task']}")
        print(f"build (images='none', incl. sample generation): {seconds:.1f} s, "
              f"{items / seconds:,.0f} items/s, {n_samples / seconds:,.0f} samples/s")
        print(f"build CPU time (all processes): {cpu_s:.1f} s (~{cpu_s - gen_cpu:.1f} s "
              f"without generating samples); load average now {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")
        print(f"peak RSS: {_peak_mb()}; planned images: {manifest['images']['planned']}")
        print("\n".join(memory.lines()))
        print(goal_line(seconds, items, "build (incl. sample generation)"))

        if args.render:
            root = Path(folder) / "r"
            photo = root / "src.jpg"
            root.mkdir()
            Image.effect_noise((640, 480), 60).convert("RGB").save(photo, quality=90)
            samples = list(gazefollow_like(args.render, 0, seed=1, image=str(photo)))
            samples = [s.__class__(**{**s.__dict__, "image": str(photo)}) for s in samples]
            build_from_samples([(s, f"gf/{s.source_id}") for s in samples], root / "b",
                               images="none", progress=False)
            start = time.perf_counter()
            n = render_images(root / "b", progress=False)
            per = (time.perf_counter() - start) / max(n, 1)
            print(f"render: {n} images of 640x480 in {per * 1000:.1f} ms each (2 threads) -> "
                  f"~{per * manifest['images']['planned'] / 60:.0f} min for all planned images")


if __name__ == "__main__":
    main()
