"""``vl4gaze eval`` against real lmms-eval 0.7.3 (``llava_hf``): whole processes, interleaved.

The same tiny LLaVA, the same GazeWorld test items (vl4gaze's own ``export --to lmms-eval``,
moved elsewhere), the same limits (64 new tokens, greedy), one torch thread each
(``OMP_NUM_THREADS=1`` and ``MKL_NUM_THREADS=1`` for both), runs ordered A B A B ... per
batch size. Each run is timed as a whole process from launch to exit, scoring included
(vl4gaze: ``eval`` scores at the end; lmms-eval: ``process_results`` + aggregation).
Answers are compared item by item (stripped); a ratio over non-identical work is flagged.
``--baseline-src DIR`` adds a third contender: ``vl4gaze eval`` from another source tree
(e.g. main's ``src``) for before/after figures in the same interleaved run.

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
    contenders = {"vl4gaze": ROOT / "src"}
    if args.baseline_src:
        contenders["vl4gaze-baseline"] = args.baseline_src.resolve()
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    plans = [(bs, None) for bs in sizes] + ([(1, 1)] if args.startup else [])
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    answers: dict[str, dict[str, dict[str, str]]] = {}
    for repeat in range(args.repeats):
        for bs, limit in plans:
            key = f"batch {bs}" + (" (4 items)" if limit else "")
            limit_args = ["--limit", str(limit)] if limit else []
            for name, src in contenders.items():
                run = out / f"{name}-{bs}-{limit}-{repeat}"
                cmd = [python, "-m", "vl4gaze", "eval", str(bench), "--model", f"hf:{model}",
                       "-o", str(run), "--batch-size", str(bs), "--device", "cpu",
                       "--no-progress", *limit_args]
                results.setdefault(key, {}).setdefault(name, []).append(
                    timed_process(cmd, run.with_suffix(".log"), src))
                answers.setdefault(key, {})[name] = vl4gaze_answers(run)
            if lmms is not None:
                run = out / f"lmms-{bs}-{limit}-{repeat}"
                cmd = [str(lmms), "-m", "lmms_eval", "--model", "llava_hf", "--model_args",
                       f"pretrained={model},device=cpu,device_map=cpu", "--include_path",
                       str(tasks), "--tasks", "vl4gaze", "--batch_size", str(bs),
                       "--log_samples", "--output_path", str(run), *limit_args]
                results[key].setdefault("lmms-eval", []).append(
                    timed_process(cmd, run.with_suffix(".log"), ROOT / "src"))
                answers[key]["lmms-eval"] = lmms_answers(run)
            print(f"repeat {repeat + 1}/{args.repeats} {key}: " + ", ".join(
                f"{n} {t[-1][0]:.1f} s" for n, t in results[key].items())
                + f" (load {os.getloadavg()[0]:.1f})", flush=True)
    report = {"load_average_end": os.getloadavg(), "repeats": args.repeats, "runs": {}}
    print(f"\n{'run':18s} {'tool':18s} {'items':>5s} {'wall s (median)':>15s} "
          f"{'cpu s':>7s} {'items/s':>8s} {'ratio':>6s} identical")
    for key, by_tool in results.items():
        ref = answers[key]["vl4gaze"]
        n = len(ref)
        rate = {name: n / statistics.median(w for w, _ in times)
                for name, times in by_tool.items()}
        block = {}
        for name, times in by_tool.items():
            same, total = same_answers(ref, answers[key][name])
            ratio = rate["vl4gaze"] / rate[name]
            block[name] = {"wall_s": [round(w, 2) for w, _ in times],
                           "cpu_s": [round(c, 2) for _, c in times], "items": total,
                           "items_per_s": round(rate[name], 3), "identical": same,
                           "vl4gaze_speedup": round(ratio, 3)}
            print(f"{key:18s} {name:18s} {total:5d} {statistics.median(w for w, _ in times):15.2f}"
                  f" {statistics.median(c for _, c in times):7.2f} {rate[name]:8.2f} "
                  f"{ratio:6.2f} {same}/{total}")
        report["runs"][key] = block
    print(f"uptime load average at the end: {os.getloadavg()}")
    (out / "bench_eval_vs_lmms.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
