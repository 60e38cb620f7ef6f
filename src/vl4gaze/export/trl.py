"""TRL SFTTrainer (vision) data: conversational ``messages`` plus an ``images`` list.

One JSON Lines file per split, ``<split>.jsonl``; each row is what ``vl4gaze train``
trains on (``vl4gaze.train.data.to_example``: the system prompt and question of
``vl4gaze.prompting.build_messages``, an image part, the canonical answer) with
``images`` relative to OUT, where the images are placed. ``load_trl(out, split)`` loads
a file with ``datasets`` and turns the paths into PIL images (``Sequence(Image())``),
the form SFTTrainer collates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vl4gaze.export._common import ensure_images, place_images, splits
from vl4gaze.schema import QAItem
from vl4gaze.train.data import to_example


def record(item: QAItem, bench: Path) -> dict[str, Any]:
    example = to_example(item, bench)
    return {"id": item.id, "task": str(item.task), "messages": example["messages"],
            "images": [item.image]}


def export(bench: Path, out: Path) -> Path:
    ensure_images(bench)
    out.mkdir(parents=True, exist_ok=True)
    for split, items in splits(bench).items():
        place_images(bench, out, items)
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(record(item, bench), ensure_ascii=False) + "\n")
    return out


def load_trl(out: Path, split: str = "train"):
    """A split of a TRL export as a ``datasets.Dataset`` with decoded images (paths are
    taken relative to OUT, wherever it now is)."""
    from datasets import Image, Sequence, load_dataset

    out = Path(out).resolve()
    ds = load_dataset("json", data_files={split: str(out / f"{split}.jsonl")}, split=split)
    ds = ds.map(lambda row: {"images": [str(out / p) for p in row["images"]]})
    return ds.cast_column("images", Sequence(Image()))
