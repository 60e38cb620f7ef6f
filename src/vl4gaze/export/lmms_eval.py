"""An lmms-eval task folder: one task per VL4Gaze task and a ``vl4gaze`` group.

``OUT/vl4gaze/`` holds ``vl4gaze_<task>.yaml`` (local Parquet through ``dataset_path:
parquet`` + ``dataset_kwargs.data_files``, ``generate_until``, metric_list with
aggregation and higher_is_better), ``vl4gaze.yaml`` (the group), ``utils.py`` (visuals,
prompt text, ``process_results`` calling ``vl4gaze.score.score_one``) and
``data/<task>.parquet`` (the test split, one file per task). Run with
``lmms-eval --include_path OUT/vl4gaze --tasks vl4gaze``. Paths inside are absolute: move
the benchmark and export again.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

import vl4gaze
from vl4gaze.build import TASKS
from vl4gaze.export._common import ensure_images

#: Metric names (as vl4gaze.score names them) and whether higher is better.
METRICS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "point": (("avg_l2", False, "mean_known"), ("min_l2", False, "mean_known"),
              ("acc@0.1", True, "mean_known"), ("acc@0.2", True, "mean_known"),
              ("angular_error", False, "mean_known"), ("parse_rate", True, "mean_known")),
    "direction": (("accuracy", True, "mean_known"), ("adjacent_accuracy", True, "mean_known"),
                  ("angular_error", False, "mean_known"), ("parse_rate", True, "mean_known")),
    "object": (("label_match", True, "mean_known"), ("embedding_similarity", True, "mean_known"),
               ("rouge_l", True, "mean_known"), ("parse_rate", True, "mean_known")),
    "ambiguity": (("accuracy", True, "mean_known"), ("precision", True, "precision"),
                  ("recall", True, "recall"), ("f1", True, "f1")),
}
MAX_NEW_TOKENS = {"point": 32, "direction": 16, "object": 32, "ambiguity": 48}
GROUP = "vl4gaze"


def task_yaml(task: str, data_file: Path, point_format: str) -> str:
    """One task's YAML (written as text: lmms-eval's ``!function`` tags are not plain YAML)."""
    lines = [
        f"task: {GROUP}_{task}",
        "dataset_path: parquet",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: {json.dumps(str(data_file))}",
        "test_split: test",
        "output_type: generate_until",
        "doc_to_visual: !function utils.doc_to_visual",
        "doc_to_text: !function utils.doc_to_text",
        "doc_to_target: answer",
        "generation_kwargs:",
        f"  max_new_tokens: {MAX_NEW_TOKENS[task]}",
        "  temperature: 0",
        "  do_sample: false",
        "process_results: !function utils.process_results",
        "metric_list:",
    ]
    for name, higher, aggregation in METRICS[task]:
        lines += [f"  - metric: {json.dumps(name)}",
                  f"    aggregation: !function utils.{aggregation}",
                  f"    higher_is_better: {'true' if higher else 'false'}"]
    lines += ["lmms_eval_specific_kwargs:", "  default:", '    pre_prompt: ""',
              '    post_prompt: ""', "metadata:", f"  version: {json.dumps(vl4gaze.__version__)}",
              f"  point_format: {point_format}"]
    return "\n".join(lines) + "\n"


def export(bench: Path, out: Path) -> Path:
    ensure_images(bench)
    folder = out / GROUP
    (folder / "data").mkdir(parents=True, exist_ok=True)
    data = bench / "data"
    split = "test" if (data / "test.parquet").exists() else sorted(data.glob("*.parquet"))[0].stem
    table = pq.read_table(data / f"{split}.parquet")
    manifest = json.loads((bench / "manifest.json").read_text())
    names = []
    for task in TASKS:
        part = table.filter(pc.equal(table["task"], task))
        if part.num_rows == 0:
            continue
        data_file = (folder / "data" / f"{task}.parquet").resolve()
        pq.write_table(part, data_file, compression="zstd")
        (folder / f"{GROUP}_{task}.yaml").write_text(
            task_yaml(task, data_file, manifest.get("point_format", "norm")))
        names.append(f"{GROUP}_{task}")
    group = [f"group: {GROUP}", "task:"] + [f"  - {n}" for n in names]
    (folder / f"{GROUP}.yaml").write_text("\n".join(group) + "\n")
    template = resources.files("vl4gaze.export").joinpath("templates/lmms_eval_utils.py.txt")
    (folder / "utils.py").write_text(
        template.read_text().replace("__BENCH__", json.dumps(str(bench.resolve()))))
    return folder
