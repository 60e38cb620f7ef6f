"""A VLMEvalKit dataset: a TSV with base64 images and a dataset class file.

``OUT/VL4Gaze.tsv`` has VLMEvalKit's columns ``index``, ``image`` (base64 of the item's
image file, marker drawn), ``question``, ``answer``, ``category`` (the task) and
vl4gaze's own (``id``, ``task``, ``target`` as JSON, ``width``, ``height``, ...) so that
``evaluate`` can score with vl4gaze. ``OUT/vl4gaze_vlmeval.py`` holds ``VL4Gaze``, a
subclass of ``vlmeval.dataset.image_base.ImageBaseDataset`` (import guarded).
The test split is exported (the evaluation split).
"""

from __future__ import annotations

import base64
import csv
import json
from importlib import resources
from pathlib import Path

from vl4gaze.export._common import ensure_images, splits

TSV_NAME = "VL4Gaze.tsv"
CLASS_FILE = "vl4gaze_vlmeval.py"
COLUMNS = ("index", "image", "question", "answer", "category", "id", "task", "target",
           "width", "height", "source", "split", "person_ref", "template_id", "sample_id",
           "image_path")


def export(bench: Path, out: Path) -> Path:
    ensure_images(bench)
    out.mkdir(parents=True, exist_ok=True)
    by_split = splits(bench)
    items = by_split.get("test") or next(iter(by_split.values()), [])
    cache: dict[str, str] = {}
    tsv = out / TSV_NAME
    with open(tsv, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL,
                            lineterminator="\n")
        writer.writerow(COLUMNS)
        for index, item in enumerate(items):
            if item.image not in cache:
                cache.clear()  # an image's items are not adjacent; keep memory flat
                cache[item.image] = base64.b64encode((bench / item.image).read_bytes()).decode()
            writer.writerow((index, cache[item.image], _flat(item.question), _flat(item.answer),
                             str(item.task), item.id, str(item.task),
                             json.dumps(item.target, sort_keys=True), item.width, item.height,
                             item.source, item.split, str(item.person_ref), item.template_id,
                             item.sample_id, item.image))
    template = resources.files("vl4gaze.export").joinpath("templates/vlmevalkit_dataset.py.txt")
    (out / CLASS_FILE).write_text(
        template.read_text().replace("__TSV__", json.dumps(str(tsv.resolve()))))
    return tsv


def _flat(text: str) -> str:
    """TSV cells hold no tabs or newlines."""
    return " ".join(text.split())
