"""Run every benchmark script, each at three input sizes, and keep what each prints.

BENCHMARKS.md asks for how each figure grows with input size; this runs each script at
three sizes (x1, x2, x4 of a base; ``--scale`` shrinks or grows the base), writes every
output to ``OUT/<script>.<size>.txt`` and prints a table of wall times, then a table of
the ratios the side-by-side scripts print (``RATIO`` lines, ``ratios.py``: vl4gaze over
TRL, over lmms-eval, over a goal's seconds) per size. A script missing from the table
below is still run once with its defaults, so a new benchmark is never silently left out.

    .venv/bin/python benchmarks/run_all.py [-o bench-out] [--scale 0.25] [--only build,score]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from ratios import parse_ratios

HERE = Path(__file__).resolve().parent

#: script -> (its size arguments as a function of the size step k = 1, 2, 4, base scale s).
SIZES = {
    "bench_read_gazefollow.py": lambda k, s: ["--train-rows", int(30_000 * k * s),
                                              "--test-images", int(1_200 * k * s)],
    "bench_build.py": lambda k, s: ["--train", int(30_000 * k * s), "--test",
                                    int(1_200 * k * s), "--render", int(50 * k * s)],
    "bench_score.py": lambda k, s: ["--n", int(40_000 * k * s), "--embed", int(250 * k * s),
                                    "--n-boot", 200],
    "bench_infer_overhead.py": lambda k, s: ["--scenes", max(2, int(10 * k * s)),
                                             "--repeats", 1],
    "bench_train.py": lambda k, s: ["--scenes", max(4, int(30 * k * s)), "--steps", 10],
    "bench_train_vs_trl.py": lambda k, s: ["--scenes", max(8, int(40 * k * s)),
                                           "--steps", max(2, int(10 * k * s)),
                                           "--repeats", 1],
    "bench_eval_vs_lmms.py": lambda k, s: ["--scenes", max(16, int(160 * k * s)),
                                           "--batch-sizes", "1,8", "--repeats", 1],
    "bench_synth.py": lambda k, s: ["--scenes", max(4, int(75 * k * s))],
    "bench_report.py": lambda k, s: ["--items", max(4, int(60 * k * s))],
}
#: Scripts that already sweep three sizes themselves: run once.
SELF_SIZED = {"bench_executors.py": lambda s: [
    "--scenes", *(max(4, int(n * s)) for n in (50, 100, 200)),
    "--per-task", *(max(1, int(n * s)) for n in (10, 20, 40))]}


def ratio_table(ratios: dict[str, dict[str, tuple[float | None, str]]]) -> str:
    """Markdown: one row per comparison, one column per size, the last size's note."""
    labels = list(dict.fromkeys(label for by_size in ratios.values() for label in by_size))
    lines = ["", "| ratio | " + " | ".join(labels) + " | what |",
             "|---|" + "---:|" * len(labels) + "---|"]
    for name, by_size in ratios.items():
        cells = ["-" if label not in by_size else "skipped" if by_size[label][0] is None
                 else f"{by_size[label][0]:.3g}" for label in labels]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {list(by_size.values())[-1][1]} |")
    return "\n".join(lines) if ratios else "\n(no RATIO lines)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every base size")
    parser.add_argument("--only", default="", help="comma-separated names (e.g. build,score)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name
                     and (p.name.startswith("bench_") or p.name == "annotate_quality.py"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    rows = []
    ratios: dict[str, dict[str, tuple[float | None, str]]] = {}
    for script in scripts:
        short = script.stem.removeprefix("bench_")
        if wanted and short not in wanted and script.stem not in wanted:
            continue
        if script.name in SIZES:
            runs = [(f"x{k}", SIZES[script.name](k, args.scale)) for k in (1, 2, 4)]
        elif script.name in SELF_SIZED:
            runs = [("3 sizes", SELF_SIZED[script.name](args.scale))]
        else:
            runs = [("defaults", [])]
        for label, extra in runs:
            command = [sys.executable, str(script), *map(str, extra)]
            log = args.out / f"{script.stem}.{label.replace(' ', '_')}.txt"
            start = time.perf_counter()
            try:
                done = subprocess.run(command, capture_output=True, text=True, env=env,
                                      timeout=args.timeout)
                status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
                output = done.stdout + ("\n--- stderr ---\n" + done.stderr[-4000:]
                                        if done.returncode else "")
            except subprocess.TimeoutExpired:
                status, output = "timeout", ""
            wall = time.perf_counter() - start
            log.write_text(" ".join(command[1:]) + "\n\n" + output)
            rows.append((script.name, label, status, wall, log))
            for name, value, note in parse_ratios(output):
                ratios.setdefault(name, {})[label] = (value, note)
            print(f"{script.name} {label}: {status} in {wall:.1f} s -> {log}", flush=True)
    print("\n| script | size | status | wall s | output |\n|---|---|---|---|---|")
    for name, label, status, wall, log in rows:
        print(f"| {name} | {label} | {status} | {wall:.1f} | {log} |")
    print(ratio_table(ratios))
    if any(row[2] != "ok" for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
