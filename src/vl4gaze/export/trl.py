"""TRL SFTTrainer (vision) data: conversational ``messages`` plus an ``images`` list.

One JSON Lines file per split, ``<split>.jsonl``; each row is ``{"messages": [user turn
with an image part and a text part, assistant turn], "images": [absolute path], "id",
"task"}``. ``load_trl(out, split)`` loads a file with ``datasets`` and turns the image
paths into PIL images (``Sequence(Image())``), the form SFTTrainer collates.

The prompt here is the item's plain question (no system prompt). Training through
``vl4gaze train`` uses ``vl4gaze.prompting.build_messages`` instead, so that a model is
trained on exactly the prompts it is evaluated with; this export is for outside tools.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vl4gaze.export._common import ensure_images, splits
from vl4gaze.schema import QAItem


def record(item: QAItem, bench: Path) -> dict[str, Any]:
    return {"id": item.id, "task": str(item.task),
            "messages": [
                {"role": "user", "content": [{"type": "image", "text": None},
                                             {"type": "text", "text": item.question}]},
                {"role": "assistant", "content": [{"type": "text", "text": item.answer}]}],
            "images": [str((bench / item.image).resolve())]}


def export(bench: Path, out: Path) -> Path:
    ensure_images(bench)
    out.mkdir(parents=True, exist_ok=True)
    for split, items in splits(bench).items():
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(record(item, bench), ensure_ascii=False) + "\n")
    return out


def load_trl(out: Path, split: str = "train"):
    """A split of a TRL export as a ``datasets.Dataset`` with decoded images."""
    from datasets import Image, Sequence, load_dataset

    ds = load_dataset("json", data_files={split: str(Path(out) / f"{split}.jsonl")},
                      split=split)
    return ds.cast_column("images", Sequence(Image()))
