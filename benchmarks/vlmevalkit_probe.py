"""Run inside VLMEvalKit's environment by ``check_harnesses.py``: the VL4Gaze export as
a VLMEvalKit user loads it, then ``evaluate`` on prediction files written by VLMEvalKit's
own ``dump`` in every format. Prints one JSON report.

    python vlmevalkit_probe.py EXPORT_DIR BENCH ANSWERS.json WORK_DIR

``ANSWERS.json``: ``{"oracle": {id: answer}, "model": {id: answer}}``. ``$LMUData`` must
hold ``VL4Gaze.tsv`` (VLMEvalKit's data folder); EXPORT_DIR holds the class file.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from importlib import metadata
from pathlib import Path

FORMATS = ("xlsx", "tsv", "json", "jsonl", "csv", "pkl")


def main() -> None:
    export, bench, answers_file, work = (Path(a) for a in sys.argv[1:5])
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(export))
    import vl4gaze_vlmeval  # the export's class file registers VL4Gaze
    from PIL import Image
    from vlmeval.dataset import build_dataset
    from vlmeval.smp import dump, load

    from vl4gaze.build import load_benchmark
    from vl4gaze.prompting import build_messages

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = build_dataset("VL4Gaze")
    report: dict = {"ms-vlmeval": metadata.version("ms-vlmeval"),
                    "tsv": str(vl4gaze_vlmeval.tsv_path()),
                    "class": type(dataset).__name__ if dataset is not None else None}
    if dataset is None:
        print(json.dumps(report))
        return
    # run.py's --config route: {"data": {"VL4Gaze": {"class": "VL4Gaze", ...}}}.
    from vlmeval.run import build_dataset_from_config

    configured = build_dataset_from_config(
        {"VL4Gaze": {"class": "VL4Gaze", "dataset": "VL4Gaze"}}, "VL4Gaze")
    report["config_class"] = type(configured).__name__
    items = {i.id: i for i in load_benchmark(bench, "test")}
    data = dataset.data
    report["rows"], report["items"] = len(data), len(items)
    equal = 0
    for n in range(len(data)):
        line = data.iloc[n]
        prompt = dataset.build_prompt(line)
        item = items[str(line["id"])]
        system, user = build_messages(item, bench)
        texts = [p["text"] for p in user["content"] if p["type"] == "text"]
        pictures = [p["image"] for p in user["content"] if p["type"] == "image"]
        ok = ([p["type"] for p in prompt] == ["text", "image", "text"]
              and prompt[0]["value"] == "".join(p["text"] for p in system["content"])
              and [prompt[2]["value"]] == texts and len(pictures) == 1)
        if ok:
            with Image.open(prompt[1]["value"]) as dumped:
                ok = dumped.convert("RGB").tobytes() == pictures[0].convert("RGB").tobytes()
        equal += ok
    report["prompts_equal"] = equal
    answers = json.loads(answers_file.read_text())
    report["scores"] = {}
    for name, table in answers.items():
        # What VLMEvalKit's inference dumps: the data with a prediction column, no image.
        pred = data.copy()
        pred["prediction"] = [str(table[str(i)]) for i in pred["id"]]
        pred = pred.drop(columns=["image"])
        for ext in FORMATS:
            path = work / f"{name}_VL4Gaze.{ext}"
            # VLMEvalKit's jsonl writer iterates its argument: a list of records.
            dump(pred.to_dict("records") if ext == "jsonl" else pred, str(path))
            assert load(str(path)) is not None
            dataset.evaluate(str(path))
            report["scores"][f"{name}.{ext}"] = json.loads(
                (work / f"{name}_VL4Gaze_vl4gaze_scores.json").read_text())
    print("REPORT " + json.dumps(report))


if __name__ == "__main__":
    os.environ.setdefault("PRED_FORMAT", "xlsx")
    main()
