"""``vl4gaze train`` against plain TRL ``SFTTrainer`` defaults: samples/s, side by side.

The same tiny random LLaVA, the same GazeWorld train items, the same steps and batch size,
trained three ways in fresh processes, interleaved in rounds (A B C A B C ...), one torch
thread each (``OMP_NUM_THREADS=MKL_NUM_THREADS=1``):

- A ``vl4gaze train BENCH --model tiny`` as the command runs it (its defaults: LoRA, the
  projector and head trained whole, answer-only loss, images shrunk once, fp32 on CPU);
- B ``trl.SFTTrainer`` with ``SFTConfig`` defaults on ``vl4gaze export --to trl`` loaded with
  ``datasets`` (``load_trl``), the processor as ``processing_class`` and vl4gaze's LoRA
  config (so the trained parameters match); only ``output_dir``, ``max_steps``,
  ``per_device_train_batch_size``, ``report_to="none"``, ``save_strategy="no"`` and
  ``use_cpu=True`` are set;
- C the same as B with ``bf16=False`` (TRL's default bf16 autocast is what costs on CPU).

Each child records what its trainer was given (every ``TrainingArguments`` field, the
collator, the trained parameters, the first batch's tokens and loss tokens, the picture
size), and the table ends with what differs. Throughput is the trainer's own
``train_samples_per_second`` (the training loop only; loading and saving excluded).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_train_vs_trl.py [--scenes 40] \
        [--steps 10] [--batch-size 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_train import make_bench
from ratios import ratio_line

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
              "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
              "TOKENIZERS_PARALLELISM": "false"}
#: SFTConfig fields set on top of TRL's defaults, per TRL set-up.
TRL_OVERRIDES: dict[str, dict[str, Any]] = {"trl": {}, "trl-fp32": {"bf16": False}}
LABELS = {"vl4gaze": "vl4gaze train (its defaults)", "trl": "TRL SFTTrainer defaults",
          "trl-fp32": "TRL defaults + bf16=False"}
#: Arguments that name paths of one run: not a difference of set-up.
_PATHS = ("output_dir", "logging_dir", "run_name")


def setup_of(trainer: Any, batch_size: int) -> dict[str, Any]:
    """What a constructed trainer will do: its arguments, collator, trained parameters, the
    first ``batch_size`` examples as collated (tokens, loss tokens) and their picture size."""
    rows = [trainer.train_dataset[i] for i in range(min(batch_size, len(trainer.train_dataset)))]
    picture = rows[0]["images"][0].size
    batch = trainer.data_collator(rows)
    trained = {n: p.numel() for n, p in trainer.model.named_parameters() if p.requires_grad}
    return {"args": {k: v for k, v in trainer.args.to_dict().items() if k not in _PATHS},
            "collator": type(trainer.data_collator).__name__,
            "dtype": str(next(trainer.model.parameters()).dtype),
            "trained": sorted(trained), "trained_values": sum(trained.values()),
            "picture": f"{picture[0]}x{picture[1]}",
            "tokens": "x".join(map(str, batch["input_ids"].shape)),
            "loss_tokens": int((batch["labels"] != -100).sum()),
            "attended_tokens": int(batch["attention_mask"].sum())}


def child_vl4gaze(bench: Path, run: Path, steps: int, batch_size: int) -> dict[str, Any]:
    """``python -m vl4gaze train`` in this process, its SFTTrainer recorded on construction."""
    import runpy

    import trl

    class Recording(trl.SFTTrainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            (run / "setup.json").write_text(json.dumps(setup_of(self, batch_size), default=str))

    trl.SFTTrainer = Recording  # vl4gaze.train.sft imports it when train() runs
    sys.argv = ["vl4gaze", "train", str(bench), "--model", "tiny", "-o", str(run / "out"),
                "--max-steps", str(steps), "--batch-size", str(batch_size)]
    try:
        runpy.run_module("vl4gaze", run_name="__main__")
    except SystemExit as done:
        if done.code:
            raise
    return json.loads((run / "out" / "vl4gaze_train.json").read_text())["metrics"]


def child_trl(export: Path, run: Path, steps: int, batch_size: int,
              overrides: dict[str, Any]) -> dict[str, Any]:
    """Plain TRL on the TRL export: SFTConfig defaults plus ``overrides``."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import SFTConfig, SFTTrainer

    from vl4gaze.export.trl import load_trl
    from vl4gaze.models.tiny import tiny_model_path
    from vl4gaze.train.config import TrainConfig
    from vl4gaze.train.lora import make_lora_config

    path = tiny_model_path(0)
    model = AutoModelForImageTextToText.from_pretrained(path)
    rank = TrainConfig("tiny").lora_rank
    # vl4gaze's choice for a tiny model with a random vision tower (vl4gaze.train.sft);
    # the recorded trained parameters show whether it still matches.
    peft_config = make_lora_config(model, rank=rank, alpha=2 * rank, unfreeze_vision=True,
                                   train_head=True)
    args = SFTConfig(output_dir=str(run / "out"), max_steps=steps,
                     per_device_train_batch_size=batch_size, report_to="none",
                     save_strategy="no", use_cpu=True, **overrides)
    trainer = SFTTrainer(model=model, args=args, train_dataset=load_trl(export, "train"),
                         processing_class=AutoProcessor.from_pretrained(path),
                         peft_config=peft_config)
    (run / "setup.json").write_text(json.dumps(setup_of(trainer, batch_size), default=str))
    return trainer.train().metrics


