"""ShareGPT style JSON, as LLaMA-Factory and ms-swift read it.

One file per split, ``vl4gaze_<split>.json``: a list of ``{"messages": [{"role":
"system", ...}, {"role": "user", "content": "<image>question"}, {"role": "assistant",
"content": answer}], "images": ["images/..."], "id", "task"}``: the system prompt and
answer ``vl4gaze train`` trains on (``vl4gaze.train.data.to_example``, i.e.
``vl4gaze.prompting.build_messages``), one ``<image>`` tag per image. The images are placed
inside OUT and their paths are relative to it (LLaMA-Factory resolves them against
``--dataset_dir``, ms-swift against the working folder), and ``dataset_info.json``
registers every split in LLaMA-Factory's documented shape (``formatting: sharegpt``,
``columns``, ``tags`` with the system tag).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vl4gaze.export._common import ensure_images, place_images, splits
from vl4gaze.schema import QAItem
from vl4gaze.train.data import to_example

IMAGE_TAG = "<image>"
TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
        "assistant_tag": "assistant", "system_tag": "system"}


def record(item: QAItem, bench: Path) -> dict[str, Any]:
    """One conversation: training's messages with image parts as ``<image>`` tags."""
    example = to_example(item, bench)
    messages = []
    for message in example["messages"]:
        text = "".join(IMAGE_TAG if p["type"] == "image" else p["text"]
                       for p in message["content"])
        messages.append({"role": message["role"], "content": text})
    return {"id": item.id, "task": str(item.task), "messages": messages,
            "images": [item.image]}


def export(bench: Path, out: Path) -> Path:
    ensure_images(bench)
    out.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {}
    for split, items in splits(bench).items():
        place_images(bench, out, items)
        name = f"vl4gaze_{split}"
        with open(out / f"{name}.json", "w", encoding="utf-8") as handle:
            json.dump([record(i, bench) for i in items], handle, ensure_ascii=False, indent=1)
        info[name] = {"file_name": f"{name}.json", "formatting": "sharegpt",
                      "columns": {"messages": "messages", "images": "images"},
                      "tags": dict(TAGS)}
    (out / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return out
