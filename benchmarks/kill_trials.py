"""kill -9 trials (issue 21): kill ``build``, ``score`` and ``train`` at random moments and
check that nothing half-written passes for complete, and that a rerun repairs it.

    PYTHONPATH=src .venv/bin/python benchmarks/kill_trials.py [--trials 20] [--only build]

Per command, each trial starts it over the state the previous trial left (so rebuilds
over a killed build are covered too), sends SIGKILL after a random delay drawn from
[0, the command's measured duration], and then checks:

- build: either no ``manifest.json`` (and ``load_benchmark`` refuses the folder) or a
  manifest whose listed files all exist with the recorded sizes and SHA-256, and every
  image the plan names that exists is whole (``image_complete``);
- score: ``scores.json`` absent or a complete JSON object with ``tasks``; ``items.parquet``
  absent or readable;
- train: ``vl4gaze_train.json`` absent, or present together with readable weights
  (every ``*.safetensors`` opens and every tensor loads) and a parseable config.

At the end each command is run once more to completion and must verify. Prints one line
per command: trials, how many kills landed while it ran, bad states seen (must be 0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable


def cli(*args: str) -> list[str]:
    return [PY, "-m", "vl4gaze", *args]


def run(args: list[str]) -> float:
    start = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr[-800:]}")
    return time.monotonic() - start


def kill_at(args: list[str], delay: float) -> bool:
    """Start ``args``, SIGKILL it after ``delay`` s; True when it was still running."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def check_build(bench: Path) -> str | None:
    from vl4gaze.build import IncompleteBenchmark, check_complete, image_complete, load_benchmark

    if not (bench / "manifest.json").exists():
        try:
            load_benchmark(bench)
        except (IncompleteBenchmark, FileNotFoundError):
            return None
        return "no manifest but load_benchmark accepted the folder"
    try:
        manifest = check_complete(bench, exact=True)
    except ValueError as err:
        return f"manifest present but incomplete: {err}"
    for name, entry in manifest.get("files", {}).items():
        if name == "for_content_hash":
            continue
        if hashlib.sha256((bench / name).read_bytes()).hexdigest() != entry["sha256"]:
            return f"{name}: content differs from the manifest"
    import pyarrow.parquet as pq

    for row in pq.read_table(bench / "image_plan.parquet").to_pylist():
        path = bench / row["dest"]
        if os.path.lexists(path) and not image_complete(path):
            return f"{row['dest']}: a truncated image under its final name"
    missing = [r["dest"] for r in pq.read_table(bench / "image_plan.parquet").to_pylist()
               if not (bench / r["dest"]).exists()]
    if missing and manifest["options"]["images"] != "none":
        return f"manifest present but {len(missing)} planned images missing"
    return None


def check_score(run_dir: Path) -> str | None:
    scores = run_dir / "scores.json"
    if scores.exists():
        try:
            data = json.loads(scores.read_text())
        except ValueError as err:
            return f"scores.json is not JSON ({err}; {scores.stat().st_size} bytes)"
        if not isinstance(data, dict) or "tasks" not in data:
            return "scores.json lacks tasks"
    items = run_dir / "items.parquet"
    if items.exists():
        import pyarrow.parquet as pq

        try:
            pq.read_table(items)
        except Exception as err:  # any unreadable file is the finding
            return f"items.parquet unreadable: {err}"
    return None


def check_train(out: Path) -> str | None:
    if not (out / "vl4gaze_train.json").exists():
        return None
    try:
        json.loads((out / "vl4gaze_train.json").read_text())
        json.loads((out / "config.json").read_text())
    except (OSError, ValueError) as err:
        return f"marked complete but {err}"
    weights = list(out.glob("*.safetensors"))
    if not weights:
        return "marked complete but no weights"
    from safetensors import safe_open

    for path in weights:
        try:
            with safe_open(str(path), "pt") as handle:
                for key in handle.keys():  # noqa: SIM118 - safe_open is not iterable
                    handle.get_tensor(key)
        except Exception as err:  # any failure to load is the finding
            return f"marked complete but {path.name} does not load: {err}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--only", choices=["build", "score", "train"], action="append")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vl4gaze-kill-trials"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    scenes = work / "scenes"
    if not (scenes / "meta.json").exists():
        run(cli("synth", str(scenes), "--scenes", "40", "--size", "64", "--test-fraction",
                "0.5"))
    ref = work / "ref-bench"
    if not (ref / "manifest.json").exists():
        run(cli("build", f"gazeworld:{scenes}", "-o", str(ref)))
    plans = {
        "build": (cli("build", f"gazeworld:{scenes}", "-o", str(work / "bench")),
                  lambda: check_build(work / "bench")),
        "score": (cli("score", str(work / "run"), "--n-boot", "200"),
                  lambda: check_score(work / "run")),
        "train": (cli("train", str(ref), "--model", "tiny", "-o", str(work / "model"),
                      "--max-steps", "20", "--batch-size", "4", "--resume"),
                  lambda: check_train(work / "model")),
    }
    if "score" in (args.only or plans) and not (work / "run" / "predictions.jsonl").exists():
        run(cli("eval", str(ref), "--model", "baseline:center", "-o", str(work / "run"),
                "--no-progress"))
    for name in args.only or list(plans):
        command, check = plans[name]
        duration = run(command)  # also the state the first trial starts from
        landed, bad = 0, []
        for trial in range(args.trials):
            landed += kill_at(command, rng.uniform(0.2, duration))
            why = check()
            if why:
                bad.append(f"trial {trial}: {why}")
        run(command)
        final = check()
        print(f"{name}: {args.trials} trials, {landed} killed mid-run (full run "
              f"{duration:.1f} s), bad states {len(bad)}, final run "
              f"{'ok' if final is None else final}", flush=True)
        for line in bad:
            print(f"  {line}")


if __name__ == "__main__":
    main()
