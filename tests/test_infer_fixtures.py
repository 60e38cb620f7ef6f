"""Hand-made benchmark items for the models / prompting / inference tests (no tests here).

Items follow docs/CONTRACTS.md: image paths relative to BENCH, targets per task, the
canonical answer forms. The images are small PNGs with a red head box drawn, as a build
with ``person_ref=box`` writes them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

from vl4gaze.geometry import format_point, gaze_angle, gaze_direction
from vl4gaze.schema import Box, Point, QAItem, content_id

QUESTIONS = {
    "point": ["Where exactly is the person in the red box looking?",
              "Give the point the person in the red box looks at."],
    "direction": ["From the viewer's point of view, in which direction is the person in the "
                  "red box looking?", "Which way does the person in the red box look?"],
    "object": ["What is the person in the red box looking at?",
               "Name the thing the person in the red box looks at."],
    "ambiguity": ["What is the person looking at?", "Where is the person looking?"],
}
OBJECTS = ["a red mug", "a blue ball", "a yellow book", "a green plant"]


def make_item(bench: Path, task: str, index: int, split: str, rng: random.Random,
              point_format: str = "norm") -> QAItem:
    width, height = 64, 48
    image_rel = f"images/{split}-{task}-{index}.png"
    hx, hy = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.5)
    head = Box(max(0.0, hx - 0.05), max(0.0, hy - 0.05), min(1.0, hx + 0.05), min(1.0, hy + 0.05))
    gx, gy = rng.uniform(0.0, 1.0), rng.uniform(0.3, 1.0)
    eye = head.center
    img = Image.new("RGB", (width, height), (rng.randrange(256), 90, 140))
    ImageDraw.Draw(img).rectangle(
        [head.x1 * width, head.y1 * height, head.x2 * width, head.y2 * height], outline="red")
    (bench / image_rel).parent.mkdir(parents=True, exist_ok=True)
    img.save(bench / image_rel)
    template = rng.randrange(2)
    question = QUESTIONS[task][template]
    person_ref = "box"
    if task == "point":
        target = {"points": [[gx, gy]], "mean": [gx, gy], "eye": [eye.x, eye.y],
                  "format": point_format}
        answer = format_point(gx, gy, point_format, width, height)
    elif task == "direction":
        gaze = Point(gx, gy)
        target = {"direction": gaze_direction(eye, gaze, width, height),
                  "angle_deg": gaze_angle(eye, gaze, width, height),
                  "eye": [eye.x, eye.y], "gaze": [gx, gy]}
        answer = target["direction"]
    elif task == "object":
        desc = rng.choice(OBJECTS)
        target = {"label": desc.split()[-1], "description": desc, "box": None, "synonyms": []}
        answer = desc
    else:
        ambiguous = index % 2 == 0
        target = {"ambiguous": ambiguous,
                  "reason": "unspecified_person" if ambiguous else None}
        answer = ("It cannot be answered: it is not clear which person is meant."
                  if ambiguous else rng.choice(OBJECTS))
        person_ref = "none" if ambiguous else "box"
    return QAItem(
        id=content_id(split, task, index), task=task, image=image_rel, width=width,
        height=height, source="handmade", split=split, question=question, answer=answer,
        target=target, person_ref=person_ref, template_id=f"{task}-{template}",
        sample_id=f"{split}-{index}", person_head=None if person_ref == "none" else head,
    )


def make_bench(bench: Path, *, n_test: int = 4, n_train: int = 6, seed: int = 0,
               point_format: str = "norm") -> tuple[list[QAItem], list[QAItem]]:
    """Write images + manifest.json under ``bench``; return (test items, train items)."""
    bench.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    tasks = ["point", "direction", "object", "ambiguity"]
    test = [make_item(bench, t, i, "test", rng, point_format) for t in tasks
            for i in range(n_test)]
    train = [make_item(bench, t, i, "train", rng, point_format) for t in tasks
             for i in range(n_train)]
    (bench / "manifest.json").write_text(json.dumps(
        {"point_format": point_format, "person_ref": "box", "seed": seed}))
    return test, train


def write_items(path: Path, items: list[QAItem]) -> None:
    path.write_text("".join(it.to_json() + "\n" for it in items))


def read_items(path: Path) -> list[QAItem]:
    return [QAItem.from_json(line) for line in path.read_text().splitlines() if line]
