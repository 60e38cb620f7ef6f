"""``vl4gaze eval`` against real lmms-eval 0.7.3 (``llava_hf``): whole processes, interleaved.

The same tiny LLaVA, the same GazeWorld test items (vl4gaze's own ``export --to lmms-eval``,
moved elsewhere), the same limits (64 new tokens, greedy), one torch thread each
(``OMP_NUM_THREADS=1`` and ``MKL_NUM_THREADS=1`` for both), runs ordered A B A B ... in
rounds. Each run is timed as a whole process from launch to exit, scoring included
(vl4gaze: ``eval`` scores at the end; lmms-eval: ``process_results`` + aggregation).
Answers are compared item by item (stripped); a ratio over non-identical work is flagged.
lmms-eval's ``llava_hf`` answers one request at a time (batch 1 only): every vl4gaze batch
size is compared with it. ``--baseline-src DIR`` adds a third contender: ``vl4gaze eval``
from another source tree (e.g. main's ``src``), for before/after figures in the same run.

lmms-eval lives in its own virtualenv, ``~/.cache/vl4gaze-harness/lmms-eval-0.7.3`` (CPU
torch first, then its requirements, then ``lmms-eval --no-deps``: see
``check_harnesses.lmms_python``); ``--install`` makes it when it is missing, otherwise the
script says how and measures vl4gaze alone.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_eval_vs_lmms.py [--install] \
        [--scenes 160] [--batch-sizes 1,8] [--repeats 2] [--baseline-src /work/main/src] \
        [--startup] [--out /tmp/vl4gaze-vs-lmms]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_harnesses import CACHE, LMMS_VERSION, lmms_python  # noqa: E402
from ratios import ratio_line  # noqa: E402

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
              "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
              "TOKENIZERS_PARALLELISM": "false"}


def timed_process(cmd: list[str], log: Path, src: Path) -> tuple[float, float]:
    """(wall s, CPU s of the process and its children) of one command, output in ``log``."""
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(src)}
    before = os.times()
    start = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.call(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - start
    after = os.times()
    if code:
        sys.exit(f"{cmd[0]} ... failed ({code}); see {log}")
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return wall, cpu


def vl4gaze_answers(run: Path) -> dict[str, str]:
    lines = (run / "predictions.jsonl").read_text().splitlines()
    return {row["item_id"]: row["raw"] for row in map(json.loads, lines)}


def lmms_answers(out: Path) -> dict[str, str]:
    answers = {}
    for path in glob.glob(str(out / "**" / "*_samples_vl4gaze_*.jsonl"), recursive=True):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)["parse_rate"]
            answers[record["id"]] = record["raw"]
    return answers


def same_answers(a: dict[str, str], b: dict[str, str]) -> tuple[int, int]:
    """(identical after strip, items) over the union of both answer sets."""
    ids = set(a) | set(b)
    return sum((a.get(i) or "").strip() == (b.get(i) or "").strip() and i in a and i in b
               for i in ids), len(ids)


def prepare(out: Path, scenes: int, python: str) -> tuple[Path, Path, Path]:
    """GazeWorld benchmark, its lmms-eval export moved away from it, the tiny LLaVA."""
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(ROOT / "src")}
    for args in (["synth", str(out / "gw"), "--scenes", str(scenes)],
                 ["build", f"gazeworld:{out / 'gw'}", "-o", str(out / "bench")],
                 ["export", str(out / "bench"), "--to", "lmms-eval", "-o", str(out / "export")]):
        subprocess.run([python, "-m", "vl4gaze", *args], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tasks = out / "moved" / "vl4gaze"
    tasks.parent.mkdir(exist_ok=True)
    shutil.move(str(out / "export" / "vl4gaze"), str(tasks))
    sys.path.insert(0, str(ROOT / "src"))
    from vl4gaze.models.tiny import tiny_spec_path

    return out / "bench", tasks, tiny_spec_path("tiny")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=160, help="GazeWorld scenes (160: "
                        "~200 test items)")
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--install", action="store_true",
                        help="make lmms-eval's virtualenv when it is missing (minutes, network)")
    parser.add_argument("--baseline-src", type=Path,
                        help="also time vl4gaze eval from this source tree (before/after)")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the vl4gaze source tree measured (default: this checkout's)")
    parser.add_argument("--startup", action="store_true",
                        help="also time 4-item runs (1 per task): the fixed cost")
    parser.add_argument("--no-lmms", action="store_true", help="time vl4gaze alone")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vl4gaze-vs-lmms"))
    args = parser.parse_args()
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    venv = CACHE / f"lmms-eval-{LMMS_VERSION}"
    lmms = None
    if not args.no_lmms:
        if (venv / ".installed").exists() or args.install:
            lmms = lmms_python()
        else:
            print(f"lmms-eval {LMMS_VERSION} is not installed in {venv}: rerun with --install "
                  "(CPU torch first, then its requirements, then lmms-eval --no-deps; the "
                  "same environment as `make check-harnesses ONLY=lmms-eval`). Measuring "
                  "vl4gaze alone.")
    python = sys.executable
    bench, tasks, model = prepare(out, args.scenes, python)
    contenders = {"vl4gaze": args.src.resolve()}
    if args.baseline_src:
        contenders["vl4gaze-baseline"] = args.baseline_src.resolve()
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    # lmms-eval's llava_hf answers one request at a time ("Do not support
    # batch_size_per_gpu > 1"): it runs at batch 1, once per round, and every vl4gaze
    # batch size is compared with that.
    plans = [(f"batch {bs}", bs, None) for bs in sizes]
    if args.startup:
        plans.append(("4 items (1 per task)", 1, 1))
    times: dict[str, dict[str, list[tuple[float, float]]]] = {}
    answers: dict[str, dict[str, dict[str, str]]] = {}
    for repeat in range(args.repeats):
        for key, bs, limit in plans:
            limit_args = ["--limit", str(limit)] if limit else []
            row = times.setdefault(key, {})
            for name, src in contenders.items():
                run = out / f"{name}-{bs}-{limit}-{repeat}"
                cmd = [python, "-m", "vl4gaze", "eval", str(bench), "--model", f"hf:{model}",
                       "-o", str(run), "--batch-size", str(bs), "--device", "cpu",
                       "--no-progress", *limit_args]
                row.setdefault(name, []).append(timed_process(cmd, run.with_suffix(".log"),
                                                              src))
                answers.setdefault(key, {})[name] = vl4gaze_answers(run)
            if lmms is not None and (bs == 1 or limit):
                run = out / f"lmms-1-{limit}-{repeat}"
                cmd = [str(lmms), "-m", "lmms_eval", "--model", "llava_hf", "--model_args",
                       f"pretrained={model},device=cpu,device_map=cpu", "--include_path",
                       str(tasks), "--tasks", "vl4gaze", "--batch_size", "1",
                       "--log_samples", "--output_path", str(run), *limit_args]
                row.setdefault("lmms-eval (batch 1)", []).append(
                    timed_process(cmd, run.with_suffix(".log"), ROOT / "src"))
                answers[key]["lmms-eval (batch 1)"] = got = lmms_answers(run)
                if len(got) != len(answers[key]["vl4gaze"]):
                    sys.exit(f"lmms-eval answered {len(got)} items, vl4gaze "
                             f"{len(answers[key]['vl4gaze'])}; see {run.with_suffix('.log')}")
            print(f"round {repeat + 1}/{args.repeats} {key}: " + ", ".join(
                f"{n} {t[-1][0]:.1f} s" for n, t in row.items())
                + f" (load {os.getloadavg()[0]:.1f})", flush=True)
    lmms_rows = {key: (times[key].get("lmms-eval (batch 1)"),
                       answers[key].get("lmms-eval (batch 1)")) for key, _, _ in plans}
    full_lmms = lmms_rows[f"batch {sizes[0]}"] if 1 in sizes else (None, None)
    whole = {key for key, _, limit in plans if limit is None}  # the RATIO lines' runs
    report = {"load_average_end": os.getloadavg(), "repeats": args.repeats, "runs": {}}
    print(f"\n{'run':22s} {'tool':22s} {'items':>5s} {'wall s':>7s} {'cpu s':>7s} "
          f"{'items/s':>8s} {'vs lmms':>7s} {'vs base':>7s} identical")
    for key, row in times.items():
        lmms_times, lmms_got = lmms_rows[key] if lmms_rows[key][0] else full_lmms
        ref = answers[key]["vl4gaze"]
        entries = dict(row)
        if lmms_times and "lmms-eval (batch 1)" not in entries:
            entries["lmms-eval (batch 1)"] = lmms_times
        got_by = {**answers[key], **({"lmms-eval (batch 1)": lmms_got} if lmms_got else {})}
        rate = {name: len(ref) / statistics.median(w for w, _ in t)
                for name, t in entries.items()}
        block = {}
        for name, t in entries.items():
            same, total = same_answers(ref, got_by[name])
            vs_lmms = (rate[name] / rate["lmms-eval (batch 1)"]
                       if "lmms-eval (batch 1)" in rate else None)
            vs_base = (rate[name] / rate["vl4gaze-baseline"]
                       if "vl4gaze-baseline" in rate else None)
            wall, cpu = (statistics.median(x[i] for x in t) for i in (0, 1))
            block[name] = {"wall_s": [round(w, 2) for w, _ in t],
                           "cpu_s": [round(c, 2) for _, c in t], "items": total,
                           "items_per_s": round(rate[name], 3), "identical": same,
                           "speed_vs_lmms": vs_lmms and round(vs_lmms, 3),
                           "speed_vs_baseline": vs_base and round(vs_base, 3)}
            print(f"{key:22s} {name:22s} {total:5d} {wall:7.2f} {cpu:7.2f} {rate[name]:8.2f} "
                  f"{'-' if vs_lmms is None else f'{vs_lmms:.2f}x':>7s} "
                  f"{'-' if vs_base is None else f'{vs_base:.2f}x':>7s} {same}/{total}")
        report["runs"][key] = block
        if key not in whole:
            continue
        vs_lmms = block["vl4gaze"]["speed_vs_lmms"]
        print(ratio_line(f"eval_vs_lmms_{key.replace(' ', '')}", vs_lmms,
                         f"vl4gaze items/s at {key} / lmms-eval's at batch 1" if vs_lmms
                         else "lmms-eval not run: " + ("--no-lmms" if args.no_lmms else
                                                       f"not installed in {venv}")))
    print(f"uptime load average at the end: {os.getloadavg()}")
    (out / "bench_eval_vs_lmms.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
