"""COCO-style instance annotations as object boxes for samples that have none.

Many GazeFollow images come from COCO (and others can be annotated in the same format), so a
standard ``instances_*.json`` (``images`` with ``id``, ``file_name``, ``width``, ``height``;
``annotations`` with ``image_id``, ``category_id``, ``bbox`` = [x, y, w, h] in pixels;
``categories`` with ``id``, ``name``) gives the box rule something to choose from. Images
are matched to samples by file name: the sample's path relative to its source root (taken
from ``source_id``), its base name, or the image's original name (GazeFollow's
``original_name`` column, see ``gazefollow_original_names``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from vl4gaze.geometry import box_from_pixels
from vl4gaze.schema import GazeSample, SceneObject
from vl4gaze.sources.problems import ProblemLog, SourceProblem


def read_coco_instances(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    problems: list[SourceProblem] | None = None,
) -> dict[str, tuple[SceneObject, ...]]:
    """Image file name -> its objects (normalized boxes, category names), from a COCO file.

    Crowd regions (``iscrowd``) are skipped: they cover many objects. Malformed entries are
    reported as problems naming the entry and field (raised in strict mode).
    """
    log = ProblemLog(strict, problems)
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        log.add(name, error.lineno, None, f"not valid JSON: {error.msg}")
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        log.add(name, None, "images", "a COCO instances file needs an 'images' list")
        return {}
    categories = {c.get("id"): c.get("name") for c in data.get("categories", [])
                  if isinstance(c, dict)}
    images: dict[object, dict] = {}
    for i, image in enumerate(data["images"]):
        try:
            images[image["id"]] = {
                "file_name": str(image["file_name"]),
                "width": float(image["width"]), "height": float(image["height"]),
            }
        except (KeyError, TypeError, ValueError) as error:
            log.add(name, None, f"images[{i}]", f"needs id, file_name, width, height ({error})")
    objects: dict[object, list[SceneObject]] = {key: [] for key in images}
    for i, ann in enumerate(data.get("annotations", [])):
        where = f"annotations[{i}]"
        if not isinstance(ann, dict):
            log.add(name, None, where, "not an object")
            continue
        if ann.get("iscrowd"):
            continue
        image = images.get(ann.get("image_id"))
        if image is None:
            log.add(name, None, f"{where}.image_id", f"unknown image id {ann.get('image_id')!r}")
            continue
        label = categories.get(ann.get("category_id"))
        if not label:
            log.add(name, None, f"{where}.category_id",
                    f"unknown category id {ann.get('category_id')!r}")
            continue
        bbox = ann.get("bbox")
        try:
            x, y, w, h = (float(v) for v in bbox)  # type: ignore[union-attr]
            if w < 0 or h < 0:
                raise ValueError("negative width or height")
            box = box_from_pixels(x, y, x + w, y + h, image["width"], image["height"])
        except (TypeError, ValueError) as error:
            log.add(name, None, f"{where}.bbox", f"bbox={bbox!r} is not [x, y, w, h] ({error})")
            continue
        objects[ann["image_id"]].append(SceneObject(label=str(label), box=box))
    return {
        images[key]["file_name"]: tuple(found) for key, found in objects.items()
    }


def gazefollow_original_names(root: str | os.PathLike[str]) -> dict[str, str]:
    """GazeFollow image path (as in the annotation files) -> its original file name."""
    from vl4gaze.sources.gazefollow import TEST_FILE, TRAIN_FILE

    names: dict[str, str] = {}
    root = Path(root)
    if root.is_file():  # one annotation file was named: the release root is its folder
        root = root.parent
    for file in (TRAIN_FILE, TEST_FILE):
        path = root / file
        if not path.is_file():
            continue
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if len(row) >= 16 and row[0].strip():
                    names[row[0].strip()] = row[-1].strip()
    return names


def _keys(sample: GazeSample, original: Mapping[str, str]) -> list[str]:
    rel = sample.source_id.rsplit("#", 1)[0]
    keys = [rel, os.path.basename(sample.image), sample.image]
    if rel in original:
        keys.append(original[rel])
    return keys


def attach_objects(
    samples: Iterable[GazeSample],
    index: Mapping[str, tuple[SceneObject, ...]],
    *,
    original_names: Mapping[str, str] | None = None,
) -> Iterator[GazeSample]:
    """Give each sample without objects the COCO objects of its image, when one matches."""
    by_name = dict(index)
    for file_name, objs in index.items():
        by_name.setdefault(os.path.basename(file_name), objs)
    original = original_names or {}
    for sample in samples:
        if not sample.objects:
            for key in _keys(sample, original):
                found = by_name.get(key) or by_name.get(os.path.basename(key))
                if found:
                    sample = replace(sample, objects=found)
                    break
        yield sample
