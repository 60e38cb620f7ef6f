"""A VLMEvalKit dataset: a TSV with base64 images, a dataset class and a launcher.

``OUT/VL4Gaze.tsv`` has VLMEvalKit's columns ``index``, ``image`` (base64 of the item's
image; a later item of the same image holds the first one's index, which VLMEvalKit's
``ImageBaseDataset`` resolves), ``question``, ``answer``, ``category`` (the task),
``image_path`` (the benchmark-relative path, also where VLMEvalKit dumps the picture) and
vl4gaze's own (``id``, ``task``, ``target`` as JSON, ``width``, ``height``,
``point_format``, ...) so that ``evaluate`` can score with vl4gaze.
``OUT/vl4gaze_vlmeval.py`` holds ``VL4Gaze`` (a subclass of
``vlmeval.dataset.image_base.ImageBaseDataset``; import guarded) and registers it with
``vlmeval.dataset`` when imported; ``OUT/run_vlmeval.py`` runs VLMEvalKit's ``run.py``
with it registered. The TSV is found in ``$LMUData`` first, else next to the class file,
so the folder can be moved. The evaluation split (test) is exported.
"""

from __future__ import annotations

import base64
import csv
import json
from importlib import resources
from pathlib import Path

from vl4gaze.build import load_benchmark
from vl4gaze.export._common import ensure_images, eval_split
from vl4gaze.prompting import item_point_format

TSV_NAME = "VL4Gaze.tsv"
CLASS_FILE = "vl4gaze_vlmeval.py"
LAUNCHER = "run_vlmeval.py"
COLUMNS = ("index", "image", "question", "answer", "category", "image_path", "id", "task",
           "target", "width", "height", "source", "split", "person_ref", "template_id",
           "sample_id", "point_format")


def export(bench: Path, out: Path) -> Path:
    ensure_images(bench)
    out.mkdir(parents=True, exist_ok=True)
    items = load_benchmark(bench, eval_split(bench))
    first: dict[str, int] = {}
    tsv = out / TSV_NAME
    with open(tsv, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL,
                            lineterminator="\n")
        writer.writerow(COLUMNS)
        for index, item in enumerate(items):
            if item.image in first:
                image = str(first[item.image])
            else:
                first[item.image] = index
                image = base64.b64encode((bench / item.image).read_bytes()).decode()
            writer.writerow((index, image, _flat(item.question), _flat(item.answer),
                             str(item.task), item.image, item.id, str(item.task),
                             json.dumps(item.target, sort_keys=True), item.width, item.height,
                             item.source, item.split, str(item.person_ref), item.template_id,
                             item.sample_id, item_point_format(item, bench)))
    templates = resources.files("vl4gaze.export").joinpath("templates")
    (out / CLASS_FILE).write_text(templates.joinpath("vlmevalkit_dataset.py.txt").read_text())
    (out / LAUNCHER).write_text(templates.joinpath("run_vlmeval.py.txt").read_text())
    return tsv


def _flat(text: str) -> str:
    """TSV cells hold no tabs or newlines."""
    return " ".join(text.split())
