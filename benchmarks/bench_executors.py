"""Local vs Ray executor on this machine: build (items + images) and eval (tiny VLM), 3 sizes.

Both executors produce the same files (tests/test_scale.py checks it); this measures what
Ray's scheduling costs or gains at small scale. Ray starts once (its start-up is printed
apart), with ``--cpus`` CPUs; every Ray figure includes Ray Data's per-dataset start-up
(actor processes, model loading in each replica), which is what a user pays per command.

    .venv/bin/python benchmarks/bench_executors.py [--scenes 50 100 200] [--per-task 10 20 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--per-task", type=int, nargs="+", default=[10, 20, 40],
                        help="eval: items per task (4 tasks)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args()

    from vl4gaze.build import build_benchmark
    from vl4gaze.infer import RunConfig, run_inference
    from vl4gaze.models.tiny import tiny_model_path
    from vl4gaze.scale import RayExecutor, init_ray, run_inference_ray
    from vl4gaze.sources.gazeworld import synthesize

    seconds, _ = _timed(init_ray, num_cpus=args.cpus, object_store_memory=200 * 1024 * 1024)
    print(f"ray.init (local, {args.cpus} CPUs): {seconds:.1f} s")
    tiny_model_path(0)  # built once, outside the timings
    root = Path(tempfile.mkdtemp(prefix="bench_exec_"))
    try:
        print("\n| stage | size | items | local s | ray s | ray / local |")
        print("|---|---|---|---|---|---|")
        biggest = None
        for scenes in args.scenes:
            source = root / f"scenes{scenes}"
            synthesize(source, scenes, seed=0, size=args.size, progress=False)
            spec = [f"gazeworld:{source}"]
            t_local, manifest = _timed(build_benchmark, spec, root / f"local{scenes}",
                                       progress=False)
            t_ray, _ = _timed(build_benchmark, spec, root / f"ray{scenes}", progress=False,
                              executor=RayExecutor())
            n = manifest["counts"]["total"]
            print(f"| build (images write) | {scenes} scenes | {n} | {t_local:.2f} "
                  f"| {t_ray:.2f} | {t_ray / t_local:.2f} |", flush=True)
            biggest = root / f"local{scenes}"
        assert biggest is not None
        for per_task in args.per_task:
            config = RunConfig("tiny", limit=per_task, batch_size=args.batch_size,
                               max_new_tokens=args.max_new_tokens, progress=False,
                               model_options={"device": "cpu"}, replicas=args.replicas)
            t_local, res = _timed(run_inference, biggest, root / f"run_l{per_task}", config)
            t_ray, _ = _timed(run_inference_ray, biggest, root / f"run_r{per_task}", config)
            print(f"| eval tiny ({args.replicas} replicas) | {per_task}/task | {res.total} "
                  f"| {t_local:.2f} | {t_ray:.2f} | {t_ray / t_local:.2f} |", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
