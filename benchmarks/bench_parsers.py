"""Parser time against answer length on hostile answers (issue 21).

For each shape (spaces after an "x", a digit run, repeated "x ", nested brackets,
"<point" fragments, ordinary prose) and each length, the median of ``--repeats`` calls
of parse_point / parse_direction_rule / parse_ambiguity, in milliseconds. With
``--no-window`` the 8,192-character window (vl4gaze.parse.limits) is lifted, which shows
the patterns themselves are linear.

    .venv/bin/python benchmarks/bench_parsers.py [--lengths 1000,10000,100000] [--no-window]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import vl4gaze.parse.limits as limits
from vl4gaze.parse.ambiguity import parse_ambiguity
from vl4gaze.parse.direction import parse_direction_rule
from vl4gaze.parse.points import parse_point

SHAPES: dict[str, Callable[[int], str]] = {
    "x + spaces": lambda n: "x" + " " * (n - 1),
    "digits": lambda n: "7" * n,
    "'x ' repeated": lambda n: ("x " * n)[:n],
    "nested brackets": lambda n: ("[(" * n)[:n],
    "<point fragments": lambda n: ("<point x=1 " * n)[:n],
    "prose": lambda n: ("The person is looking at the cup near (0.41, 0.63). " * n)[:n],
}
PARSERS: dict[str, Callable[[str], object]] = {
    "point": lambda s: parse_point(s, "auto", (640, 480), hint="norm"),
    "direction": parse_direction_rule,
    "ambiguity": parse_ambiguity,
}


def median_ms(fn: Callable[[str], object], text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="1000,4000,16000,100000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-window", action="store_true")
    args = ap.parse_args()
    if args.no_window:
        limits.MAX_ANSWER_CHARS = 10**9
    lengths = [int(v) for v in args.lengths.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f}; window "
          f"{'off' if args.no_window else limits.MAX_ANSWER_CHARS}; median of {args.repeats}, ms")
    print("| shape | parser | " + " | ".join(f"{n:,} chars" for n in lengths) + " |")
    print("|---|---|" + "---|" * len(lengths))
    for shape, make in SHAPES.items():
        texts = [make(n) for n in lengths]
        for name, fn in PARSERS.items():
            cells = " | ".join(f"{median_ms(fn, t, args.repeats):.1f}" for t in texts)
            print(f"| {shape} | {name} | {cells} |")


if __name__ == "__main__":
    main()
