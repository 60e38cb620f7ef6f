"""Training throughput of the tiny VLM: samples/s and peak memory, with and without length
grouping, and with the training images shrunk once to the model's input size (the default
for fixed-size processors) or decoded at full size every step. Sequence packing is tried
too, and reported as refused (TRL cannot pack images).

    .venv/bin/python benchmarks/bench_train.py [--scenes 120] [--steps 40] [--threads 1]

Each setting runs in a fresh subprocess so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_bench(root: Path, scenes: int) -> Path:
    from vl4gaze.build import build_benchmark
    from vl4gaze.sources.gazeworld import synthesize

    synthesize(root / "world", scenes, seed=0, size=224, progress=False)
    build_benchmark([f"gazeworld:{root / 'world'}"], root / "bench", seed=0, progress=False)
    return root / "bench"


def run_one(bench: Path, out: Path, steps: int, group: bool, shrink: bool) -> dict:
    """Child process: train, then report throughput and peak memory."""
    from vl4gaze.train import data
    from vl4gaze.train.config import TrainConfig
    from vl4gaze.train.sft import train

    if not shrink:  # as before the shrinking: every step decodes the full-size PNGs
        data.fixed_image_size = lambda processor: None

    start = time.perf_counter()
    train(bench, out, TrainConfig("tiny", max_steps=steps, batch_size=8,
                                  group_by_length=group, logging_steps=steps,
                                  save_steps=10_000, merge=False))
    wall = time.perf_counter() - start
    summary = json.loads((out / "vl4gaze_train.json").read_text())
    metrics = summary["metrics"]
    return {"group_by_length": group, "shrink": shrink, "steps": steps,
            "samples_per_s": metrics["train_samples_per_second"],
            "train_runtime_s": metrics["train_runtime"], "wall_s": round(wall, 1),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def try_packing(bench: Path, out: Path) -> str:
    """What TRL says when asked to pack a vision dataset."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTConfig, SFTTrainer

    from vl4gaze.models.tiny import tiny_model_path
    from vl4gaze.train.data import build_dataset, load_items

    path = tiny_model_path(0)
    dataset = build_dataset(load_items(bench, "train")[:16], bench)
    args = SFTConfig(output_dir=str(out), packing=True, use_cpu=True, bf16=False,
                     activation_checkpointing=False, report_to="none", max_steps=1)
    try:
        SFTTrainer(model=AutoModelForImageTextToText.from_pretrained(path), args=args,
                   train_dataset=dataset, processing_class=AutoProcessor.from_pretrained(path))
    except ValueError as err:
        return f"refused: {err}"
    return "accepted (unexpected)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenes", type=int, default=120)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=4, metavar=("BENCH", "OUT", "GROUP", "SHRINK"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.child:
        bench, out, group, shrink = args.child
        print(json.dumps(run_one(Path(bench), Path(out), args.steps, group == "1",
                                 shrink == "1")))
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = make_bench(root, args.scenes)
        from vl4gaze.models.tiny import tiny_model_path

        tiny_model_path(0)  # build once, outside the timed runs
        rows = []
        for group, shrink in ((False, True), (True, True), (True, False)):
            proc = subprocess.run(
                [sys.executable, __file__, "--steps", str(args.steps), "--threads",
                 str(args.threads), "--child", str(bench),
                 str(root / f"out{int(group)}{int(shrink)}"), str(int(group)), str(int(shrink))],
                env=env, capture_output=True, text=True, check=True)
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        packing = try_packing(bench, root / "packed")
    print(f"tiny VLM, batch 8, {args.steps} steps, {args.threads} thread(s), "
          f"GazeWorld {args.scenes} scenes")
    print("| setting | samples/s | train s | peak RSS MiB |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        name = ("group_by_length" if row["group_by_length"] else "random order") + (
            ", images shrunk once" if row["shrink"] else ", full-size images every step")
        print(f"| {name} | {row['samples_per_s']:.2f} | {row['train_runtime_s']:.1f} | "
              f"{row['peak_rss_mib']:.0f} |")
    print(f"| packing=True | - | - | - |  ({packing.splitlines()[0][:120]})")


if __name__ == "__main__":
    main()
