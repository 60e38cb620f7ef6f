"""Does fine-tuning help the tiny offline VLM? synth -> build -> train -> eval, one table.

Evaluates on the same held-out test items (first ``--limit`` per task): the tiny VLM as
built (untrained), the text-only baseline, and the tiny VLM fine-tuned with the chosen
options. Every stage is the library's own function, as the CLI and the demo call it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/learnability.py --out /tmp/learn \\
        [--scenes 400] [--head-scale 2.0] [--max-objects 3] [--image-size 128] \\
        [--patch-size 16] [--steps 1000] [--batch-size 8] [--task-mix direction=1,ambiguity=3,...]

Rerunning into the same ``--out`` reuses finished stages with the same options (a stage's
options are part of its folder name). Prints a table (value [95% CI], n) and writes
``OUT/results.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

#: The headline metric shown per task (lower is better for avg_l2).
METRICS = {"direction": ("accuracy",), "ambiguity": ("accuracy", "f1"),
           "point": ("avg_l2", "acc@0.1"), "object": ("label_match",)}


def _key(options: dict[str, Any]) -> str:
    """A short stable name for a stage's options (its output folder)."""
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:10]


def make_bench(out: Path, args: argparse.Namespace) -> Path:
    """Synthesize GazeWorld and build the benchmark (cached by options)."""
    from vl4gaze.build import build_benchmark
    from vl4gaze.sources.gazeworld import synthesize

    world_opts = {"scenes": args.scenes, "size": args.synth_size, "seed": args.seed,
                  "head_scale": args.head_scale, "max_objects": args.max_objects,
                  "min_objects": min(3, args.max_objects),
                  "p_multi_person": args.p_multi_person}
    bench_opts = {**world_opts, "person_ref": args.person_ref}
    world = out / f"world-{_key(world_opts)}"
    bench = out / f"bench-{_key(bench_opts)}"
    if not (world / "annotations.jsonl").is_file():
        synthesize(world, args.scenes, seed=args.seed, size=args.synth_size,
                   head_scale=args.head_scale, max_objects=args.max_objects,
                   min_objects=min(3, args.max_objects), p_multi_person=args.p_multi_person)
    if not (bench / "manifest.json").is_file():
        build_benchmark([f"gazeworld:{world}"], bench, seed=args.seed,
                        person_ref=args.person_ref)
    return bench


def make_base(out: Path, args: argparse.Namespace) -> Path:
    """The untrained tiny VLM with the chosen architecture (cached by options)."""
    from vl4gaze.models.tiny import build_tiny_vlm

    opts = {"seed": args.seed, "image_size": args.image_size, "patch_size": args.patch_size,
            "vision_layers": args.vision_layers, "hidden": args.hidden}
    if args.pretrain_steps:
        opts.update(pretrain_steps=args.pretrain_steps, pretrain_scenes=args.pretrain_scenes)
    path = out / f"tiny-{_key(opts)}"
    if not (path / "config.json").is_file():
        build_tiny_vlm(path, seed=args.seed, image_size=args.image_size,
                       patch_size=args.patch_size, vision_layers=args.vision_layers,
                       hidden=args.hidden, pretrain_steps=args.pretrain_steps,
                       pretrain_scenes=args.pretrain_scenes)
    return path


