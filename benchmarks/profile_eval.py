"""Where the wall time of one ``vl4gaze eval`` process goes (issue 20), stage by stage.

Runs ``vl4gaze eval BENCH --model MODEL -o RUN --batch-size B`` in this process (the CLI's
own code, scoring included) with timers wrapped around the stages: imports, the benchmark
read, model load, prompt building (image open/decode inside it), the processor call,
``model.generate``, answer decoding, prediction log writes (write + fsync), scoring (the
sentence model's load and encode apart). Wall and CPU seconds; one torch thread unless
``--threads`` says otherwise. Makes a GazeWorld benchmark of ``--scenes`` scenes when no
``--bench`` is given.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_eval.py [--batch-size 1] \
        [--bench DIR] [--scenes 160] [--model hf:PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
START_WALL, START_CPU = time.perf_counter(), time.process_time()
TOTALS: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
_ACTIVE: list[str] = []


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` that adds its own wall / CPU time to ``TOTALS[name]`` (not nested twice)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if name in _ACTIVE:
            return fn(*args, **kwargs)
        _ACTIVE.append(name)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            entry = TOTALS[name]
            entry[0] += time.perf_counter() - wall
            entry[1] += time.process_time() - cpu
            entry[2] += 1
            _ACTIVE.remove(name)

    return wrapper


def patch(owner: Any, attr: str, name: str) -> None:
    setattr(owner, attr, timed(name, getattr(owner, attr)))


def make_bench(tmp: Path, scenes: int) -> Path:
    from vl4gaze.build import build_benchmark
    from vl4gaze.sources.gazeworld import synthesize

    synthesize(tmp / "gw", scenes, seed=0, progress=False)
    build_benchmark([f"gazeworld:{tmp / 'gw'}"], tmp / "bench", progress=False)
    return tmp / "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path)
    parser.add_argument("--scenes", type=int, default=160)
    parser.add_argument("--model", default=None, help="default: hf:<the tiny LLaVA's folder>")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    tmp = Path(tempfile.mkdtemp(prefix="profile-eval-"))
    try:
        bench = args.bench or make_bench(tmp, args.scenes)
        sys.argv = ["vl4gaze", "eval", str(bench), "--model",
                    args.model or f"hf:{tiny_path()}", "-o", str(tmp / "run"),
                    "--batch-size", str(args.batch_size), "--device", "cpu", "--no-progress",
                    *(["--limit", str(args.limit)] if args.limit else [])]
        # Everything below is measured from here: imports as the CLI does them.
        wall, cpu = time.perf_counter(), time.process_time()
        import torch
        import transformers  # noqa: F401  (the lazy module; its classes load on use)
        from transformers import AutoModelForImageTextToText, AutoProcessor  # noqa: F401

        torch.set_num_threads(args.threads)
        TOTALS["imports (torch, transformers)"] = [time.perf_counter() - wall,
                                                    time.process_time() - cpu, 1]
        instrument()
        from vl4gaze import cli

        wall, cpu = time.perf_counter(), time.process_time()
        with contextlib.suppress(SystemExit):
            cli.app(standalone_mode=False)
        total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
        report(total_wall, total_cpu, tmp / "run", args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def tiny_path() -> Path:
    from vl4gaze.models.tiny import tiny_spec_path

    return tiny_spec_path("tiny")


def instrument() -> None:
    """Timers around each stage of the eval command."""
    import vl4gaze.build as build
    import vl4gaze.infer as infer
    import vl4gaze.metrics.description as description
    import vl4gaze.models as models
    import vl4gaze.models.hf as hf
    import vl4gaze.prompting as prompting
    import vl4gaze.score as score

    patch(build, "load_benchmark", "read benchmark (Parquet -> QAItem)")
    patch(models, "load_model", "model load (incl. lazy imports)")
    patch(infer, "build_messages", "prompt building (incl. image open)")
    patch(prompting, "_load_image", "image open + decode")
    patch(hf.HFModel, "encode", "processor (template, tokenize, image resize)")
    patch(hf, "decode_answers", "decode answers")
    patch(infer, "predict_batch", "per batch, all of it")
    patch(os, "fsync", "log fsync")
    patch(score, "score_run", "scoring, all of it")
    patch(description.SentenceEmbedder, "_load", "sentence model load (incl. imports)")
    patch(description.SentenceEmbedder, "encode", "sentence embeddings (incl. load)")
    original = hf.HFModel.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.model.generate = timed("model.generate", self.model.generate)

    hf.HFModel.__init__ = init


def report(total_wall: float, total_cpu: float, run: Path, args: argparse.Namespace) -> None:
    from vl4gaze.infer import read_predictions

    n = len(read_predictions(run))
    print(f"items={n} batch_size={args.batch_size} threads={args.threads} "
          f"load={os.getloadavg()[0]:.2f}")
    print(f"{'stage':52s} {'wall s':>8s} {'cpu s':>8s} {'calls':>6s} {'ms/item':>8s}")
    imports = TOTALS.pop("imports (torch, transformers)")
    stages = sorted(((k, *v) for k, v in TOTALS.items()), key=lambda r: -r[1])
    rows = [("imports (torch, transformers)", *imports), *stages]
    for name, wall, cpu, calls in rows:
        print(f"{name:52s} {wall:8.2f} {cpu:8.2f} {calls:6d} {1000 * wall / max(n, 1):8.1f}")
    everything = total_wall + imports[0]
    print(f"{'eval command after imports':52s} {total_wall:8.2f} {total_cpu:8.2f}")
    print(f"{'process (imports + command)':52s} {everything:8.2f} "
          f"{total_cpu + imports[1]:8.2f}  -> {n / everything:.2f} items/s")


if __name__ == "__main__":
    main()
