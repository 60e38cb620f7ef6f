"""How often the annotators agree with GazeWorld's true targets (and what a rerun costs).

The box rule is measured with the exact gaze points and with simulated annotator noise
(Gaussian jitter of the gaze point, as human clicks near an object rather than on it), at
several tolerances; the VLM rule with the tiny offline model (random weights: its quality is
not the point, the machinery's self-measurement is), then rerun to count cached calls.

    .venv/bin/python benchmarks/annotate_quality.py --scenes 200 --vlm-scenes 30
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from vl4gaze.annotate import annotate_samples
from vl4gaze.schema import Point
from vl4gaze.sources.gazeworld import read_gazeworld, synthesize


def jitter(samples, sigma: float, seed: int):
    rng = random.Random(seed)
    out = []
    for s in samples:
        if s.gaze and sigma > 0:
            gaze = tuple(Point(min(1, max(0, p.x + rng.gauss(0, sigma))),
                               min(1, max(0, p.y + rng.gauss(0, sigma)))) for p in s.gaze)
            s = replace(s, gaze=gaze)
        out.append(s)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=200)
    parser.add_argument("--vlm-scenes", type=int, default=30)
    parser.add_argument("--vlm", default="vlm:tiny")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = synthesize(Path(tmp) / "world", args.scenes, seed=0, size=224)
        samples = list(read_gazeworld(str(world)))
        print(f"GazeWorld: {args.scenes} scenes, {len(samples)} people")
        print("box rule: sigma tolerance -> judged agree error_rate rules")
        for sigma in (0.0, 0.02, 0.05):
            for tolerance in (0.0, 0.05, 0.1):
                r = annotate_samples(jitter(samples, sigma, 1), tolerance=tolerance).report
                t = r["truth"]
                print(f"  sigma={sigma:.2f} tol={tolerance:.2f}: n={t['n_judged']} "
                      f"agree={t['agree']} error_rate={t['error_rate']:.3f} {r['rules']}")
        scenes = {s.source_id.split("/")[0] for s in samples}
        keep = sorted(scenes)[: args.vlm_scenes]
        subset = [s for s in samples if s.source_id.split("/")[0] in keep]
        cache = Path(tmp) / "cache.sqlite"
        start = time.perf_counter()
        first = annotate_samples(subset, annotator=args.vlm, cache_path=cache).report
        cold = time.perf_counter() - start
        start = time.perf_counter()
        second = annotate_samples(subset, annotator=args.vlm, cache_path=cache).report
        warm = time.perf_counter() - start
        t = first["truth"]
        print(f"VLM rule ({args.vlm}) on {len(subset)} people: rules={first['rules']} "
              f"uncertain={first['uncertain']} failures={first['failures']} "
              f"rejected_answers={first['rejected_answers']} judged={t['n_judged']} "
              f"agree={t['agree']} error_rate={t['error_rate']} coverage={t['coverage']} "
              f"first_answer_agreement={t.get('first_answer_agreement')} "
              f"person={first.get('person')}")
        print(f"  cold: {first['model_calls']} model calls, {cold:.1f} s; "
              f"rerun: {second['model_calls']} calls, {second['cache_hits']} cache hits, "
              f"{warm:.1f} s")


if __name__ == "__main__":
    main()