def run_child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    kind, run = args.child[0], Path(args.child[1])
    start = time.perf_counter()
    try:
        if kind == "vl4gaze":
            metrics = child_vl4gaze(args.bench, run, args.steps, args.batch_size)
        else:
            metrics = child_trl(args.export, run, args.steps, args.batch_size,
                                TRL_OVERRIDES[kind])
    except Exception as err:  # the finding is the error itself: report it, do not hide it
        import traceback

        traceback.print_exc()
        result = {"error": f"{type(err).__name__}: {err}"}
    else:
        result = {"samples_per_s": metrics["train_samples_per_second"],
                  "train_s": metrics["train_runtime"]}
    result.update(in_process_s=time.perf_counter() - start,
                  peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    (run / "result.json").write_text(json.dumps(result))


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """One line per set-up fact or TrainingArguments field where ``a`` and ``b`` differ."""
    lines = []
    for key in ("collator", "dtype", "picture", "tokens", "loss_tokens", "attended_tokens"):
        if a[key] != b[key]:
            lines.append(f"{key}: {a[key]} | {b[key]}")
    if a["trained"] != b["trained"]:
        only_a = set(a["trained"]) - set(b["trained"])
        only_b = set(b["trained"]) - set(a["trained"])
        lines.append(f"trained tensors: {len(only_a)} only in vl4gaze, {len(only_b)} only in "
                     f"TRL (e.g. {sorted(only_a or only_b)[:2]})")
    for key in sorted(set(a["args"]) | set(b["args"])):
        if a["args"].get(key) != b["args"].get(key):
            lines.append(f"SFTConfig.{key}: {a['args'].get(key)!r} | {b['args'].get(key)!r}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of A B C")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "RUN"), help=argparse.SUPPRESS)
    parser.add_argument("--bench", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    from vl4gaze.export import export_benchmark
    from vl4gaze.models.tiny import tiny_model_path
    from vl4gaze.train.data import load_items

    env = {**os.environ, **ONE_THREAD}
    kinds = ["vl4gaze", *TRL_OVERRIDES]
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    setups: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = make_bench(root, args.scenes)
        export = export_benchmark(bench, "trl", root / "trl")  # = vl4gaze export --to trl
        n_items = len(load_items(bench, "train"))
        tiny_model_path(0)  # built once, outside the timed runs
        for repeat in range(args.repeats):
            for kind in kinds:
                run = root / f"{kind}-{repeat}"
                run.mkdir()
                start = time.perf_counter()
                with open(run / "log.txt", "w") as log:
                    code = subprocess.call(
                        [sys.executable, __file__, "--child", kind, str(run), "--bench",
                         str(bench), "--export", str(export), "--steps", str(args.steps),
                         "--batch-size", str(args.batch_size)],
                        env=env, stdout=log, stderr=subprocess.STDOUT)
                wall = time.perf_counter() - start
                if code or not (run / "result.json").exists():
                    sys.exit(f"{kind} child failed ({code}):\n"
                             + (run / "log.txt").read_text()[-3000:])
                result = json.loads((run / "result.json").read_text())
                results[kind].append({**result, "wall_s": wall})
                if "error" in result:
                    print(f"{LABELS[kind]} failed: {result['error']}\n"
                          + (run / "log.txt").read_text()[-2000:])
                elif (run / "setup.json").exists():
                    setups[kind] = json.loads((run / "setup.json").read_text())
                print(f"round {repeat + 1}/{args.repeats} {kind}: "
                      f"{result.get('samples_per_s', 'failed')} samples/s, {wall:.1f} s "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
    report(args, n_items, results, setups, load_before)


def report(args: argparse.Namespace, n_items: int, results: dict[str, list[dict[str, Any]]],
           setups: dict[str, dict[str, Any]], load_before: tuple[float, float, float]) -> None:
    print(f"\ntiny LLaVA, batch {args.batch_size}, {args.steps} steps, 1 torch thread, GazeWorld "
          f"{args.scenes} scenes ({n_items} train items), {args.repeats} round(s) interleaved; "
          f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    print("| set-up | samples/s (median) | per round | process wall s | peak RSS MiB |")
    print("| --- | ---: | --- | ---: | ---: |")
    rate: dict[str, float] = {}
    for kind, rows in results.items():
        good = [r["samples_per_s"] for r in rows if "samples_per_s" in r]
        if good:
            rate[kind] = statistics.median(good)
        median = f"{rate[kind]:.2f}" if good else "failed"
        print(f"| {LABELS[kind]} | {median} | {', '.join(f'{g:.2f}' for g in good)} | "
              f"{statistics.median(r['wall_s'] for r in rows):.1f} | "
              f"{max(r['peak_rss_mib'] for r in rows):.0f} |")
    for kind in TRL_OVERRIDES:
        ok = "vl4gaze" in rate and kind in rate
        value = rate["vl4gaze"] / rate[kind] if ok else None
        if ok:
            print(f"vl4gaze / {LABELS[kind]}: {value:.2f}x samples/s")
        print(ratio_line(f"train_vs_{kind.replace('-', '_')}", value,
                         f"vl4gaze train / {LABELS[kind]}, samples/s, {args.steps} steps"
                         if ok else "a side failed: see the output above"))
    if "vl4gaze" in setups and "trl" in setups:
        a, b = setups["vl4gaze"], setups["trl"]
        same = "identical" if a["trained"] == b["trained"] else "DIFFERENT"
        print(f"\ntrained parameters: {same} ({len(a['trained'])} tensors, "
              f"{a['trained_values']:,} values in vl4gaze; {len(b['trained'])}, "
              f"{b['trained_values']:,} in TRL)")
        print("what differs, vl4gaze | TRL defaults (first batch = the first "
              f"{args.batch_size} examples; tokens = batch x padded length):")
        for line in differences(a, b):
            print(f"- {line}")
        for kind, overrides in TRL_OVERRIDES.items():
            if overrides:
                print(f"{LABELS[kind]}: as TRL defaults but "
                      + ", ".join(f"{k}={v!r}" for k, v in overrides.items()))


if __name__ == "__main__":
    main()
