"""Harness overhead of `vl4gaze eval` over raw `model.generate` on the same batches.

Builds a small GazeWorld benchmark and the tiny offline VLM, then times, on the same
batches of the same items:
  raw      model.generate(requests) with the requests (messages + images) built beforehand;
  harness  infer.run_inference into a fresh run dir: prompt building (image loading,
           k-shot draw), generation, Prediction records, JSON lines, flush per batch,
           fsync at most once a second.
Both wall-clock and process CPU time are reported (the machine is shared; CPU time is
the steadier figure). Repeats are interleaved and the minimum kept. "in-run" times the
model calls inside the harness run itself (a timing proxy around generate), so the
harness's own share is measured within one run, free of run-to-run noise.

    .venv/bin/python benchmarks/bench_infer_overhead.py [--scenes 30] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--shots", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from vl4gaze.build import build_benchmark, load_benchmark
    from vl4gaze.infer import RunConfig, run_inference
    from vl4gaze.models import Request, load_model
    from vl4gaze.prompting import ShotSampler, build_messages
    from vl4gaze.sources.gazeworld import synthesize

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench-infer-"))
    try:
        synthesize(tmp / "scenes", args.scenes, seed=0, size=224, progress=False)
        bench = tmp / "bench"
        build_benchmark([f"gazeworld:{tmp / 'scenes'}"], bench, progress=False)
        items = load_benchmark(bench, "test")
        train = load_benchmark(bench, "train")
        model = load_model("tiny", device="cpu", dtype="float32")
        sampler = ShotSampler(train, args.shots, seed=0)
        bs = args.batch_size
        batches = [[Request(build_messages(it, bench, shots=sampler.shots_for(it)), it)
                    for it in items[i:i + bs]] for i in range(0, len(items), bs)]
        model.generate(batches[0], args.max_new_tokens)  # warm-up

        def raw() -> None:
            for batch in batches:
                model.generate(batch, args.max_new_tokens)

        inside = [0.0, 0.0]

        class Timed:
            name = model.name

            def generate(self, requests, max_new_tokens):
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    return model.generate(requests, max_new_tokens)
                finally:
                    inside[0] += time.perf_counter() - wall
                    inside[1] += time.process_time() - cpu

        def harness(run: Path) -> None:
            config = RunConfig("tiny", shots=args.shots, batch_size=bs,
                               max_new_tokens=args.max_new_tokens, progress=False)
            run_inference(bench, run, config, model=Timed(), items=items, train_items=train)

        raw_t, har_t, own = [], [], []
        for r in range(args.repeats):
            raw_t.append(_timed(raw))
            inside[:] = [0.0, 0.0]
            har_t.append(_timed(lambda r=r: harness(tmp / f"run{r}")))
            own.append((har_t[-1][0] / inside[0] - 1, har_t[-1][1] / inside[1] - 1))
        raw_wall, raw_cpu = min(t[0] for t in raw_t), min(t[1] for t in raw_t)
        har_wall, har_cpu = min(t[0] for t in har_t), min(t[1] for t in har_t)
        print(f"items={len(items)} batch_size={bs} shots={args.shots} "
              f"max_new_tokens={args.max_new_tokens} threads={args.threads}")
        print(f"raw generate : wall {raw_wall:.3f} s  cpu {raw_cpu:.3f} s  "
              f"({len(items) / raw_wall:.1f} items/s)")
        print(f"harness      : wall {har_wall:.3f} s  cpu {har_cpu:.3f} s  "
              f"({len(items) / har_wall:.1f} items/s)")
        print(f"overhead     : wall {100 * (har_wall / raw_wall - 1):+.1f}%  "
              f"cpu {100 * (har_cpu / raw_cpu - 1):+.1f}%  (target < 5%)")
        print(f"in-run       : wall {100 * min(o[0] for o in own):+.1f}%  "
              f"cpu {100 * min(o[1] for o in own):+.1f}%  (harness time outside generate, "
              "best of repeats)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
