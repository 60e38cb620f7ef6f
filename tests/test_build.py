"""Tests of vl4gaze.build: items from samples, splits, balance, Parquet, card, manifest."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from vl4gaze.schema import Box, GazeSample, InOut, Person, Point, Target


def _image(path: Path, size: tuple[int, int] = (160, 120)) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 140, 200)).save(path)
    return str(path)


def scene_samples(root: Path) -> list[GazeSample]:
    """A handful of images covering every rule: several people, out of frame, eyes closed,
    object targets and descriptions, three source splits."""
    a, b = _image(root / "a.jpg"), _image(root / "b.png", (200, 100))
    c, d, e = _image(root / "c.jpg"), _image(root / "d.jpg"), _image(root / "e.jpg")
    p0 = Person(Box(0.1, 0.1, 0.2, 0.25), Point(0.15, 0.18), "a man in a red shirt", 0)
    p1 = Person(Box(0.7, 0.1, 0.8, 0.25), Point(0.75, 0.18), "a woman with a hat", 1)
    mug = Target(label="mug", description="a white mug", box=Box(0.4, 0.6, 0.5, 0.7),
                 kind="object", rule="source")
    common = {"width": 160, "height": 120, "source": "toy"}
    return [
        GazeSample(image=a, source_id="a#0", split="train", person=p0,
                   gaze=(Point(0.45, 0.65),), inout=InOut.IN, target=mug, others=(p1,),
                   **common),
        GazeSample(image=a, source_id="a#1", split="train", person=p1, inout=InOut.OUT,
                   others=(p0,), **common),
        GazeSample(image=b, width=200, height=100, source="toy", source_id="b#0",
                   split="train", person=Person(Box(0.5, 0.1, 0.6, 0.3), Point(0.55, 0.2)),
                   gaze=(Point(0.2, 0.2),), inout=InOut.IN),
        GazeSample(image=c, source_id="c#0", split="test",
                   person=Person(Box(0.4, 0.1, 0.5, 0.2), Point(0.45, 0.15)),
                   gaze=(Point(0.9, 0.9),), inout=InOut.IN, flags=("eyes_closed",), **common),
        GazeSample(image=d, source_id="d#0", split="test",
                   person=Person(Box(0.3, 0.3, 0.4, 0.45), Point(0.35, 0.4), "a child"),
                   gaze=(Point(0.8, 0.1), Point(0.82, 0.12), Point(0.78, 0.14)), inout=InOut.IN,
                   target=Target(label="kite"), **common),
        GazeSample(image=e, source_id="e#0", split="val",
                   person=Person(Box(0.6, 0.5, 0.7, 0.65), Point(0.65, 0.6)),
                   gaze=(Point(0.1, 0.9),), inout=InOut.IN, **common),
    ]