def train_model(out: Path, bench: Path, base: Path, args: argparse.Namespace) -> tuple[Path, float]:
    """Fine-tune the base on the benchmark; returns the checkpoint and its wall seconds."""
    from vl4gaze.train.config import TrainConfig
    from vl4gaze.train.sft import train

    opts = {"bench": bench.name, "base": base.name, "steps": args.steps, "bs": args.batch_size,
            "lr": args.lr, "lora": args.lora, "unfreeze_vision": args.unfreeze_vision,
            "mix": args.task_mix, "seed": args.seed}
    if args.loss_per != "token":
        opts["loss_per"] = args.loss_per
    ckpt = out / f"sft-{_key(opts)}"
    timing = ckpt / "wall_s.txt"
    if timing.is_file() and (ckpt / "config.json").is_file():
        return ckpt, float(timing.read_text())
    start = time.perf_counter()
    train(bench, ckpt, TrainConfig(
        f"hf:{base}", max_steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        lora=args.lora, unfreeze_vision=args.unfreeze_vision, task_mix=args.task_mix,
        seed=args.seed, group_by_length=True, logging_steps=max(1, args.steps // 10),
        save_steps=10_000, loss_per=args.loss_per))
    wall = time.perf_counter() - start
    timing.write_text(f"{wall:.1f}\n")
    return ckpt, wall


def evaluate(bench: Path, spec: str, run: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Answer the first ``limit`` test items per task and score them."""
    from vl4gaze.infer import RunConfig, run_inference
    from vl4gaze.score import score_run

    run_inference(bench, run, RunConfig(spec, tasks=args.tasks, limit=args.limit,
                                        seed=args.seed, max_new_tokens=args.max_new_tokens))
    return score_run(run)


def _cell(scores: dict[str, Any], task: str, metric: str) -> str:
    entry = scores["tasks"].get(task, {}).get("metrics", {}).get(metric)
    if entry is None or entry.get("value") is None:
        return "-"
    if entry.get("ci_low") is None:
        return f"{entry['value']:.3f}"
    return f"{entry['value']:.3f} [{entry['ci_low']:.2f}, {entry['ci_high']:.2f}]"


def table(results: dict[str, dict[str, Any]], tasks: list[str]) -> str:
    """A Markdown table: one row per model, value [95% CI] per metric, n per task."""
    cols = [(t, m) for t in tasks for m in METRICS[t]]
    head = "| model | " + " | ".join(f"{t} {m}" for t, m in cols) + " | n per task |"
    lines = [head, "|" + " --- |" * (len(cols) + 2)]
    for name, scores in results.items():
        n = "/".join(str(scores["tasks"].get(t, {}).get("n", 0)) for t in tasks)
        lines.append(f"| {name} | " + " | ".join(_cell(scores, t, m) for t, m in cols)
                     + f" | {n} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/vl4gaze-learnability"))
    parser.add_argument("--scenes", type=int, default=400)
    parser.add_argument("--synth-size", type=int, default=224)
    parser.add_argument("--head-scale", type=float, default=2.0)
    parser.add_argument("--max-objects", type=int, default=3)
    parser.add_argument("--p-multi-person", type=float, default=0.5)
    parser.add_argument("--person-ref", default="box")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--vision-layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--pretrain-steps", type=int, default=0,
                        help="vision pretraining steps (tiny-gaze: 1500)")
    parser.add_argument("--pretrain-scenes", type=int, default=8000)
    parser.add_argument("--loss-per", choices=("token", "example"), default="token")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=None, help="default: the tiny default")
    parser.add_argument("--lora", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--unfreeze-vision", action=argparse.BooleanOptionalAction,
                        default=True)
    parser.add_argument("--task-mix", default="direction=1,ambiguity=3,point=1,object=1")
    parser.add_argument("--tasks", default="direction,ambiguity,point")
    parser.add_argument("--limit", type=int, default=50, help="test items per task")
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-untrained", action="store_true")
    args = parser.parse_args()
    args.tasks = [t for t in args.tasks.split(",") if t]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    bench = make_bench(out, args)
    base = make_base(out, args)
    prep_s = time.perf_counter() - start
    ckpt, train_s = train_model(out, bench, base, args)
    start = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    suffix = f"{bench.name}-{args.limit}-{'_'.join(args.tasks)}"
    results["text-only"] = evaluate(bench, "baseline:text-only", out / f"run-text-{suffix}", args)
    if not args.skip_untrained:
        results["tiny, untrained"] = evaluate(bench, f"hf:{base}",
                                              out / f"run-{base.name}-{suffix}", args)
    results["tiny, fine-tuned"] = evaluate(bench, f"hf:{ckpt}", out / f"run-{ckpt.name}-{suffix}",
                                           args)
    eval_s = time.perf_counter() - start
    summary = json.loads((ckpt / "vl4gaze_train.json").read_text())
    losses = [h["loss"] for h in summary["log_history"] if "loss" in h]
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    record = {"config": config, "checkpoint": str(ckpt), "prep_s": round(prep_s, 1),
              "train_s": round(train_s, 1), "eval_s": round(eval_s, 1),
              "loss_first": losses[0] if losses else None,
              "loss_last": losses[-1] if losses else None,
              "lr": summary["lr"], "n_train_examples": summary["n_examples"],
              "scores": {name: s["tasks"] for name, s in results.items()}}
    (out / f"results-{ckpt.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: v for k, v in config.items() if k not in ("out",)}))
    print(f"train {train_s:.0f} s ({args.steps} steps, lr {summary['lr']}), loss "
          f"{record['loss_first']} -> {record['loss_last']}; prep {prep_s:.0f} s, "
          f"eval {eval_s:.0f} s")
    print(table(results, args.tasks))


if __name__ == "__main__":
    main()
